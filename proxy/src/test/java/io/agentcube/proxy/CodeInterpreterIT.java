package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The default code interpreter end to end: proxy, signed calls, the real sandboxd host. */
class CodeInterpreterIT {

  private static final Path SANDBOXD_JAR =
      Path.of("..", "sandboxd", "target", "agentcube-sandboxd.jar").toAbsolutePath().normalize();
  private static final String CI = "/v1/namespaces/default/code-interpreters/python/invocations";

  @TempDir
  static Path tmp;
  private static ProxyFixture f;

  @BeforeAll
  static void start() throws Exception {
    TestRuntimes.write(tmp.resolve("runtimes"), "python.yaml", TestRuntimes.python(2));
    f = ProxyFixture.start(tmp.resolve("runtimes"), tmp.resolve("state"), false, Map.of(
        "process.sandboxdCommand", List.of("java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
            "-jar", SANDBOXD_JAR.toString(), "--host", "127.0.0.1")));
  }

  @AfterAll
  static void stop() throws Exception {
    f.close();
  }

  private HttpResponse<String> post(String path, String sessionId, JsonObject body) throws Exception {
    return f.send("POST", CI + path, body.encode(), sessionId);
  }

  private static JsonObject execute(String... argv) {
    return new JsonObject().put("command", new JsonArray(List.of((Object[]) argv))).put("timeout", "30s");
  }

  @Test
  void execute_throughProxy_runsInTheSessionsSandbox() throws Exception {
    HttpResponse<String> r = post("/api/execute", null, execute("python3", "-c", "print(6*7)"));
    JsonObject out = json(r, 200);
    assertThat(out.getString("stdout")).isEqualTo("42\n");
    assertThat(out.getInteger("exit_code")).isZero();
    assertThat(sessionId(r)).isNotBlank();

    JsonObject failed = json(post("/api/execute", sessionId(r), execute("bash", "-c", "echo oops >&2; exit 3")), 200);
    assertThat(failed.getInteger("exit_code")).isEqualTo(3);
    assertThat(failed.getString("stderr")).isEqualTo("oops\n");
  }

