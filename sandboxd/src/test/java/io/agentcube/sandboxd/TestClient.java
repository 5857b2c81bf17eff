package io.agentcube.sandboxd;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/** A small blocking HTTP/1.1 client for one sandboxd, on the JDK's HttpClient. */
final class TestClient {

  /** A response with its body; {@link #json()} parses it. */
  record Response(int status, java.net.http.HttpHeaders headers, byte[] body) {
    Map<String, Object> json() {
      try {
        return Json.readObject(new ByteArrayInputStream(body));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    String header(String name) {
      return headers.firstValue(name).orElse(null);
    }
  }

  private final HttpClient http = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5))
      .build();
  private final String base;
  private volatile String token;

  TestClient(int port) {
    this.base = "http://127.0.0.1:" + port;
  }

  /** Sends {@code Authorization: Bearer token} from now on; null sends none. */
  TestClient token(String token) {
    this.token = token;
    return this;
  }

  HttpRequest.Builder request(String rawPathAndQuery) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + rawPathAndQuery))
        .timeout(Duration.ofSeconds(60));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return b;
  }

  Response send(HttpRequest request) {
    try {
      HttpResponse<byte[]> r = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
      return new Response(r.statusCode(), r.headers(), r.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  Response get(String rawPathAndQuery) {
    return send(request(rawPathAndQuery).GET().build());
  }

  Response postJson(String path, Object body) {
    return send(request(path)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(Json.write(body)))
        .build());
  }

  Response postBytes(String path, String contentType, byte[] body) {
    return send(request(path)
        .header("Content-Type", contentType)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body))
        .build());
  }

  Response delete(String rawPath) {
    return send(request(rawPath).DELETE().build());
  }

  /** {@code POST /api/execute} with the given fields. */
  Response execute(Map<String, Object> request) {
    return postJson("/api/execute", request);
  }
}
