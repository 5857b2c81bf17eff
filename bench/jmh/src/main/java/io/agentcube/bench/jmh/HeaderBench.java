package io.agentcube.bench.jmh;

import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The header work of one forwarded request, on Vert.x's header map: copy the client's request
 * headers minus hop-by-hop ones (what a forwarder must do), then what the proxy adds: the session
 * header, {@code X-Forwarded-For} appended, {@code X-Forwarded-Host} and {@code -Proto} when
 * absent; on the way back, copy the sandbox's response headers and add the session header.
 * {@code asciiNames} uses pre-encoded names ({@code HttpHeaders.createOptimized}), {@code
 * stringNames} plain strings, to size what the name representation is worth.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class HeaderBench {

  private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive",
      "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade");
  private static final CharSequence SESSION = HttpHeaders.createOptimized("x-agentcube-session-id");
  private static final CharSequence XFF = HttpHeaders.createOptimized("x-forwarded-for");
  private static final CharSequence XFH = HttpHeaders.createOptimized("x-forwarded-host");
  private static final CharSequence XFP = HttpHeaders.createOptimized("x-forwarded-proto");

  private MultiMap request;
  private MultiMap response;
  private static final String SESSION_ID = "wxqXCsI4dUFPv6TrjasB7g";
  private final String sessionId = SESSION_ID;

  @Setup
  public void setUp() {
    request = requestHead();
    response = responseHead();
  }

  /** The head of a wrk request through the proxy. */
  public static MultiMap requestHead() {
    MultiMap request = HttpHeaders.headers();
    request.add("Host", "127.0.0.1:8080");
    request.add("User-Agent", "wrk");
    request.add("Accept", "*/*");
    request.add("x-agentcube-session-id", SESSION_ID);
    request.add("Connection", "keep-alive");
    return request;
  }

  /** The head of the bench backend's (nginx) answer. */
  public static MultiMap responseHead() {
    MultiMap response = HttpHeaders.headers();
    response.add("Server", "nginx/1.22.1");
    response.add("Date", "Fri, 27 Nov 2026 20:25:07 GMT");
    response.add("Content-Type", "text/plain");
    response.add("Content-Length", "2");
    response.add("Connection", "keep-alive");
    return response;
  }

  @Benchmark
  public MultiMap asciiNames() {
    MultiMap out = copy(request);
    out.set(SESSION, sessionId);
    String prior = out.get(XFF);
    out.set(XFF, prior == null ? "127.0.0.1" : prior + ", 127.0.0.1");
    if (!out.contains(XFH)) {
      out.set(XFH, "127.0.0.1:8080");
    }
    if (!out.contains(XFP)) {
      out.set(XFP, "http");
    }
    MultiMap back = copy(response);
    back.set(SESSION, sessionId);
    return back;
  }

  @Benchmark
  public MultiMap stringNames() {
    MultiMap out = copy(request);
    out.set("x-agentcube-session-id", sessionId);
    String prior = out.get("x-forwarded-for");
    out.set("x-forwarded-for", prior == null ? "127.0.0.1" : prior + ", 127.0.0.1");
    if (!out.contains("x-forwarded-host")) {
      out.set("x-forwarded-host", "127.0.0.1:8080");
    }
    if (!out.contains("x-forwarded-proto")) {
      out.set("x-forwarded-proto", "http");
    }
    MultiMap back = copy(response);
    back.set("x-agentcube-session-id", sessionId);
    return back;
  }

  /** Only the two copies, no additions: the floor of any forwarder that copies heads. */
  @Benchmark
  public MultiMap copiesOnly() {
    copy(request);
    return copy(response);
  }

  private static MultiMap copy(MultiMap in) {
    MultiMap out = HttpHeaders.headers();
    for (Map.Entry<String, String> h : in) {
      if (!HOP_BY_HOP.contains(h.getKey().toLowerCase())) {
        out.add(h.getKey(), h.getValue());
      }
    }
    return out;
  }
}
