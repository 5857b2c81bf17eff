package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 item 4: a sandbox that breaks HTTP gets the client a 502 {@code SANDBOX_PROTOCOL_ERROR}
 * without internals, its session stays usable, and a sandbox's early final answer to an upload
 * reaches the client.
 */
class FaultsIT {

  static final Path AGENT = Path.of("src", "test", "resources", "faulty_agent.py").toAbsolutePath();

  @TempDir
  static Path tmp;
  static ProxyFixture f;
  static String session;

  @BeforeAll
  static void start() throws Exception {
    Path runtimes = tmp.resolve("runtimes");
    TestRuntimes.write(runtimes, "faulty.yaml", TestRuntimes.agent("faulty", 0, "15m", "8h",
        List.of("python3", "-S", "-u", AGENT.toString())));
    f = ProxyFixture.start(runtimes, tmp.resolve("state"), false, Map.of());
    HttpResponse<String> first = f.get(ProxyFixture.invoke("faulty", "/hello"), null);
    assertThat(first.statusCode()).isEqualTo(200);
    session = sessionId(first);
  }

  @AfterAll
  static void stop() throws Exception {
    f.close();
  }

  private static void assertProtocolError(String path) throws Exception {
    HttpResponse<String> r = f.get(ProxyFixture.invoke("faulty", path), session);
    JsonObject body = json(r, 502);
    assertThat(body.getString("code")).isEqualTo("SANDBOX_PROTOCOL_ERROR");
    assertThat(body.getString("error")).doesNotContainPattern("[a-z]+\\.[a-z]+\\.[A-Z]\\w*(Exception|Error)")
        .doesNotContain("netty").doesNotContain("vertx");
    assertThat(sessionId(r)).isEqualTo(session);
    // The session survives its sandbox's bad answer.
    assertThat(f.get(ProxyFixture.invoke("faulty", "/fine"), session).statusCode()).isEqualTo(200);
  }

  @Test
  void garbageInsteadOfHttp_is502ProtocolError() throws Exception {
    assertProtocolError("/garbage");
  }

  @Test
  void statusOutsideHundredToFiveNinetyNine_is502() throws Exception {
    assertProtocolError("/status2000");
  }

  @Test
  void oversizedResponseHead_is502() throws Exception {
    assertProtocolError("/bighead");
  }

  /** The sandbox answers 413 after the head of a 64 MB upload and reads no body. */
  @Test
  void earlyFinalAnswerToAnUpload_reachesTheClient() throws Exception {
    long length = 64L << 20;
    try (Socket s = new Socket("127.0.0.1", f.proxy.port())) {
      s.setSoTimeout(30_000);
      OutputStream out = s.getOutputStream();
      out.write(("POST " + ProxyFixture.invoke("faulty", "/upload") + " HTTP/1.1\r\nHost: x\r\n"
          + "x-agentcube-session-id: " + session + "\r\nContent-Length: " + length + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      CompletableFuture<Void> sending = CompletableFuture.runAsync(() -> {
        byte[] chunk = new byte[64 << 10];
        try {
          for (long sent = 0; sent < length; sent += chunk.length) {
            out.write(chunk);
          }
        } catch (java.io.IOException expected) {
          // the proxy may stop reading once the answer is out
        }
      });
      String answer = readResponse(s.getInputStream());
      assertThat(answer).startsWith("HTTP/1.1 413");
      assertThat(answer.toLowerCase()).contains("x-agentcube-session-id: " + session.toLowerCase());
      assertThat(answer).endsWith("{\"error\":\"too large\"}");
      sending.get(30, TimeUnit.SECONDS);
    }
    assertThat(f.get(ProxyFixture.invoke("faulty", "/fine"), session).statusCode()).isEqualTo(200);
  }

  /** One response with a Content-Length body, read from a raw socket. */
  private static String readResponse(InputStream in) throws Exception {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new AssertionError("connection closed after: " + head);
      }
      head.write(b);
    }
    String h = head.toString(StandardCharsets.ISO_8859_1);
    int length = 0;
    for (String line : h.split("\r\n")) {
      if (line.toLowerCase().startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).strip());
      }
    }
    return h + new String(in.readNBytes(length), StandardCharsets.ISO_8859_1);
  }
}
