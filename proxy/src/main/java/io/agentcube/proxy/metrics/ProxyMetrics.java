package io.agentcube.proxy.metrics;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeKind;
import io.agentcube.runtime.RuntimeRef;
import io.agentcube.sandbox.LaunchType;
import io.agentcube.sandbox.SandboxBackend;
import io.agentcube.sandbox.SandboxPools;
import io.agentcube.sandbox.SandboxPools.PoolView;
import io.agentcube.session.EndReason;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmInfoMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

/**
 * The proxy's Prometheus metrics (design.md §10; the catalogue is docs/metrics.md), all prefixed
 * {@code agentcube_} and tagged only with low-cardinality values: route, status code, launch type,
 * end reason, error code, runtime ({@code namespace/name}), runtime version, backend operation.
 * Never a session id, sandbox id or pod name. The JVM and process binders ({@code jvm_*},
 * {@code process_*}, {@code system_*}) are registered on the same registry.
 *
 * <p>Meters whose label values come from a closed set are registered up front (at zero), so a
 * dashboard or alert finds the series before the first event: request meters are created on first
 * use per (route, status) and cached in an array, so recording a request is two array reads and
 * two lock-free increments; per-runtime meters are registered when a runtime's pool opens.
 *
 * <p>Thread-safe.
 */
public final class ProxyMetrics implements SandboxPools.Listener, AutoCloseable {

  /** Session and sandbox start buckets: 1 ms to 240 s, roughly ×2.5 apart. */
  static final Duration[] START_BUCKETS = millis(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500,
      5000, 10_000, 30_000, 60_000, 120_000, 240_000);
  /** Execution buckets: 5 ms to 300 s. */
  static final Duration[] EXECUTION_BUCKETS = millis(5, 10, 25, 50, 100, 250, 500, 1000, 2500,
      5000, 10_000, 30_000, 60_000, 120_000, 300_000);
  /** Backend call buckets: 1 ms to 30 s. */
  static final Duration[] CALL_BUCKETS = millis(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500,
      5000, 10_000, 30_000);

  /** The {@code reason} values of {@code agentcube_upstream_errors_total}. */
  public static final List<String> UPSTREAM_REASONS = List.of("unreachable", "timeout", "sandbox_lost");
  /** Session start failures registered up front; other codes appear when they happen. */
  private static final List<ErrorCode> START_FAILURES = List.of(ErrorCode.POOL_EXHAUSTED,
      ErrorCode.COLD_START_TIMEOUT, ErrorCode.SESSION_LIMIT, ErrorCode.NOT_READY,
      ErrorCode.SANDBOX_UNREACHABLE);

  private final MeterRegistry registry;
  private final JvmGcMetrics gc = new JvmGcMetrics();
  private final EnumMap<Route, AtomicReferenceArray<Counter>> requests = new EnumMap<>(Route.class);
  private final EnumMap<Route, Timer> durations = new EnumMap<>(Route.class);
  private final AtomicInteger inFlight = new AtomicInteger();
  private final EnumMap<LaunchType, Counter> created = new EnumMap<>(LaunchType.class);
  private final EnumMap<LaunchType, Timer> startDurations = new EnumMap<>(LaunchType.class);
  private final EnumMap<EndReason, Counter> ended = new EnumMap<>(EndReason.class);
  private final AtomicReferenceArray<Counter> startFailures =
      new AtomicReferenceArray<>(ErrorCode.values().length);
  /** Bounded by the reasons the forwarder names ({@link #UPSTREAM_REASONS}). */
  private final Map<String, Counter> upstreamErrors = new ConcurrentHashMap<>();
  /** Bounded by the runtimes ever served (a removed runtime keeps its counters, as counters do). */
  private final Map<RuntimeRef, RuntimeMeters> runtimes = new ConcurrentHashMap<>();
  private final Map<PoolView, List<Meter>> poolMeters = new ConcurrentHashMap<>();

