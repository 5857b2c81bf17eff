package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Client connection limits, on raw sockets: a request head must arrive within
 * {@code server.headerReadTimeout} however slowly its bytes trickle in, and connections beyond
 * {@code server.maxConnections} get {@code 503 TOO_MANY_CONNECTIONS} while the others go on.
 */
class ConnectionLimitsIT {

  private static final int MAX = 4;
  private static final Duration HEAD_TIMEOUT = Duration.ofSeconds(2);

  @TempDir
  static Path tmp;
  private static ProxyFixture f;
  private final List<Socket> sockets = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    TestRuntimes.write(tmp.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", 0, "2m", "8h"));
    f = ProxyFixture.start(tmp.resolve("runtimes"), tmp.resolve("state"), true, Map.of(
        "server.maxConnections", MAX, "server.headerReadTimeout", "2s"));
  }

  @AfterAll
  static void stop() throws Exception {
    f.close();
  }

  @AfterEach
  void closeSockets() throws IOException {
    for (Socket s : sockets) {
      s.close();
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> f.proxy.openConnections() == 0);
  }

  @Test
  void slowloris_oneHeaderBytePerHalfSecond_closedWithinTimeoutWhileOthersServed() throws Exception {
    Socket slow = connect();
    byte[] head = ("GET /health/live HTTP/1.1\r\nHost: x\r\nX-Pad: " + "a".repeat(100) + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
    AtomicInteger sent = new AtomicInteger();
    ScheduledExecutorService trickle = Executors.newSingleThreadScheduledExecutor();
    long startNanos = System.nanoTime();
    try {
      OutputStream out = slow.getOutputStream();
      trickle.scheduleAtFixedRate(() -> {
        int i = sent.get();
        if (i < head.length) {
          try {
            out.write(head[i]);
            out.flush();
            sent.incrementAndGet();
          } catch (IOException closed) {
            // the proxy cut it: what the test waits for
          }
        }
      }, 0, 500, TimeUnit.MILLISECONDS);

      // Meanwhile a normal client on its own connection is served, twice (keep-alive).
      Socket normal = connect();
      assertThat(exchange(normal, "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")).startsWith("HTTP/1.1 200");
      assertThat(exchange(normal, "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")).startsWith("HTTP/1.1 200");

      slow.setSoTimeout(10_000);
      String answer = readUntilClosed(slow.getInputStream());
      long tookMs = (System.nanoTime() - startNanos) / 1_000_000;
      assertThat(answer).as("no response, just closed").isEmpty();
      assertThat(tookMs).as("closed after the header-read timeout, not the idle timeout")
          .isBetween(HEAD_TIMEOUT.toMillis() - 200, HEAD_TIMEOUT.toMillis() + 2_000);
      assertThat(sent.get()).as("bytes were still trickling in").isGreaterThan(2).isLessThan(head.length);
    } finally {
      trickle.shutdownNow();
    }
  }

  @Test
  void headerReadTimeout_completeHeadThenIdleKeepAlive_notCut() throws Exception {
    Socket s = connect();
    assertThat(exchange(s, "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")).startsWith("HTTP/1.1 200");
    // Idle between requests is the idle timeout's business: the connection outlives the head timeout.
    s.setSoTimeout((int) HEAD_TIMEOUT.toMillis() * 2);
    assertThatNoByteArrives(s);
    assertThat(exchange(s, "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")).startsWith("HTTP/1.1 200");
  }

  @Test
  void maxConnections_connectionBeyondCap_503ThenClosed_firstOnesStillServed() throws Exception {
    List<Socket> first = new ArrayList<>();
    for (int i = 0; i < MAX; i++) {
      first.add(connect());
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> f.proxy.openConnections() == MAX);

    Socket extra = connect();
    extra.setSoTimeout(10_000);
    extra.getOutputStream().write("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    String refused = readUntilClosed(extra.getInputStream());
    assertThat(refused).startsWith("HTTP/1.1 503").containsIgnoringCase("connection: close")
        .containsIgnoringCase("retry-after").contains("\"code\":\"TOO_MANY_CONNECTIONS\"");

    for (Socket s : first) {
      assertThat(exchange(s, "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")).startsWith("HTTP/1.1 200");
    }
    // One leaves: a new one gets its place.
    first.get(0).close();
    await().atMost(Duration.ofSeconds(10)).until(() -> f.proxy.openConnections() == MAX - 1);
    assertThat(exchange(connect(), "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")).startsWith("HTTP/1.1 200");
  }

  private Socket connect() throws IOException {
    Socket s = new Socket("127.0.0.1", f.proxy.port());
    s.setSoTimeout(10_000);
    sockets.add(s);
    return s;
  }

  /** Sends one request and reads its response (Content-Length framed). */
  private static String exchange(Socket s, String request) throws IOException {
    s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
    InputStream in = s.getInputStream();
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed after " + head);
      }
      head.write(b);
    }
    String text = head.toString(StandardCharsets.US_ASCII);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(text);
    int length = m.find() ? Integer.parseInt(m.group(1)) : 0;
    return text + new String(in.readNBytes(length), StandardCharsets.UTF_8);
  }

  private static String readUntilClosed(InputStream in) throws IOException {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    try {
      in.transferTo(all);
    } catch (SocketException reset) {
      // a reset after the response still counts as closed
    }
    return all.toString(StandardCharsets.UTF_8);
  }

  private static void assertThatNoByteArrives(Socket s) throws IOException {
    try {
      int b = s.getInputStream().read();
      throw new AssertionError("the connection was closed or written to (read " + b + ")");
    } catch (SocketTimeoutException expected) {
      // still open, silent
    }
  }
}
