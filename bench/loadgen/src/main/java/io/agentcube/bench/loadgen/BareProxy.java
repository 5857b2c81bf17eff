package io.agentcube.bench.loadgen;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.httpproxy.HttpProxy;
import io.vertx.httpproxy.ProxyOptions;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Reference forwarders for T1, with no session logic, one event loop and a fixed origin, so that
 * the table separates what the proxy's own logic costs from what its forwarding library costs:
 * <ul>
 *   <li>{@code vhp}: vertx-http-proxy as the proxy uses it (same client and server options);</li>
 *   <li>{@code fwd}: a hand-rolled forwarder on the Vert.x {@link HttpClient}: copy the request
 *       head minus hop-by-hop headers, pipe the body, copy the response head, pipe it back.</li>
 * </ul>
 * {@code --native=true} runs either on the epoll transport. Runs until the JVM is stopped.
 */
final class BareProxy {

  private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive",
      "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade");

  private BareProxy() {}

  static void run(String mode, Args args) throws Exception {
    String[] origin = args.string("origin").split(":");
    String host = origin[0];
    int port = Integer.parseInt(origin[1]);
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1)
        .setPreferNativeTransport(args.flag("native")));
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true)
            .setTcpNoDelay(true).setKeepAliveTimeout(60),
        new PoolOptions().setHttp1MaxSize(args.integer("connections", 64)));
    HttpServer server = vertx.createHttpServer(new HttpServerOptions()
        .setHost("127.0.0.1").setPort(args.integer("port", 0)).setTcpNoDelay(true));
    if (mode.equals("vhp")) {
      server.requestHandler(HttpProxy.reverseProxy(new ProxyOptions(), client).origin(port, host));
    } else {
      SocketAddress address = SocketAddress.inetSocketAddress(port, host);
      server.requestHandler(req -> forward(client, address, req));
    }
    int bound = Main.await(server.listen(), 30).actualPort();
    System.out.println("mode=" + mode + " native=" + vertx.isNativeTransportEnabled()
        + " listening on http://127.0.0.1:" + bound);
    System.out.flush();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // exiting anyway
      }
    }));
  }

  private static void forward(HttpClient client, SocketAddress origin, HttpServerRequest req) {
    req.pause();
    RequestOptions options = new RequestOptions().setServer(origin).setMethod(req.method())
        .setURI(req.uri()).setHost(origin.host()).setPort(origin.port());
    client.request(options).onComplete(ar -> {
      if (ar.failed()) {
        req.resume();
        fail(req.response());
        return;
      }
      HttpClientRequest upstream = ar.result();
      MultiMap in = req.headers();
      for (Map.Entry<String, String> h : in) {
        if (!HOP_BY_HOP.contains(h.getKey().toLowerCase())) {
          upstream.headers().add(h.getKey(), h.getValue());
        }
      }
      boolean hasBody = in.contains(HttpHeaders.CONTENT_LENGTH) || in.contains(HttpHeaders.TRANSFER_ENCODING);
      Future<HttpClientResponse> sent = hasBody ? upstream.send(req) : upstream.send();
      if (!hasBody) {
        req.resume();
      }
      sent.onComplete(r -> {
        HttpServerResponse resp = req.response();
        if (r.failed()) {
          fail(resp);
          return;
        }
        HttpClientResponse answer = r.result();
        resp.setStatusCode(answer.statusCode());
        boolean length = false;
        for (Map.Entry<String, String> h : answer.headers()) {
          String name = h.getKey().toLowerCase();
          if (!HOP_BY_HOP.contains(name)) {
            resp.headers().add(h.getKey(), h.getValue());
            length |= name.equals("content-length");
          }
        }
        if (!length) {
          resp.setChunked(true);
        }
        pipe(answer, resp);
      });
    });
  }

  /**
   * Streams the sandbox's body to the client with back-pressure; stops quietly when the client
   * has gone (a plain {@code pipeTo} throws on a response whose connection closed mid-body).
   */
  private static void pipe(HttpClientResponse answer, HttpServerResponse resp) {
    boolean[] gone = new boolean[1];
    resp.closeHandler(v -> gone[0] = true);
    answer.handler(chunk -> {
      if (gone[0] || resp.ended()) {
        return;
      }
      resp.write(chunk);
      if (resp.writeQueueFull()) {
        answer.pause();
        resp.drainHandler(v -> answer.resume());
      }
    });
    answer.endHandler(v -> {
      if (!gone[0] && !resp.ended()) {
        resp.end();
      }
    });
    answer.exceptionHandler(e -> {
      if (!gone[0] && !resp.ended()) {
        resp.reset();
      }
    });
  }

  private static void fail(HttpServerResponse resp) {
    if (!resp.headWritten()) {
      resp.setStatusCode(502).end();
    } else {
      resp.reset();
    }
  }
}