  public ProxyMetrics(MeterRegistry registry) {
    this.registry = registry;
    // Two of ProcessorMetrics' names break Prometheus' conventions (promtool check metrics flags
    // them): process_cpu_time_ns_total (an abbreviated unit; exported below in seconds as the
    // conventional process_cpu_seconds_total) and system_cpu_count (a _count suffix on a gauge).
    registry.config().meterFilter(MeterFilter.deny(id ->
        id.getName().equals("process.cpu.time") || id.getName().equals("system.cpu.count")));
    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new JvmInfoMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      FunctionCounter.builder("process.cpu", os, o -> o.getProcessCpuTime() / 1e9)
          .baseUnit("seconds").description("CPU time used by the proxy's process")
          .register(registry);
    }
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    for (Route r : Route.values()) {
      requests.put(r, new AtomicReferenceArray<>(600));
      durations.put(r, Timer.builder("agentcube.request.duration")
          .description("Time from request start to the end of its response, by route")
          .tag("route", r.tag())
          .publishPercentileHistogram()
          .minimumExpectedValue(Duration.ofNanos(100_000))
          .maximumExpectedValue(Duration.ofMinutes(10))
          .register(registry));
    }
    Gauge.builder("agentcube.requests.in.flight", inFlight, AtomicInteger::get)
        .description("Requests being served now").register(registry);
    for (LaunchType t : LaunchType.values()) {
      created.put(t, Counter.builder("agentcube.sessions.launched")
          .description("Sessions created, by how their sandbox was obtained (named launched:"
              + " OpenMetrics reserves the _created suffix)")
          .tag("launch_type", t.tag()).register(registry));
      startDurations.put(t, Timer.builder("agentcube.session.start.duration")
          .description("Time a new session waited for its sandbox")
          .tag("launch_type", t.tag())
          .serviceLevelObjectives(START_BUCKETS)
          .register(registry));
    }
    for (EndReason r : EndReason.values()) {
      ended.put(r, Counter.builder("agentcube.sessions.ended")
          .description("Sessions ended, by reason").tag("reason", r.tag()).register(registry));
    }
    START_FAILURES.forEach(this::startFailureCounter);
    UPSTREAM_REASONS.forEach(this::upstreamCounter);
  }

  private static Duration[] millis(long... ms) {
    Duration[] d = new Duration[ms.length];
    for (int i = 0; i < ms.length; i++) {
      d[i] = Duration.ofMillis(ms[i]);
    }
    return d;
  }

  /** The registry every meter is on (the scrape handler reads it). */
  public MeterRegistry registry() {
    return registry;
  }

  /** Gauges read from live state at scrape time. */
  public void bind(Supplier<Number> sessionsActive, Supplier<Number> coldStartQueue) {
    Gauge.builder("agentcube.sessions.active", sessionsActive)
        .description("Live sessions").register(registry);
    Gauge.builder("agentcube.cold.start.queue.depth", coldStartQueue)
        .description("Requests waiting for a cold start").register(registry);
  }

  /**
   * Observes {@code backend}: its remote calls ({@code agentcube_backend_call_*}) and whether this
   * process is the one that ends idle sessions and reconciles pools ({@code agentcube_leader}:
   * always 1 on the process backend).
   */
  public void observe(SandboxBackend backend) {
    backend.observeCalls(new BackendCallMeters(registry, backend.name(), CALL_BUCKETS));
    var authority = backend.expiryAuthority();
    Gauge.builder("agentcube.leader", authority, a -> a.endsIdleSessions() ? 1 : 0)
        .description("1 when this replica is the leader (reaps idle sessions, keeps the pools),"
            + " else 0").register(registry);
  }

  public void requestStarted() {
    inFlight.incrementAndGet();
  }

  public void requestEnded(Route route, int status, long nanos) {
    inFlight.decrementAndGet();
    AtomicReferenceArray<Counter> byStatus = requests.get(route);
    int idx = status >= 100 && status < 600 ? status : 599;
    Counter c = byStatus.get(idx);
    if (c == null) {
      c = Counter.builder("agentcube.requests")
          .description("Requests served, by route and status code")
          .tag("route", route.tag()).tag("code", Integer.toString(status))
          .register(registry);
      byStatus.set(idx, c);
    }
    c.increment();
    durations.get(route).record(nanos, TimeUnit.NANOSECONDS);
  }

  /**
   * An invocation forwarded to a code interpreter's {@code /api/execute} ended with HTTP
   * {@code status} after {@code nanos}.
   */
  public void executionEnded(RuntimeDefinition definition, int status, long nanos) {
    runtime(definition).executionEnded(status, nanos);
  }

  public void sessionCreated(LaunchType type, long waitNanos) {
    created.get(type).increment();
    startDurations.get(type).record(waitNanos, TimeUnit.NANOSECONDS);
  }

  /** A request that wanted a new session got none, for {@code cause}. */
  public void sessionStartFailed(Throwable cause) {
    ErrorCode code = cause instanceof AgentCubeException a ? a.code() : ErrorCode.INTERNAL;
    startFailureCounter(code).increment();
  }

  private Counter startFailureCounter(ErrorCode code) {
    Counter c = startFailures.get(code.ordinal());
    if (c == null) {
      c = Counter.builder("agentcube.session.start.failures")
          .description("Requests that asked for a new session and got none, by error code")
          .tag("reason", code.name().toLowerCase(java.util.Locale.ROOT)).register(registry);
      startFailures.set(code.ordinal(), c);
    }
    return c;
  }

  public void sessionEnded(EndReason reason) {
    ended.get(reason).increment();
  }

  public void upstreamError(String reason) {
    upstreamCounter(reason).increment();
  }

  private Counter upstreamCounter(String reason) {
    return upstreamErrors.computeIfAbsent(reason, r -> Counter.builder("agentcube.upstream.errors")
        .description("Failed forwards to sandboxes, by reason").tag("reason", r).register(registry));
  }

  @Override
  public void sandboxStarted(RuntimeDefinition definition, long nanos, Throwable failure) {
    runtime(definition).sandboxStarted(nanos, failure);
  }

  private RuntimeMeters runtime(RuntimeDefinition d) {
    RuntimeMeters m = runtimes.get(d.ref());
    return m != null ? m : runtimes.computeIfAbsent(d.ref(),
        ref -> new RuntimeMeters(registry, d.label(), ref.kind() == RuntimeKind.CODE_INTERPRETER));
  }

  @Override
  public void poolOpened(PoolView pool) {
    runtime(pool.definition()); // its start (and execution) meters exist from now on
    String runtime = pool.definition().label();
    String version = pool.definition().version();
    String kind = pool.definition().ref().kind().kind();
    Meter ready = Gauge.builder("agentcube.warm.pool.ready", pool, PoolView::ready)
        .description("Ready, unbound sandboxes in the warm pool")
        .tags("runtime", runtime, "version", version, "kind", kind).register(registry);
    Meter desired = Gauge.builder("agentcube.warm.pool.desired", pool, PoolView::desired)
        .description("warmPoolSize of the runtime version")
        .tags("runtime", runtime, "version", version, "kind", kind).register(registry);
    poolMeters.put(pool, List.of(ready, desired));
  }

  @Override
  public void poolClosed(PoolView pool) {
    List<Meter> meters = poolMeters.remove(pool);
    if (meters != null) {
      meters.forEach(registry::remove);
    }
  }

  /** Releases the JVM binders' listeners. */
  @Override
  public void close() {
    gc.close();
  }
}
