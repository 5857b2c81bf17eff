package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.invoke;
import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.agentcube.sandbox.Sandbox;
import io.agentcube.session.Session;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the forwarder owns at the HTTP level: which headers cross, body framing for old clients,
 * 100-continue, HEAD, and clients that leave mid-request. Raw sockets where the JDK client would
 * hide the wire (it refuses {@code Connection}, {@code Expect} and HTTP/1.0).
 */
class ForwardingIT {

  @TempDir
  static Path tmp;
  private static ProxyFixture f;
  private static String session;

  @BeforeAll
  static void start() throws Exception {
    f = ProxyFixture.echo(tmp, Map.of());
    session = sessionId(f.get(invoke("echo", "/"), null));
  }

  @AfterAll
  static void stop() throws Exception {
    f.close();
  }

  @Test
  void forward_hopByHopAndConnectionListedHeaders_stayOnTheirHop() throws Exception {
    Raw r = exchange("GET " + invoke("echo", "/h") + " HTTP/1.1\r\n"
        + "Host: front.example:8443\r\n"
        + "Connection: keep-alive, X-Private\r\n"
        + "Keep-Alive: timeout=5\r\n"
        + "X-Private: secret\r\n"
        + "TE: trailers\r\n"
        + "Proxy-Authorization: Basic eDp5\r\n"
        + "X-Kept: yes\r\n"
        + "x-agentcube-session-id: " + session + "\r\n\r\n", null);
    assertThat(r.status).isEqualTo(200);
    assertThat(r.headers.get("x-agentcube-session-id")).isEqualTo(session);
    JsonObject headers = new JsonObject(r.body).getJsonObject("headers");
    assertThat(headers.fieldNames()).contains("x-kept", "x-forwarded-for", "x-forwarded-proto")
        .doesNotContain("x-private", "keep-alive", "te", "proxy-authorization");
    assertThat(headers.getString("x-forwarded-host")).isEqualTo("front.example:8443");
    assertThat(headers.getString("x-forwarded-for")).isEqualTo("127.0.0.1");
    assertThat(headers.getString("host")).as("the sandbox gets its own address as Host")
        .startsWith("127.0.0.1:");
  }

  @Test
  void forward_http10ClientAndChunkedSandboxAnswer_bodyEndsWithTheConnection() throws Exception {
    Raw r = exchange("GET " + invoke("echo", "/chunked?n=3&interval=0") + " HTTP/1.0\r\n"
        + "x-agentcube-session-id: " + session + "\r\n\r\n", null);
    assertThat(r.status).isEqualTo(200);
    assertThat(r.headers).doesNotContainKey("transfer-encoding");
    assertThat(r.body).isEqualTo("chunk-0........\nchunk-1........\nchunk-2........\n");
    assertThat(r.closed).as("HTTP/1.0 without a length: the close delimits the body").isTrue();
  }

