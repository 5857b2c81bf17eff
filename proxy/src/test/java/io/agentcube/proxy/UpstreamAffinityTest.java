package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The bound on pinned upstream connections holds when client connections pin at the same time. */
class UpstreamAffinityTest {

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /**
   * Issue 11: the bound was a size check before a put, so client connections on several event
   * loops pinning at once all got in. 64 connections on 16 threads racing for 5 pins: 5 pins.
   */
  @Test
  void reserve_manyConnectionsAtOnce_neverMorePinsThanTheBound() throws Exception {
    List<HttpConnection> downstream = new CopyOnWriteArrayList<>();
    HttpServer server = vertx.createHttpServer().requestHandler(req -> {
      downstream.add(req.connection());
      req.response().end();
    });
    int port = await(server.listen(0, "127.0.0.1")).actualPort();
    HttpClientAgent clients = vertx.createHttpClient(new PoolOptions().setHttp1MaxSize(64));
    List<Future<?>> sent = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      sent.add(clients.request(HttpMethod.GET, port, "127.0.0.1", "/").compose(r -> r.send()));
    }
    await(Future.all(sent));
    assertThat(downstream).hasSize(64);

    HttpClient upstream = vertx.createHttpClient();
    UpstreamAffinity affinity = new UpstreamAffinity((HttpClientAgent) upstream, 5, 1_000);
    SocketAddress sandbox = SocketAddress.inetSocketAddress(port, "127.0.0.1");
    AtomicInteger granted = new AtomicInteger();
    ExecutorService threads = Executors.newFixedThreadPool(16);
    try {
      CyclicBarrier together = new CyclicBarrier(16);
      List<java.util.concurrent.Future<?>> runs = new ArrayList<>();
      for (int t = 0; t < 16; t++) {
        List<HttpConnection> mine = downstream.subList(t * 4, t * 4 + 4);
        runs.add(threads.submit(() -> {
          together.await(10, TimeUnit.SECONDS);
          for (HttpConnection c : mine) {
            if (affinity.reserve(c, sandbox) != null) {
              granted.incrementAndGet();
            }
          }
          return null;
        }));
      }
      for (var run : runs) {
        run.get(10, TimeUnit.SECONDS);
      }
    } finally {
      threads.shutdownNow();
    }
    assertThat(granted.get()).isEqualTo(5);
    assertThat(affinity.size()).isEqualTo(5);

    // A pinned client connection that closes gives its pin back for the next one.
    await(clients.close());
    Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> affinity.size() == 0);
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
