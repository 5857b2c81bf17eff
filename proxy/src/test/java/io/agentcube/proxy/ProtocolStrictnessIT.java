package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.invoke;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11 item 6, RFC 9112: messages whose framing or target is ambiguous are refused (or their
 * connection closed after them), never forwarded with a guess. Raw sockets: an HTTP client
 * library would not send these.
 */
class ProtocolStrictnessIT {

  @TempDir
  static Path tmp;
  static ProxyFixture f;
  static String session;
  static String path;

  @BeforeAll
  static void start() throws Exception {
    TestRuntimes.write(tmp.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", 1, "15m", "8h"));
    f = ProxyFixture.start(tmp.resolve("runtimes"), tmp.resolve("state"), false, Map.of());
    session = sessionId(f.get(invoke("echo", "/"), null));
    path = invoke("echo", "/echo");
  }

  @AfterAll
  static void stop() throws Exception {
    f.close();
  }

  /** What the proxy wrote back on one connection until it closed it (or went quiet for 3 s). */
  record Reply(String text, boolean closed) {
    int responses() {
      return text.split("HTTP/1\\.1 \\d{3}", -1).length - 1;
    }

    String status() {
      return text.length() >= 12 ? text.substring(9, 12) : "";
    }
  }

  static Reply send(String raw) throws IOException {
    try (Socket s = new Socket("127.0.0.1", f.proxy.port())) {
      s.setSoTimeout(3_000);
      s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      boolean closed;
      try {
        int n;
        while ((n = in.read(buf)) >= 0) {
          got.write(buf, 0, n);
        }
        closed = true;
      } catch (SocketTimeoutException quiet) {
        closed = false;
      } catch (IOException reset) {
        closed = true;
      }
      return new Reply(got.toString(StandardCharsets.ISO_8859_1), closed);
    }
  }

  static String head(String requestLine, String... headers) {
    StringBuilder b = new StringBuilder(requestLine).append("\r\n");
    b.append("x-agentcube-session-id: ").append(session).append("\r\n");
    for (String h : headers) {
      b.append(h).append("\r\n");
    }
    return b.append("\r\n").toString();
  }

  private static void assertRefused(Reply r, String status) {
    assertThat(r.status()).as(r.text()).isEqualTo(status);
    assertThat(r.text()).contains("\"code\":");
    assertThat(r.responses()).as("nothing after the refusal is served: %s", r.text()).isEqualTo(1);
    assertThat(r.closed()).as("the connection is closed after a refusal").isTrue();
  }

  @Test
  void contentLengthAndTransferEncoding_refusedAndConnectionClosed() throws Exception {
    // A smuggling attempt: by Content-Length the body is "0\r\n\r\nGET /smuggled...", by chunked it
    // ends at once and a second request follows.
    String smuggled = "GET " + invoke("echo", "/smuggled") + " HTTP/1.1\r\nHost: x\r\n"
        + "x-agentcube-session-id: " + session + "\r\n\r\n";
    String body = "0\r\n\r\n" + smuggled;
    Reply r = send(head("POST " + path + " HTTP/1.1", "Host: x", "Content-Length: " + body.length(),
        "Transfer-Encoding: chunked") + body);
    assertThat(r.text()).doesNotContain("/smuggled");
    assertRefused(r, "400");
  }

  @Test
  void unknownTransferCoding_501_chunkedNotFinal_400() throws Exception {
    // RFC 9112 6.3: without chunked as the final coding the body length cannot be known.
    assertRefused(send(head("POST " + path + " HTTP/1.1", "Host: x", "Transfer-Encoding: gzip") + "abc"), "400");
    assertRefused(send(head("POST " + path + " HTTP/1.1", "Host: x", "Transfer-Encoding: x-custom, chunked")
        + "3\r\nabc\r\n0\r\n\r\n"), "501");
  }

  @Test
  void chunkedNotLast_orTwice_400() throws Exception {
    assertRefused(send(head("POST " + path + " HTTP/1.1", "Host: x", "Transfer-Encoding: chunked, gzip")
        + "3\r\nabc\r\n0\r\n\r\n"), "400");
    assertRefused(send(head("POST " + path + " HTTP/1.1", "Host: x", "Transfer-Encoding: chunked",
        "Transfer-Encoding: chunked") + "3\r\nabc\r\n0\r\n\r\n"), "400");
  }

  @Test
  void invalidChunkedFraming_400() throws Exception {
    assertRefused(send(head("POST " + path + " HTTP/1.1", "Host: x", "Transfer-Encoding: chunked")
        + "zz\r\nabc\r\n0\r\n\r\n"), "400");
  }

  @Test
  void invalidContentLength_400() throws Exception {
    assertRefused(send(head("POST " + path + " HTTP/1.1", "Host: x", "Content-Length: 3, 4") + "abcd"), "400");
    assertRefused(send(head("POST " + path + " HTTP/1.1", "Host: x", "Content-Length: -1") + "abcd"), "400");
    assertRefused(send(head("POST " + path + " HTTP/1.1", "Host: x", "Content-Length: 99999999999999999999")
        + "abcd"), "400");
  }

  @Test
  void nulOrFragmentInTheTarget_400() throws Exception {
    assertRefused(send(head("GET " + path + "\0x HTTP/1.1", "Host: x")), "400");
    assertRefused(send(head("GET " + path + "#frag HTTP/1.1", "Host: x")), "400");
    assertRefused(send(head("GET " + path + "?a=\u007f HTTP/1.1", "Host: x")), "400");
  }

  @Test
  void duplicateOrMissingHost_400() throws Exception {
    assertRefused(send(head("GET " + path + " HTTP/1.1", "Host: a", "Host: b")), "400");
    assertRefused(send(head("GET " + path + " HTTP/1.1")), "400");
    // HTTP/1.0 needs no Host.
    Reply old = send(head("GET " + path + " HTTP/1.0"));
    assertThat(old.text()).startsWith("HTTP/1.0 200");
  }

  @Test
  void whitespaceBeforeColon_400() throws Exception {
    assertRefused(send(head("GET " + path + " HTTP/1.1", "Host: x", "X-A : 1")), "400");
  }

  /**
   * RFC 9112 §5.2 lets a server either refuse an obs-fold or replace it with a space; the relay
   * refuses it (issue 13: never forward a message another hop might read differently).
   */
  @Test
  void obsFold_refused400() throws Exception {
    Reply r = send(head("GET " + path + " HTTP/1.1", "Host: x", "Connection: close", "X-A: 1", " folded"));
    assertRefused(r, "400");
  }

  @Test
  void connectionCloseAmongOtherTokens_honoured() throws Exception {
    Reply r = send(head("GET " + path + " HTTP/1.1", "Host: x", "Connection: close, x-other"));
    assertThat(r.status()).isEqualTo("200");
    assertThat(r.closed()).as("closed after the response").isTrue();
    assertThat(r.text().toLowerCase()).contains("connection: close");
  }

  @Test
  void afterAllThat_stillServing() throws Exception {
    assertThat(f.get(invoke("echo", "/ok"), session).statusCode()).isEqualTo(200);
  }
}
