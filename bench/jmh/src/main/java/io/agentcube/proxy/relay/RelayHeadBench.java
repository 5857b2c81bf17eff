package io.agentcube.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The relay's per-request parsing: {@link RequestHead} on the head of a wrk request through the
 * proxy (the same fields as {@code HeaderBench.requestHead}) and {@link ResponseHead} on the
 * bench backend's (nginx) answer, each from a direct buffer as the transport delivers them.
 * Compare with {@code HeaderBench}: Vert.x's decoded header maps for the same heads.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RelayHeadBench {

  private final RequestHead request = new RequestHead(8192, 16384);
  private final ResponseHead response = new ResponseHead(8192, 16384);
  private ByteBuf requestBytes;
  private ByteBuf responseBytes;

  @Setup
  public void setUp() {
    requestBytes = direct("GET /v1/namespaces/default/agent-runtimes/bench/invocations/ HTTP/1.1\r\n"
        + "Host: 127.0.0.1:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n"
        + "x-agentcube-session-id: 3q2-7wEjRb6lq1vO3CgsZ0w\r\nConnection: keep-alive\r\n\r\n");
    responseBytes = direct("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
        + "Date: Fri, 27 Nov 2026 20:25:07 GMT\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
        + "Connection: keep-alive\r\n\r\nok");
  }

  private static ByteBuf direct(String s) {
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    return Unpooled.directBuffer(b.length).writeBytes(b);
  }

  @Benchmark
  public int requestHead() {
    request.reset();
    return request.parse(requestBytes) + request.indexOf(RequestHead.Field.SESSION_ID);
  }

  @Benchmark
  public int responseHead() {
    response.reset();
    return response.parse(responseBytes) + response.headerCount();
  }
}
