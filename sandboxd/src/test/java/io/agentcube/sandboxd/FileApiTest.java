package io.agentcube.sandboxd;

import static io.agentcube.sandboxd.ExecuteApiTest.assertError;
import static io.agentcube.sandboxd.ExecuteApiTest.cmd;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /api/files} over real HTTP: upload both ways, download, list, confinement, caps. */
class FileApiTest {

  static final int MAX_BODY = 1 << 20;

  @TempDir static Path workspace;
  @TempDir static Path outside;
  static TestServer server;
  static TestClient client;

  @BeforeAll
  static void start() {
    server = TestServer.start(workspace, o -> o.maxBodyBytes(MAX_BODY));
    client = server.authorized();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static byte[] binary(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  static Map<String, Object> jsonUpload(String path, byte[] content, String mode) {
    return Map.of("path", path, "content", Base64.getEncoder().encodeToString(content),
        "mode", mode);
  }

  @Test
  void upload_json_thenDownloadByteIdentical() {
    byte[] content = binary(300_000, 1); // every byte value, CR/LF and NULs included

    TestClient.Response up = client.postJson("/api/files", jsonUpload("data/blob.bin", content, "0640"));

    assertThat(up.status()).as(up.text()).isEqualTo(200);
    assertThat(up.json()).containsEntry("path", "data/blob.bin").containsEntry("size", content.length)
        .containsEntry("mode", "-rw-r-----").containsKey("modified");
    TestClient.Response down = client.get("/api/files/data/blob.bin");
    assertThat(down.status()).isEqualTo(200);
    assertThat(down.body()).isEqualTo(content);
    assertThat(down.header("Content-Type")).isEqualTo("application/octet-stream");
    assertThat(down.header("Content-Disposition")).isEqualTo("attachment; filename=\"blob.bin\"");
  }

  @Test
  void upload_multipart_thenDownloadByteIdentical() throws Exception {
    // The content contains the boundary's prefix and CRLFs to exercise the scanner.
    String boundary = "----sandboxd-test-boundary";
    byte[] tricky = ("\r\n--" + boundary.substring(0, 10) + "\r\n--").getBytes();
    byte[] content = new byte[200_000];
    byte[] random = binary(content.length, 2);
    System.arraycopy(random, 0, content, 0, content.length);
    System.arraycopy(tricky, 0, content, 65_530, tricky.length);
    byte[] body = new Multipart(boundary)
        .field("path", "up/nested/file.bin")
        .file("file", "file.bin", content)
        .field("mode", "0755")
        .end();

    TestClient.Response up = client.postBytes("/api/files", "multipart/form-data; boundary=" + boundary, body);

    assertThat(up.status()).as(up.text()).isEqualTo(200);
    assertThat(up.json()).containsEntry("path", "up/nested/file.bin")
        .containsEntry("size", content.length).containsEntry("mode", "-rwxr-xr-x");
    assertThat(Files.readAllBytes(workspace.resolve("up/nested/file.bin"))).isEqualTo(content);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(
        workspace.resolve("up/nested/file.bin")))).isEqualTo("rwxr-xr-x");
    assertThat(client.get("/api/files/up/nested/file.bin").body()).isEqualTo(content);
  }

  @Test
  void upload_fileFieldBeforePath_works() {
    byte[] body = new Multipart("b0undary")
        .file("file", "x.txt", "hello".getBytes())
        .field("path", "order/x.txt")
        .end();

    TestClient.Response up = client.postBytes("/api/files", "multipart/form-data; boundary=b0undary", body);

    assertThat(up.status()).as(up.text()).isEqualTo(200);
    assertThat(client.get("/api/files/order/x.txt").text()).isEqualTo("hello");
  }

