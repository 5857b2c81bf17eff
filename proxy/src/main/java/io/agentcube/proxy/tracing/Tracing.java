package io.agentcube.proxy.tracing;

import io.agentcube.error.AgentCubeException;
import io.agentcube.proxy.config.ConfigException;
import io.agentcube.proxy.config.ProxyConfig;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.session.SessionIds;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.vertx.core.Future;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Optional OpenTelemetry tracing ({@code tracing.enabled: true}; off by default, when nothing of
 * this runs and no span is made).
 *
 * <p>The SDK is configured the standard way, from {@code OTEL_*} environment variables and
 * {@code otel.*} system properties ({@code OTEL_EXPORTER_OTLP_ENDPOINT},
 * {@code OTEL_TRACES_SAMPLER}, ...), with these defaults of ours: service name
 * {@code agentcube-proxy}, OTLP over HTTP/protobuf (the JDK's HTTP client sends it; there is no
 * gRPC sender in the build), traces only (metrics are Prometheus', logs are standard output).
 *
 * <p>Spans: a server span per request (continuing the client's {@code traceparent}; Vert.x's
 * OpenTelemetry tracer makes it for what Vert.x serves, {@link #serverSpan} for what the relay
 * serves) and a client span per forward to a sandbox ({@link #forward}), whose context the
 * sandbox gets as its {@code traceparent}; {@link #sessionStart} adds a span for a new session's
 * start (warm claim or cold start), child of the request's span. Span attributes carry no full
 * session id (a credential): {@link SessionIds#redact} only.
 */
public final class Tracing implements AutoCloseable {

  private static final AttributeKey<String> RUNTIME = AttributeKey.stringKey("agentcube.runtime");
  private static final AttributeKey<String> VERSION = AttributeKey.stringKey("agentcube.version");
  private static final AttributeKey<String> SESSION = AttributeKey.stringKey("agentcube.session");
  private static final AttributeKey<String> ERROR_CODE = AttributeKey.stringKey("agentcube.error.code");

  private final OpenTelemetrySdk sdk;
  private final Tracer tracer;

  private Tracing(OpenTelemetrySdk sdk) {
    this.sdk = sdk;
    this.tracer = sdk.getTracer("io.agentcube.proxy");
  }

  /**
   * The tracing {@code config} asks for, or {@code null} when {@code tracing.enabled} is false.
   *
   * @throws ConfigException when the {@code OTEL_*} settings are not valid
   */
  public static Tracing create(ProxyConfig config) {
    if (!config.bool("tracing.enabled")) {
      return null;
    }
    try {
      OpenTelemetrySdk sdk = AutoConfiguredOpenTelemetrySdk.builder()
          .addPropertiesSupplier(() -> Map.of(
              "otel.service.name", "agentcube-proxy",
              "otel.exporter.otlp.protocol", "http/protobuf",
              "otel.metrics.exporter", "none",
              "otel.logs.exporter", "none"))
          .disableShutdownHook() // closed with the proxy, after its last span
          .build()
          .getOpenTelemetrySdk();
      return new Tracing(sdk);
    } catch (RuntimeException e) {
      throw new ConfigException("tracing.enabled: OpenTelemetry cannot be configured from the OTEL_*"
          + " settings: " + e.getMessage());
    }
  }

  /** What Vert.x's tracer reports to. */
  public OpenTelemetry openTelemetry() {
    return sdk;
  }

  /**
   * Wraps a session start in a span "session start", child of the current span (the request's,
   * on its event loop), ended when {@code start} completes.
   *
   * @param start completes with the new session's id (or fails with why it did not start)
   */
  public <T> Future<T> sessionStart(RuntimeDefinition definition, Future<T> start,
      java.util.function.Function<T, String> sessionId) {
    Span span = tracer.spanBuilder("session start")
        .setAttribute(RUNTIME, definition.label())
        .setAttribute(VERSION, definition.version())
        .startSpan();
    return start.andThen(ar -> {
      if (ar.succeeded()) {
        span.setAttribute(SESSION, SessionIds.redact(sessionId.apply(ar.result())));
      } else {
        span.setStatus(StatusCode.ERROR, String.valueOf(ar.cause().getMessage()));
        if (ar.cause() instanceof AgentCubeException e) {
          span.setAttribute(ERROR_CODE, e.code().name());
        }
      }
      span.end();
    });
  }

  /** The spans of one invocation the relay serves: its server span, then its forward's client span. */
  public static final class Relayed {
    private final Span server;
    private final Context context;
    private Span client;

    private Relayed(Span server, Context context) {
      this.server = server;
      this.context = context;
    }
  }

  private static final TextMapGetter<Function<String, String>> GETTER = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(Function<String, String> carrier) {
      return List.of();
    }

    @Override
    public String get(Function<String, String> carrier, String key) {
      return carrier == null ? null : carrier.apply(key);
    }
  };

  private static final TextMapSetter<BiConsumer<String, String>> SETTER = (carrier, key, value) -> carrier.accept(key, value);

  /**
   * Starts the server span of an invocation the relay serves, continuing the trace context that
   * {@code header} (a request field's value by lower-case name, or null) carries.
   */
  public Relayed serverSpan(String method, String path, Function<String, String> header) {
    Context parent = sdk.getPropagators().getTextMapPropagator().extract(Context.root(), header, GETTER);
    Span span = tracer.spanBuilder(method).setSpanKind(SpanKind.SERVER).setParent(parent)
        .setAttribute("http.request.method", method).setAttribute("url.path", path).startSpan();
    return new Relayed(span, parent.with(span));
  }

  /** Makes the invocation's server span current (its session start's parent) until closed. */
  public Scope inSpan(Relayed r) {
    return r.context.makeCurrent();
  }

  /** Starts the forward's client span and gives its context to {@code inject} as header fields. */
  public void forward(Relayed r, String method, BiConsumer<String, String> inject) {
    r.client = tracer.spanBuilder(method).setSpanKind(SpanKind.CLIENT).setParent(r.context).startSpan();
    sdk.getPropagators().getTextMapPropagator().inject(r.context.with(r.client), inject, SETTER);
  }

  /** Ends the invocation's spans with its status. */
  public void end(Relayed r, int status) {
    if (r.client != null) {
      r.client.setAttribute("http.response.status_code", status);
      r.client.end();
    }
    r.server.setAttribute("http.response.status_code", status);
    if (status >= 500) {
      r.server.setStatus(StatusCode.ERROR);
    }
    r.server.end();
  }

  /** The header fields the propagators read (lower case): the relay drops the client's. */
  public List<String> fields() {
    return List.copyOf(sdk.getPropagators().getTextMapPropagator().fields());
  }

  /** Exports what is left and stops the SDK (at most 10 s). */
  @Override
  public void close() {
    sdk.shutdown().join(10, TimeUnit.SECONDS);
  }
}
