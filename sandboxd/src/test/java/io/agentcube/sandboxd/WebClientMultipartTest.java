package io.agentcube.sandboxd;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.multipart.MultipartForm;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Uploads through Vert.x's WebClient, whose multipart encoder (Netty's) is independent of the
 * hand-built bodies in {@link FileApiTest}: the same kind of client the proxy's tests use.
 */
@ExtendWith(VertxExtension.class)
class WebClientMultipartTest {

  @TempDir static Path workspace;
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start(workspace);
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void upload_webClientMultipartFile_downloadsByteIdentical(Vertx vertx, @TempDir Path local)
      throws Exception {
    byte[] content = new byte[700_000];
    new Random(11).nextBytes(content);
    Path source = Files.write(local.resolve("image.png"), content);
    String token = TestTokens.token(server.keys.getPrivate(), TestServer.SESSION);
    WebClient client = WebClient.create(vertx);

    HttpResponse<Buffer> up = client.post(server.server.port(), "127.0.0.1", "/api/files")
        .bearerTokenAuthentication(token)
        .sendMultipartForm(MultipartForm.create()
            .attribute("path", "pics/image.png")
            .attribute("mode", "0600")
            .binaryFileUpload("file", "image.png", source.toString(), "image/png"))
        .await();
    HttpResponse<Buffer> down = client.get(server.server.port(), "127.0.0.1",
            "/api/files/pics/image.png")
        .bearerTokenAuthentication(token)
        .send()
        .await();

    assertThat(up.statusCode()).as(up.bodyAsString()).isEqualTo(200);
    assertThat(up.bodyAsJsonObject().getString("mode")).isEqualTo("-rw-------");
    assertThat(down.statusCode()).isEqualTo(200);
    assertThat(down.getHeader("Content-Type")).isEqualTo("image/png");
    assertThat(down.body().getBytes()).isEqualTo(content);
    client.close();
  }
}