  @Test
  void files_uploadBothFormsDownloadByteIdentical_andPersistAcrossRequests() throws Exception {
    String id = sessionId(post("/api/execute", null, execute("true")));
    byte[] binary = new byte[300_000];
    new Random(7).nextBytes(binary);

    JsonObject up = json(post("/api/files", id, new JsonObject().put("path", "in/data.bin")
        .put("content", Base64.getEncoder().encodeToString(binary)).put("mode", "0600")), 200);
    assertThat(up.getLong("size")).isEqualTo(binary.length);

    String boundary = "----agentcube" + System.nanoTime();
    byte[] multipart = multipart(boundary, "script.py",
        "import hashlib\nprint(hashlib.sha256(open('in/data.bin','rb').read()).hexdigest())\n"
            .getBytes(StandardCharsets.UTF_8));
    HttpResponse<String> mp = f.http.send(HttpRequest.newBuilder(f.uri(CI + "/api/files"))
        .header(ProxyFixture.SESSION, id)
        .header("Content-Type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.ofByteArray(multipart)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(json(mp, 200).getString("path")).isEqualTo("script.py");

    JsonObject ran = json(post("/api/execute", id, execute("python3", "script.py")), 200);
    assertThat(ran.getString("stdout").trim()).isEqualTo(sha256(binary));

    HttpResponse<byte[]> down = f.http.send(HttpRequest.newBuilder(f.uri(CI + "/api/files/in/data.bin"))
        .header(ProxyFixture.SESSION, id).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(down.body()).isEqualTo(binary);

    JsonObject list = json(f.get(CI + "/api/files?path=.", id), 200);
    assertThat(list.getJsonArray("files").stream().map(o -> ((JsonObject) o).getString("name")))
        .contains("in", "script.py");
  }

  @Test
  void twoSessions_haveSeparateWorkspaces() throws Exception {
    String a = sessionId(post("/api/execute", null, execute("bash", "-c", "echo secret > mine.txt")));
    String b = sessionId(post("/api/execute", null, execute("true")));
    assertThat(a).isNotEqualTo(b);

    assertThat(json(post("/api/execute", a, execute("cat", "mine.txt")), 200).getString("stdout")).isEqualTo("secret\n");
    JsonObject inB = json(post("/api/execute", b, execute("bash", "-c", "ls; test -e mine.txt")), 200);
    assertThat(inB.getInteger("exit_code")).as("b does not see a's file").isNotZero();
    assertThat(f.get(CI + "/api/files/mine.txt", b).statusCode()).isEqualTo(404);
  }

  @Test
  void sandbox_refusesCallsThatDoNotComeThroughTheProxy() throws Exception {
    HttpResponse<String> r = post("/api/execute", null, execute("true"));
    String endpoint = json(f.get("/v1/sessions/" + sessionId(r), null), 200)
        .getJsonArray("entryPoints").getJsonObject(0).getString("endpoint");
    HttpResponse<String> direct = f.http.send(HttpRequest.newBuilder(URI.create("http://" + endpoint + "/api/execute"))
        .header("Authorization", "Bearer forged.token.value")
        .POST(HttpRequest.BodyPublishers.ofString(execute("true").encode())).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(direct.statusCode()).isEqualTo(401);
    HttpResponse<String> none = f.http.send(HttpRequest.newBuilder(URI.create("http://" + endpoint + "/api/execute"))
        .POST(HttpRequest.BodyPublishers.ofString(execute("true").encode())).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(none.statusCode()).isEqualTo(401);
  }

  /**
   * Sessions share the sandbox host's address; the signed token (its {@code sandbox_id}) picks the
   * workspace, so another session's valid token reaches only that session's own workspace, and no
   * session token manages the host.
   */
  @Test
  void sessionToken_reachesOnlyItsOwnWorkspace() throws Exception {
    String a = sessionId(post("/api/execute", null, execute("bash", "-c", "echo secret > mine.txt")));
    String b = sessionId(post("/api/execute", null, execute("true")));
    String endpointA = json(f.get("/v1/sessions/" + a, null), 200)
        .getJsonArray("entryPoints").getJsonObject(0).getString("endpoint");
    String tokenA = f.proxy.tokens().authorization(a);
    String tokenB = f.proxy.tokens().authorization(b);

    JsonObject withB = json(direct(endpointA, "/api/execute", tokenB, execute("cat", "mine.txt")), 200);
    assertThat(withB.getInteger("exit_code")).as("b's token, a's address: b's workspace").isNotZero();
    assertThat(withB.getString("stdout")).doesNotContain("secret");
    JsonObject withA = json(direct(endpointA, "/api/execute", tokenA, execute("cat", "mine.txt")), 200);
    assertThat(withA.getString("stdout")).isEqualTo("secret\n");

    HttpResponse<String> manage = direct(endpointA, "/host/v1/sandboxes", tokenA,
        new JsonObject().put("id", "intruder"));
    assertThat(manage.statusCode()).as("a session token on the host's admin API").isEqualTo(401);
  }

  private HttpResponse<String> direct(String endpoint, String path, String token, JsonObject body)
      throws Exception {
    return f.http.send(HttpRequest.newBuilder(URI.create("http://" + endpoint + path))
        .header("Authorization", token).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body.encode())).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static byte[] multipart(String boundary, String path, byte[] content) {
    String head = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\n" + path + "\r\n"
        + "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + path + "\"\r\n"
        + "Content-Type: application/octet-stream\r\n\r\n";
    String tail = "\r\n--" + boundary + "--\r\n";
    byte[] h = head.getBytes(StandardCharsets.UTF_8);
    byte[] t = tail.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[h.length + content.length + t.length];
    System.arraycopy(h, 0, out, 0, h.length);
    System.arraycopy(content, 0, out, h.length, content.length);
    System.arraycopy(t, 0, out, h.length + content.length, t.length);
    return out;
  }

  private static String sha256(byte[] data) throws Exception {
    return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(data));
  }
}
