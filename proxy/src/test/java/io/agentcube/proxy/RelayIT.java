package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.invoke;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the relay (issue 13) must get right that a client sees only on a raw connection: requests
 * pipelined on one connection are answered in order, invocations and control-plane requests
 * mixed (the relay serves one, Vert.x the other); and bytes a hostile sandbox sends beyond its
 * answer never reach the client as the answer to a later request.
 */
class RelayIT {

  @TempDir
  static Path tmp;
  static ProxyFixture f;
  static String echoSession;
  static String faultySession;

  @BeforeAll
  static void start() throws Exception {
    Path runtimes = tmp.resolve("runtimes");
    TestRuntimes.write(runtimes, "echo.yaml", TestRuntimes.echo("echo", 1, "15m", "8h"));
    TestRuntimes.write(runtimes, "faulty.yaml", TestRuntimes.agent("faulty", 0, "15m", "8h",
        List.of("python3", "-S", "-u", FaultsIT.AGENT.toString())));
    f = ProxyFixture.start(runtimes, tmp.resolve("state"), false, Map.of());
    echoSession = sessionId(f.get(invoke("echo", "/hello"), null));
    HttpResponse<String> first = f.get(invoke("faulty", "/hello"), null);
    assertThat(first.statusCode()).isEqualTo(200);
    faultySession = sessionId(first);
  }

  @AfterAll
  static void stop() throws Exception {
    f.close();
  }

  @Test
  void pipelinedInvocations_answeredInOrder() throws Exception {
    StringBuilder requests = new StringBuilder();
    for (int i = 0; i < 5; i++) {
      requests.append(get(invoke("echo", "/p" + i), echoSession));
    }
    List<Reply> replies = exchange(requests.toString(), 5);
    for (int i = 0; i < 5; i++) {
      assertThat(replies.get(i).status).isEqualTo(200);
      assertThat(new JsonObject(replies.get(i).body).getString("path")).isEqualTo("/p" + i);
      assertThat(replies.get(i).head).contains("x-agentcube-session-id: " + echoSession.toLowerCase(Locale.ROOT));
    }
  }

  @Test
  void repeatedAndChangingTargets_oneConnection_eachAnsweredForItsOwn() throws Exception {
    // The relay remembers a connection's last target: repeats, near-misses of the same length
    // and a control-plane request in between must each be routed by their own bytes.
    String[] targets = {invoke("echo", "/a?x=1"), invoke("echo", "/a?x=1"), invoke("echo", "/b?x=1"),
        invoke("echo", "/a?x=2"), "/health/live", invoke("echo", "/a?x=1"), invoke("echo", "/a")};
    StringBuilder requests = new StringBuilder();
    for (String t : targets) {
      requests.append(get(t, t.startsWith("/health") ? null : echoSession));
    }
    List<Reply> replies = exchange(requests.toString(), targets.length);
    String[][] want = {{"/a", "x=1"}, {"/a", "x=1"}, {"/b", "x=1"}, {"/a", "x=2"}, null, {"/a", "x=1"}, {"/a", ""}};
    for (int i = 0; i < targets.length; i++) {
      assertThat(replies.get(i).status).as("reply %d", i).isEqualTo(200);
      if (want[i] == null) {
        assertThat(replies.get(i).body).contains("\"status\":\"UP\"");
        continue;
      }
      JsonObject echo = new JsonObject(replies.get(i).body);
      assertThat(echo.getString("path")).as("reply %d", i).isEqualTo(want[i][0]);
      assertThat(echo.getString("rawQuery")).as("reply %d", i).isEqualTo(want[i][1]);
    }
  }

  @Test
  void pipelinedControlPlaneAndInvocations_answeredInOrder() throws Exception {
    String requests = get("/health/live", null) + get(invoke("echo", "/a"), echoSession)
        + get("/v1/namespaces/default/runtimes", null) + get(invoke("echo", "/b"), echoSession)
        + get("/nope", null);
    List<Reply> replies = exchange(requests, 5);
    assertThat(replies.get(0).body).contains("\"status\":\"UP\"");
    assertThat(new JsonObject(replies.get(1).body).getString("path")).isEqualTo("/a");
    assertThat(replies.get(2).status).isEqualTo(200);
    assertThat(replies.get(2).body).contains("echo");
    assertThat(new JsonObject(replies.get(3).body).getString("path")).isEqualTo("/b");
    assertThat(replies.get(4).status).isEqualTo(404);
    assertThat(replies.get(4).body).contains("\"code\":\"NOT_FOUND\"");
  }

  @Test
  void bytesBeyondASandboxsAnswer_neverAnswerTheNextRequest() throws Exception {
    try (Socket s = socket()) {
      send(s, get(invoke("faulty", "/smuggle"), faultySession));
      Reply first = read(s.getInputStream());
      assertThat(first.status).isEqualTo(200);
      assertThat(first.body).isEqualTo("ok");
      // The next request on the same client connection: the sandbox's unasked-for second
      // response must not be passed off as its answer.
      send(s, get(invoke("faulty", "/fine"), faultySession));
      Reply second = read(s.getInputStream());
      assertThat(second.status).isEqualTo(200);
      assertThat(second.body).isEqualTo("ok").doesNotContain("smuggled");
    }
  }

  // ---- a minimal HTTP/1.1 client on a raw socket -------------------------------------------

  private record Reply(int status, String head, String body) {}

  private static String get(String path, String session) {
    return "GET " + path + " HTTP/1.1\r\nHost: x\r\n"
        + (session == null ? "" : "x-agentcube-session-id: " + session + "\r\n") + "\r\n";
  }

  private static Socket socket() throws IOException {
    Socket s = new Socket("127.0.0.1", f.proxy.port());
    s.setSoTimeout(20_000);
    return s;
  }

  private static void send(Socket s, String text) throws IOException {
    s.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
  }

  /** Sends {@code requests} in one write and reads {@code n} responses. */
  private static List<Reply> exchange(String requests, int n) throws IOException {
    try (Socket s = socket()) {
      send(s, requests);
      List<Reply> out = new ArrayList<>();
      InputStream in = s.getInputStream();
      for (int i = 0; i < n; i++) {
        out.add(read(in));
      }
      return out;
    }
  }

  /** One response framed by Content-Length (every answer in these tests has one). */
  private static Reply read(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed in a response head: " + head);
      }
      head.write(b);
      matched = (b == '\r' && (matched == 0 || matched == 2)) || (b == '\n' && (matched == 1 || matched == 3))
          ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    String h = head.toString(StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
    int status = Integer.parseInt(h.substring(9, 12));
    int at = h.indexOf("content-length:");
    assertThat(at).as("a length in %s", h).isPositive();
    int length = Integer.parseInt(h.substring(at + 15, h.indexOf('\r', at)).trim());
    byte[] body = in.readNBytes(length);
    return new Reply(status, h, new String(body, StandardCharsets.UTF_8));
  }
}