  @Test
  void upload_streamedChunkedBody_works() {
    byte[] content = binary(500_000, 3);
    byte[] body = new Multipart("chunky").field("path", "chunked.bin").file("file", "c", content).end();
    HttpRequest request = client.request("/api/files")
        .header("Content-Type", "multipart/form-data; boundary=chunky")
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body)))
        .build();

    TestClient.Response up = client.send(request);

    assertThat(up.status()).as(up.text()).isEqualTo(200);
    assertThat(client.get("/api/files/chunked.bin").body()).isEqualTo(content);
  }

  @Test
  void upload_replacesExistingFile_andDefaultsModeTo0644() {
    client.postJson("/api/files", Map.of("path", "same.txt", "content", b64("first")));
    TestClient.Response up = client.postJson("/api/files", Map.of("path", "same.txt",
        "content", b64("second"), "mode", "not-octal"));

    assertThat(up.json()).containsEntry("mode", "-rw-r--r--").containsEntry("size", 6);
    assertThat(client.get("/api/files/same.txt").text()).isEqualTo("second");
  }

  @Test
  void upload_missingFieldsOrBadBase64_returns400() {
    assertError(client.postJson("/api/files", Map.of("content", b64("x"))), 400, "BAD_REQUEST");
    assertError(client.postJson("/api/files", Map.of("path", "a.txt")), 400, "BAD_REQUEST");
    assertError(client.postJson("/api/files", Map.of("path", "a.txt", "content", "@@@not base64")),
        400, "BAD_REQUEST");
    byte[] noFile = new Multipart("bnd").field("path", "nofile.txt").end();
    assertError(client.postBytes("/api/files", "multipart/form-data; boundary=bnd", noFile),
        400, "BAD_REQUEST");
    byte[] truncated = "--bnd\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\nx".getBytes();
    assertError(client.postBytes("/api/files", "multipart/form-data; boundary=bnd", truncated),
        400, "BAD_REQUEST");
  }

  @Test
  void upload_oversizeBody_returns413() {
    byte[] big = binary(MAX_BODY + 1, 4);

    TestClient.Response declared = client.postBytes("/api/files", "multipart/form-data; boundary=x", big);
    HttpRequest chunked = client.request("/api/files")
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> jsonStream(big)))
        .build();
    TestClient.Response streamed = client.send(chunked);

    assertError(declared, 413, "PAYLOAD_TOO_LARGE");
    assertError(streamed, 413, "PAYLOAD_TOO_LARGE");
    assertThat(workspace.resolve("big.bin")).doesNotExist();
  }

  @Test
  void upload_oversizeMultipartStream_returns413AndLeavesNoFile() {
    byte[] body = new Multipart("bnd").field("path", "huge.bin").file("file", "h", binary(MAX_BODY, 5)).end();
    HttpRequest chunked = client.request("/api/files")
        .header("Content-Type", "multipart/form-data; boundary=bnd")
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body)))
        .build();

    assertError(client.send(chunked), 413, "PAYLOAD_TOO_LARGE");
    assertThat(workspace.resolve("huge.bin")).doesNotExist();
  }

  @Test
  void download_missing_returns404AndDirectory_returns400() throws Exception {
    Files.createDirectories(workspace.resolve("adir"));

    assertError(client.get("/api/files/nope.txt"), 404, "NOT_FOUND");
    assertError(client.get("/api/files/adir"), 400, "BAD_REQUEST");
  }

  @Test
  void download_contentTypeByExtension() {
    client.postJson("/api/files", Map.of("path", "t/page.json", "content", b64("{}")));
    client.postJson("/api/files", Map.of("path", "t/notes.txt", "content", b64("n")));

    assertThat(client.get("/api/files/t/page.json").header("Content-Type")).isEqualTo("application/json");
    assertThat(client.get("/api/files/t/notes.txt").header("Content-Type")).startsWith("text/plain");
  }

  @Test
  void download_emptyFile_returnsEmptyBody() {
    client.postJson("/api/files", Map.of("path", "empty.txt", "content", ""));

    TestClient.Response r = client.get("/api/files/empty.txt");

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEmpty();
  }

  @Test
  void list_directory_returnsEntriesSortedWithMetadata() throws Exception {
    client.postJson("/api/files", Map.of("path", "listme/b.txt", "content", b64("bb")));
    client.postJson("/api/files", Map.of("path", "listme/a.txt", "content", b64("a")));
    Files.createDirectories(workspace.resolve("listme/sub"));

    TestClient.Response r = client.get("/api/files?path=listme");

    assertThat(r.status()).isEqualTo(200);
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> files = (List<Map<String, Object>>) r.json().get("files");
    assertThat(files).extracting(f -> f.get("name")).containsExactly("a.txt", "b.txt", "sub");
    assertThat(files.get(1)).containsEntry("size", 2).containsEntry("is_dir", false)
        .containsEntry("mode", "-rw-r--r--").containsKey("modified");
    assertThat(files.get(2)).containsEntry("is_dir", true);
    assertThat((String) files.get(2).get("mode")).startsWith("d");
  }

  @Test
  void list_rootAndErrors() {
    assertThat(client.get("/api/files?path=.").status()).isEqualTo(200);
    assertError(client.get("/api/files"), 400, "BAD_REQUEST");
    assertError(client.get("/api/files?path=no/such/dir"), 404, "NOT_FOUND");
    client.postJson("/api/files", Map.of("path", "plain.txt", "content", b64("p")));
    assertError(client.get("/api/files?path=plain.txt"), 400, "BAD_REQUEST");
  }

  @Test
  void paths_traversalAndAbsoluteOutside_refusedWith400() throws Exception {
    Files.writeString(outside.resolve("secret.txt"), "secret");
    String secret = outside.resolve("secret.txt").toString();

    assertError(client.get("/api/files/..%2F..%2Fetc%2Fpasswd"), 400, "BAD_REQUEST");
    assertError(client.get("/api/files/../../etc/passwd"), 400, "BAD_REQUEST");
    assertError(client.get("/api/files/" + secret.substring(1)), 404, "NOT_FOUND"); // relative!
    assertError(client.get("/api/files?path=" + outside), 400, "BAD_REQUEST");
    assertError(client.get("/api/files?path=..%2F"), 400, "BAD_REQUEST");
    assertError(client.postJson("/api/files", jsonUpload("../escape.txt", "x".getBytes(), "0644")),
        400, "BAD_REQUEST");
    assertError(client.postJson("/api/files", jsonUpload(outside.resolve("abs.txt").toString(),
        "x".getBytes(), "0644")), 400, "BAD_REQUEST");
    assertThat(outside.resolve("abs.txt")).doesNotExist();
    assertThat(workspace.getParent().resolve("escape.txt")).doesNotExist();
  }

  @Test
  void paths_absoluteInsideWorkspace_accepted() throws Exception {
    String abs = workspace.toRealPath().resolve("absolute-ok.txt").toString();

    TestClient.Response up = client.postJson("/api/files", jsonUpload(abs, "ok".getBytes(), "0644"));

    assertThat(up.status()).isEqualTo(200);
    assertThat(up.json()).containsEntry("path", "absolute-ok.txt");
  }

  @Test
  void paths_symlinkEscapes_refusedWith400AndNeverFollowed() throws Exception {
    Files.writeString(outside.resolve("target.txt"), "outside");
    Files.createSymbolicLink(workspace.resolve("link-file"), outside.resolve("target.txt"));
    Files.createSymbolicLink(workspace.resolve("link-dir"), outside);

    assertError(client.get("/api/files/link-file"), 400, "BAD_REQUEST");
    assertError(client.get("/api/files/link-dir/target.txt"), 400, "BAD_REQUEST");
    assertError(client.get("/api/files?path=link-dir"), 400, "BAD_REQUEST");
    assertError(client.postJson("/api/files", jsonUpload("link-dir/planted.txt", "x".getBytes(), "0644")),
        400, "BAD_REQUEST");
    assertError(client.postJson("/api/files", jsonUpload("link-file", "x".getBytes(), "0644")),
        400, "BAD_REQUEST");
    Map<String, Object> inLinkedDir = cmd("pwd");
    inLinkedDir.put("working_dir", "link-dir");
    assertError(client.execute(inLinkedDir), 400, "BAD_REQUEST");

    assertThat(outside.resolve("planted.txt")).doesNotExist();
    assertThat(Files.readString(outside.resolve("target.txt"))).isEqualTo("outside");
  }

  @Test
  void paths_symlinkInsideWorkspace_followed() throws Exception {
    client.postJson("/api/files", Map.of("path", "real/inside.txt", "content", b64("in")));
    Files.createSymbolicLink(workspace.resolve("alias"), workspace.resolve("real"));

    assertThat(client.get("/api/files/alias/inside.txt").text()).isEqualTo("in");
  }

  @Test
  void session_filesPersistAcrossRequests() {
    // Upload, then a command that reads it and writes a result, then download the result.
    client.postJson("/api/files", Map.of("path", "work/input.txt", "content", b64("6 7")));
    Map<String, Object> run = cmd("bash", "-c",
        "read a b < input.txt; echo $((a*b)) > result.txt");
    run.put("working_dir", "work");
    assertThat(client.execute(run).json()).containsEntry("exit_code", 0);

    assertThat(client.get("/api/files/work/result.txt").text()).isEqualTo("42\n");
    assertThat(client.get("/api/files?path=work").json().get("files").toString())
        .contains("input.txt", "result.txt");
  }

  static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes());
  }

  static InputStream jsonStream(byte[] big) {
    byte[] json = ("{\"path\":\"big.bin\",\"content\":\""
        + Base64.getEncoder().encodeToString(big) + "\"}").getBytes();
    return new java.io.ByteArrayInputStream(json);
  }
}
