package io.agentcube.bench.loadgen;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * {@code --count} requests with at most {@code --concurrency} in flight (default: all at once),
 * each one opening a new session. Reports errors by status, the latency of each request from its
 * own send, and the total time from the first send to the last answer. The sessions are deleted
 * afterwards (off the clock) unless {@code --keep}.
 *
 * <p>All state is confined to one event loop.
 */
final class Burst {

  private Burst() {}

  static JsonObject run(Vertx vertx, Args args) throws Exception {
    String url = args.string("url");
    int count = args.integer("count", 200);
    int concurrency = Math.min(count, args.integer("concurrency", count));
    HttpMethod method = HttpMethod.valueOf(args.string("method", "GET"));
    String body = args.string("body", null);
    String deletePrefix = args.string("delete-prefix", null);
    boolean keep = args.flag("keep");
    long timeoutMs = args.integer("timeout-ms", 120_000);

    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true)
        .setTcpNoDelay(true), new PoolOptions().setHttp1MaxSize(concurrency).setMaxWaitQueueSize(-1));
    Context ctx = vertx.getOrCreateContext();
    Promise<JsonObject> done = Promise.promise();
    List<String> ids = new ArrayList<>();
    Histogram latency = new Histogram(3);
    TreeMap<String, Long> statuses = new TreeMap<>();
    String[] lastError = new String[1];
    int[] state = new int[3]; // started, finished, ok
    long[] t0 = new long[1];
    long[] lastEnd = new long[1];

    ctx.runOnContext(v -> {
      t0[0] = System.nanoTime();
      Runnable[] next = new Runnable[1];
      next[0] = () -> {
        if (state[0] >= count) {
          return;
        }
        state[0]++;
        long sent = System.nanoTime();
        RequestOptions o = new RequestOptions().setMethod(method).setAbsoluteURI(url)
            .setIdleTimeout(timeoutMs).setConnectTimeout(10_000);
        client.request(o)
            .compose(req -> (body == null ? req.send() : req.send(Buffer.buffer(body)))
                .compose(resp -> resp.body().map(b -> {
                  String id = resp.getHeader(OpenLoop.SESSION_HEADER);
                  return new Object[] {resp.statusCode(), id, b};
                })))
            .onComplete(ar -> {
              long end = System.nanoTime();
              lastEnd[0] = Math.max(lastEnd[0], end);
              state[1]++;
              if (ar.succeeded()) {
                int status = (Integer) ar.result()[0];
                statuses.merge(Integer.toString(status), 1L, Long::sum);
                if (ar.result()[1] != null) {
                  ids.add((String) ar.result()[1]);
                }
                if (status / 100 == 2) {
                  state[2]++;
                  latency.recordValue(Math.max(1, (end - sent) / 1000));
                } else {
                  lastError[0] = "status " + status + ": " + ar.result()[2];
                }
              } else {
                statuses.merge("exception", 1L, Long::sum);
                lastError[0] = String.valueOf(ar.cause());
              }
              if (state[1] == count) {
                done.complete(new JsonObject().put("count", count).put("concurrency", concurrency)
                    .put("ok", state[2]).put("errors", count - state[2])
                    .put("statuses", new JsonObject(new TreeMap<String, Object>(statuses)))
                    .put("lastError", lastError[0])
                    .put("total_ms", (lastEnd[0] - t0[0]) / 1e6)
                    .put("latency_us", OpenLoop.summary(latency))
                    .put("sessions", ids.size()));
              } else {
                next[0].run();
              }
            });
      };
      for (int i = 0; i < concurrency; i++) {
        next[0].run();
      }
    });
    JsonObject result = Main.await(done.future(), timeoutMs / 1000 + 30);
    if (!keep && deletePrefix != null) {
      result.put("deleted", deleteAll(vertx, ctx, deletePrefix, ids));
    }
    return result;
  }

  /** Deletes the sessions, 16 at a time; @return how many deletes answered 2xx. */
  private static int deleteAll(Vertx vertx, Context ctx, String prefix, List<String> ids) throws Exception {
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(16));
    Promise<Integer> all = Promise.promise();
    ctx.runOnContext(v -> {
      List<Future<Integer>> each = new ArrayList<>();
      for (String id : ids) {
        each.add(client.request(new RequestOptions().setMethod(HttpMethod.DELETE)
                .setAbsoluteURI(prefix + id).setIdleTimeout(30_000))
            .compose(req -> req.send().compose(resp -> resp.body().map(b -> resp.statusCode())))
            .recover(x -> Future.succeededFuture(0)));
      }
      Future.join(each).onComplete(ar -> {
        int ok = 0;
        for (Future<Integer> f : each) {
          if (f.succeeded() && f.result() / 100 == 2) {
            ok++;
          }
        }
        all.complete(ok);
      });
    });
    return Main.await(all.future(), 120);
  }
}