  @Test
  void forward_expect100Continue_answeredHereAndBodyForwarded() throws Exception {
    try (Socket s = socket()) {
      OutputStream out = s.getOutputStream();
      out.write(("POST " + invoke("echo", "/up") + " HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
          + "Expect: 100-continue\r\nx-agentcube-session-id: " + session + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      assertThat(readHead(in)).startsWith("HTTP/1.1 100");
      out.write("hello".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      Raw r = readResponse(in, false);
      assertThat(r.status).isEqualTo(200);
      JsonObject echo = new JsonObject(r.body);
      assertThat(echo.getString("body")).isEqualTo("hello");
      assertThat(echo.getJsonObject("headers").fieldNames()).doesNotContain("expect");
    }
  }

  @Test
  void forward_head_lengthWithoutBody() throws Exception {
    HttpResponse<String> r = f.http.send(HttpRequest.newBuilder(f.uri(invoke("echo", "/head")))
        .method("HEAD", HttpRequest.BodyPublishers.noBody())
        .header(ProxyFixture.SESSION, session).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEmpty();
    assertThat(Long.parseLong(r.headers().firstValue("content-length").orElseThrow())).isPositive();
    // The connection is still in step: the next request on the same client works.
    assertThat(f.get(invoke("echo", "/after-head"), session).statusCode()).isEqualTo(200);
  }

  @Test
  void forward_clientLeavesMidUpload_requestEndsAndSessionGoesOn() throws Exception {
    try (Socket s = socket()) {
      OutputStream out = s.getOutputStream();
      out.write(("POST " + invoke("echo", "/up") + " HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n"
          + "x-agentcube-session-id: " + session + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(new byte[64 * 1024]);
      out.flush();
    }
    Session<Sandbox> live = f.proxy.sessions().get(session);
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(live.inFlight()).as("the abandoned request no longer holds the session").isZero());
    HttpResponse<String> next = f.get(invoke("echo", "/next"), session);
    assertThat(json(next, 200).getString("path")).isEqualTo("/next");
  }

  @Test
  void affinity_oneClientConnection_keepsOneUpstreamConnectionUntilItCloses() throws Exception {
    int before = f.proxy.pinnedConnections(); // the JDK client's own keep-alive connections
    String first;
    try (Socket a = socket(); Socket b = socket()) {
      first = peer(a, "/a1");
      assertThat(peer(a, "/a2")).as("the same client connection reuses its upstream connection").isEqualTo(first);
      assertThat(peer(a, "/a3")).isEqualTo(first);
      String other = peer(b, "/b1");
      assertThat(other).as("another client connection has its own").isNotEqualTo(first);
      assertThat(peer(b, "/b2")).isEqualTo(other);
      assertThat(f.proxy.pinnedConnections()).isGreaterThanOrEqualTo(2);
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(f.proxy.pinnedConnections()).as("pins go with their client connections")
            .isLessThanOrEqualTo(before));
  }

  /** One keep-alive request on {@code s}; the sandbox-side address of the connection it came on. */
  private static String peer(Socket s, String path) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write(("GET " + invoke("echo", path) + " HTTP/1.1\r\nHost: x\r\nx-agentcube-session-id: "
        + session + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    out.flush();
    Raw r = readResponse(s.getInputStream(), false);
    assertThat(r.status).isEqualTo(200);
    return new JsonObject(r.body).getString("peer");
  }

  // ---- a minimal HTTP/1.x client on a raw socket -------------------------------------------

  private record Raw(int status, Map<String, String> headers, String body, boolean closed) {}

  private static Socket socket() throws IOException {
    Socket s = new Socket("127.0.0.1", f.proxy.port());
    s.setSoTimeout(10_000);
    return s;
  }

  private static Raw exchange(String request, byte[] body) throws IOException {
    try (Socket s = socket()) {
      OutputStream out = s.getOutputStream();
      out.write(request.getBytes(StandardCharsets.US_ASCII));
      if (body != null) {
        out.write(body);
      }
      out.flush();
      return readResponse(s.getInputStream(), request.contains(" HTTP/1.0\r\n"));
    }
  }

  /** Reads one response: a Content-Length body, or (for HTTP/1.0) everything up to the close. */
  private static Raw readResponse(InputStream in, boolean toClose) throws IOException {
    String head = readHead(in);
    String[] lines = head.split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
    }
    String length = headers.get("content-length");
    if (length != null && !toClose) {
      return new Raw(status, headers, new String(in.readNBytes(Integer.parseInt(length)), StandardCharsets.UTF_8), false);
    }
    ByteArrayOutputStream rest = new ByteArrayOutputStream();
    in.transferTo(rest); // until the proxy closes (bounded by the socket timeout)
    return new Raw(status, headers, rest.toString(StandardCharsets.UTF_8), true);
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed inside a response head: " + head);
      }
      head.write(b);
      matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3))
          ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    String text = head.toString(StandardCharsets.US_ASCII);
    return text.substring(0, text.length() - 4);
  }
}
