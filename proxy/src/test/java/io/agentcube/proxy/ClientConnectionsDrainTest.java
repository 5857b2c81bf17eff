package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerResponse;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link ClientConnections#drain}: keep-alive clients get {@code Connection: close} on their next
 * response and the connection is closed after it; a response in progress when the drain begins
 * still ends whole. A real Vert.x server on port 0 and raw sockets, so every header byte is seen.
 */
class ClientConnectionsDrainTest {

  private Vertx vertx;
  private HttpServer server;
  private ClientConnections connections;
  /** Responses of {@code /hold} waiting for the test to end them. */
  private final ConcurrentLinkedQueue<HttpServerResponse> held = new ConcurrentLinkedQueue<>();

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    connections = new ClientConnections(100, 0);
    server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .connectionHandler(connections)
        .requestHandler(req -> {
          if (req.path().equals("/hold")) {
            held.add(req.response());
          } else {
            req.response().end("ok");
          }
        });
    server.listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void drain_keepAliveConnection_nextResponseSaysCloseAndTheConnectionCloses() throws Exception {
    try (Socket s = socket()) {
      assertThat(get(s, "/")).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("connection: close");

      connections.drain(10_000).get(5, TimeUnit.SECONDS);

      assertThat(get(s, "/")).startsWith("HTTP/1.1 200").containsIgnoringCase("connection: close");
      assertThat(s.getInputStream().read()).as("closed after that response").isEqualTo(-1);
    }
  }

  @Test
  void drain_connectionAcceptedWhileDraining_alsoToldToClose() throws Exception {
    connections.drain(10_000).get(5, TimeUnit.SECONDS);
    try (Socket s = socket()) {
      assertThat(get(s, "/")).startsWith("HTTP/1.1 200").containsIgnoringCase("connection: close");
      assertThat(s.getInputStream().read()).isEqualTo(-1);
    }
  }

  @Test
  void drain_responseInProgress_endsWholeWithCloseThenTheConnectionCloses() throws Exception {
    try (Socket s = socket()) {
      RawHttp.sendGet(s, "/hold");
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> !held.isEmpty());

      connections.drain(10_000).get(5, TimeUnit.SECONDS);
      HttpServerResponse response = held.poll();
      Promise<Void> ended = Promise.promise();
      vertx.runOnContext(v -> response.end("late").onComplete(ended));
      ended.future().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);

      String head = RawHttp.readUntil(s.getInputStream(), "\r\n\r\n");
      assertThat(head).startsWith("HTTP/1.1 200").containsIgnoringCase("connection: close");
      assertThat(new String(s.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("late");
      assertThat(s.getInputStream().read()).isEqualTo(-1);
    }
  }

  @Test
  void closeAll_closesEveryOpenConnection_andCountsThem() throws Exception {
    try (Socket a = socket(); Socket b = socket()) {
      assertThat(get(a, "/")).startsWith("HTTP/1.1 200");
      assertThat(get(b, "/")).startsWith("HTTP/1.1 200");

      assertThat(connections.closeAll()).isEqualTo(2);

      assertThat(a.getInputStream().read()).isEqualTo(-1);
      assertThat(b.getInputStream().read()).isEqualTo(-1);
    }
  }

  private Socket socket() throws IOException {
    return RawHttp.connect(server.actualPort(), 5_000);
  }

  /** A GET on {@code s}: its response head, the 2-byte body {@code ok} read after it. */
  private static String get(Socket s, String path) throws IOException {
    RawHttp.sendGet(s, path);
    String head = RawHttp.readUntil(s.getInputStream(), "\r\n\r\n");
    assertThat(new String(s.getInputStream().readNBytes(2), StandardCharsets.US_ASCII)).isEqualTo("ok");
    return head;
  }
}
