package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.invoke;
import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bodies stream both ways through the proxy: SSE, chunked, WebSocket, a 100 MB upload. */
class StreamingIT {

  @TempDir
  static Path tmp;
  private static ProxyFixture f;

  @BeforeAll
  static void start() throws Exception {
    f = ProxyFixture.echo(tmp, Map.of());
  }

  @AfterAll
  static void stop() throws Exception {
    f.close();
  }

  @Test
  void sse_eventsArriveAsFlushedBeforeTheResponseEnds() throws Exception {
    HttpResponse<InputStream> r = f.http.send(
        HttpRequest.newBuilder(f.uri(invoke("echo", "/sse?n=4&interval=0.8"))).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
    assertThat(sessionId(r)).isNotBlank();
    List<Long> arrivals = new ArrayList<>();
    List<String> events = new ArrayList<>();
    try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(r.body(),
        java.nio.charset.StandardCharsets.UTF_8))) {
      String line;
      while ((line = lines.readLine()) != null) {
        if (line.startsWith("data:")) {
          arrivals.add(System.nanoTime());
          events.add(line);
        }
      }
    }
    long end = System.nanoTime();
    assertThat(events).hasSize(4).first().asString().contains("\"seq\": 0");
    // 3 pauses of 0.8 s separate the events: a buffering proxy would deliver them all at the end.
    // The bound is half of that, so a slow, loaded machine does not fail the test.
    assertThat(Duration.ofNanos(end - arrivals.get(0))).isGreaterThan(Duration.ofMillis(1200));
    assertThat(Duration.ofNanos(arrivals.get(3) - arrivals.get(0))).isGreaterThan(Duration.ofMillis(1200));
  }

  @Test
  void chunked_piecesArriveOneByOne() throws Exception {
    HttpResponse<InputStream> r = f.http.send(
        HttpRequest.newBuilder(f.uri(invoke("echo", "/chunked?n=4&interval=0.8&size=16"))).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream in = r.body()) {
      byte[] first = new byte[16];
      int got = in.readNBytes(first, 0, 16);
      long firstAt = System.nanoTime();
      byte[] rest = in.readAllBytes();
      long endAt = System.nanoTime();
      assertThat(got).isEqualTo(16);
      assertThat(new String(first)).startsWith("chunk-0");
      assertThat(rest).hasSize(48);
      assertThat(Duration.ofNanos(endAt - firstAt)).isGreaterThan(Duration.ofMillis(1200));
    }
  }

  @Test
  void webSocket_echoesThroughProxyAndKeepsSessionInFlight() throws Exception {
    String id = sessionId(f.get(invoke("echo", "/"), null));
    CompletableFuture<String> echoed = new CompletableFuture<>();
    WebSocket ws = f.http.newWebSocketBuilder()
        .header(ProxyFixture.SESSION, id)
        .buildAsync(URI.create("ws://127.0.0.1:" + f.proxy.port() + invoke("echo", "/ws")),
            new WebSocket.Listener() {
              final StringBuilder text = new StringBuilder();

              @Override
              public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
                text.append(data);
                if (last) {
                  echoed.complete(text.toString());
                }
                socket.request(1);
                return null;
              }
            })
        .get(10, TimeUnit.SECONDS);

    ws.sendText("hello through the proxy", true);
    assertThat(echoed.get(10, TimeUnit.SECONDS)).isEqualTo("hello through the proxy");
    assertThat(f.proxy.sessions().get(id).inFlight()).as("an open WebSocket is in flight").isEqualTo(1);

    ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(10, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(10)).until(() -> f.proxy.sessions().get(id).inFlight() == 0);
  }

  @Test
  void upload100MB_streamsWithoutGrowingHeap() throws Exception {
    long size = 100L * 1024 * 1024;
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    long[] heap = new long[2];
    heap[0] = usedHeapAfterGc();
    InputStream body = new InputStream() {
      long sent;
      final byte[] block = new byte[64 * 1024];

      @Override
      public int read() {
        throw new UnsupportedOperationException();
      }

      @Override
      public int read(byte[] b, int off, int len) {
        if (sent >= size) {
          return -1;
        }
        if (sent >= size / 2 && heap[1] == 0) {
          heap[1] = usedHeapAfterGc(); // half-way: what the proxy holds now stays on the heap
        }
        int n = (int) Math.min(Math.min(len, block.length), size - sent);
        for (int i = 0; i < n; i++) {
          b[off + i] = (byte) ((sent + i) * 31);
        }
        sha.update(b, off, n);
        sent += n;
        return n;
      }
    };
    HttpResponse<String> r = f.http.send(HttpRequest.newBuilder(f.uri(invoke("echo", "/upload")))
            .timeout(Duration.ofMinutes(3))
            .POST(HttpRequest.BodyPublishers.fromPublisher(
                HttpRequest.BodyPublishers.ofInputStream(() -> body), size))
            .build(),
        HttpResponse.BodyHandlers.ofString());

    JsonObject echo = json(r, 200);
    assertThat(echo.getLong("bodyBytes")).isEqualTo(size);
    assertThat(echo.getString("bodySha256")).isEqualTo(HexFormat.of().formatHex(sha.digest()));
    assertThat(heap[1] - heap[0]).as("heap growth half-way through a 100 MB upload, bytes")
        .isLessThan(16L * 1024 * 1024);
  }

  @Test
  void download_clientNotReading_proxyHoldsNoMoreThanItsBuffers_thenEveryByteArrives() throws Exception {
    long size = 512L * 1024 * 1024;
    try (Socket s = new Socket("127.0.0.1", f.proxy.port())) {
      s.setSoTimeout(30_000);
      s.setReceiveBufferSize(64 * 1024);
      s.getOutputStream().write(("GET " + invoke("echo", "/download?bytes=" + size) + " HTTP/1.1\r\n"
          + "Host: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      StringBuilder head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        int c = in.read();
        assertThat(c).as("head so far: %s", head).isNotNegative();
        head.append((char) c);
      }
      assertThat(head.toString()).startsWith("HTTP/1.1 200").containsIgnoringCase("content-length: " + size);
      long before = offHeapAndHeap();
      // A proxy without back-pressure would hold most of the 512 MiB within these two seconds.
      // The client reads nothing for two seconds, while the sandbox could write the whole body in
      // a fraction of that: back-pressure must stop the proxy reading from the sandbox.
      await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4))
          .until(() -> offHeapAndHeap() - before < 128L * 1024 * 1024);
      byte[] buf = new byte[256 * 1024];
      long got = 0;
      for (int n; got < size && (n = in.read(buf, 0, (int) Math.min(buf.length, size - got))) > 0; ) {
        got += n;
      }
      assertThat(got).as("body bytes").isEqualTo(size);
    }
  }

  /** What the proxy's process holds in memory now: the heap plus direct buffers (either kind). */
  private static long offHeapAndHeap() {
    long direct = Math.max(0, io.netty.util.internal.PlatformDependent.usedDirectMemory());
    for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (pool.getName().equals("direct")) {
        direct += pool.getMemoryUsed();
      }
    }
    return direct + ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  private static long usedHeapAfterGc() {
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}
