package io.agentcube.bench.loadgen;

import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * Open-loop load at a fixed rate, corrected for coordinated omission: request {@code k} is due at
 * {@code start + k / rate}, and its latency is measured from that intended time, not from when
 * it was actually sent. A slow response therefore cannot hide the requests that queue behind it
 * (they are still due on schedule, wait in the client's connection pool, and count their wait).
 *
 * <h2>Threads</h2>
 * A pacer thread wakes up when the next request is due and hands every due request to the one
 * event loop ({@code runOnContext}); sending, response handling and all recording happen on that
 * event loop, so the histograms need no locks. The pacer's own lateness is recorded
 * ({@code sendLag}) so a run whose generator could not keep up shows it.
 *
 * <h2>Streams</h2>
 * {@code rate}: one stream to {@code --url}. {@code sessions}: two streams interleaved, each at
 * {@code --rate}: {@code new} (no session header: the first request of a new session, which is
 * deleted right after its response, off the measurement) and {@code existing} (requests of one
 * live session given by {@code --header}).
 */
final class OpenLoop {

  static final String SESSION_HEADER = "x-agentcube-session-id";
  /** Requests in flight or queued in the client at most; beyond it a due request is dropped (an error). */
  private static final int MAX_OUTSTANDING = 20_000;

  private OpenLoop() {}

  /** One kind of request in the schedule, with its own counters. Event-loop confined. */
  private static final class Stream {
    final String name;
    final RequestOptions options;
    final boolean newSession;
    final Histogram corrected = new Histogram(3);
    final Histogram service = new Histogram(3);
    final TreeMap<Integer, Long> statuses = new TreeMap<>();
    long ok;
    long errors;
    long dropped;
    String lastError;

    Stream(String name, RequestOptions options, boolean newSession) {
      this.name = name;
      this.options = options;
      this.newSession = newSession;
    }

    JsonObject toJson() {
      return new JsonObject().put("ok", ok).put("errors", errors).put("dropped", dropped)
          .put("statuses", new JsonObject(new TreeMap<String, Object>(statusMap())))
          .put("lastError", lastError)
          .put("latency_us", summary(corrected))
          .put("service_time_us", summary(service));
    }

    private java.util.Map<String, Object> statusMap() {
      java.util.Map<String, Object> m = new TreeMap<>();
      statuses.forEach((k, v) -> m.put(Integer.toString(k), v));
      return m;
    }
  }

  static JsonObject summary(Histogram h) {
    if (h.getTotalCount() == 0) {
      return new JsonObject().put("count", 0);
    }
    return new JsonObject().put("count", h.getTotalCount())
        .put("p50", h.getValueAtPercentile(50)).put("p90", h.getValueAtPercentile(90))
        .put("p99", h.getValueAtPercentile(99)).put("p999", h.getValueAtPercentile(99.9))
        .put("max", h.getMaxValue()).put("mean", Math.round(h.getMean() * 10) / 10.0);
  }

  static JsonObject run(Vertx vertx, String mode, Args args) throws Exception {
    double rate = args.number("rate", 1000);
    double warmupS = args.number("warmup", 3);
    double durationS = args.number("duration", 10);
    int connections = args.integer("connections", 64);
    if (rate <= 0 || durationS <= 0 || warmupS < 0) {
      throw new IllegalArgumentException("rate and duration must be > 0, warmup >= 0");
    }
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true)
        .setTcpNoDelay(true).setKeepAliveTimeout(600), new PoolOptions().setHttp1MaxSize(connections));
    HttpClient deletes = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(8));

    List<Stream> streams = new ArrayList<>();
    List<String[]> headers = parseHeaders(args.all("header"));
    if (mode.equals("rate")) {
      streams.add(new Stream("requests", options(args.string("url"), headers), false));
    } else {
      streams.add(new Stream("new", options(args.string("new-url"), List.of()), true));
      streams.add(new Stream("existing", options(args.string("url"), headers), false));
    }
    String deletePrefix = args.string("delete-prefix", null);

    int n = streams.size();
    double totalRate = rate * n;
    long intervalNanos = Math.max(1, Math.round(1e9 / totalRate));
    long warmupCount = Math.round(warmupS * totalRate);
    long total = warmupCount + Math.round(durationS * totalRate);

    Context ctx = vertx.getOrCreateContext();
    AtomicLong completed = new AtomicLong();
    Histogram sendLag = new Histogram(3);
    long[] outstanding = new long[1];
    AtomicLong deletesSent = new AtomicLong();
    AtomicLong deletesDone = new AtomicLong();
    AtomicLong deletesFailed = new AtomicLong();

    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
    long scheduled = 0;
    // The pacer: bounded by `total` requests; each loop either hands due requests over or parks.
    while (scheduled < total) {
      long now = System.nanoTime();
      long due = now < start ? 0 : Math.min(total, (now - start) / intervalNanos + 1);
      if (due > scheduled) {
        long from = scheduled;
        long to = due;
        ctx.runOnContext(v -> {
          for (long k = from; k < to; k++) {
            Stream s = streams.get((int) (k % n));
            long intended = start + k * intervalNanos;
            boolean record = k >= warmupCount;
            long sent = System.nanoTime();
            if (record) {
              sendLag.recordValue(Math.max(0, (sent - intended) / 1000));
            }
            if (outstanding[0] >= MAX_OUTSTANDING) {
              if (record) {
                s.dropped++;
              }
              completed.incrementAndGet();
              continue;
            }
            outstanding[0]++;
            client.request(s.options)
                .compose(req -> req.send().compose(resp -> resp.body().map(b -> resp)))
                .onComplete(ar -> {
                  long end = System.nanoTime();
                  outstanding[0]--;
                  if (ar.succeeded()) {
                    HttpClientResponse resp = ar.result();
                    int status = resp.statusCode();
                    if (record) {
                      s.statuses.merge(status, 1L, Long::sum);
                    }
                    if (status / 100 == 2) {
                      if (record) {
                        s.ok++;
                        s.corrected.recordValue(Math.max(1, (end - intended) / 1000));
                        s.service.recordValue(Math.max(1, (end - sent) / 1000));
                      }
                      String id = resp.getHeader(SESSION_HEADER);
                      if (s.newSession && id != null && deletePrefix != null) {
                        deletesSent.incrementAndGet();
                        deletes.request(new RequestOptions().setMethod(HttpMethod.DELETE)
                                .setAbsoluteURI(deletePrefix + id).setIdleTimeout(30_000))
                            .compose(req -> req.send().compose(HttpClientResponse::body))
                            .onComplete(d -> {
                              deletesDone.incrementAndGet();
                              if (d.failed()) {
                                deletesFailed.incrementAndGet();
                              }
                            });
                      }
                    } else if (record) {
                      s.errors++;
                      s.lastError = "status " + status;
                    }
                  } else if (record) {
                    s.errors++;
                    s.lastError = String.valueOf(ar.cause());
                  }
                  completed.incrementAndGet();
                });
          }
        });
        scheduled = due;
      }
      if (scheduled < total) {
        long wait = start + scheduled * intervalNanos - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
        }
      }
    }
    // Bounded drain: every request ends by its idle timeout; give up after 20 s.
    long drainDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (completed.get() < total && System.nanoTime() < drainDeadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
    }
    long elapsedNanos = System.nanoTime() - start;
    Promise<JsonObject> result = Promise.promise();
    ctx.runOnContext(v -> {
      JsonObject byStream = new JsonObject();
      long recordedOk = 0;
      for (Stream s : streams) {
        byStream.put(s.name, s.toJson());
        recordedOk += s.ok;
      }
      result.complete(new JsonObject().put("mode", mode).put("rate_per_stream", rate)
          .put("warmup_s", warmupS).put("duration_s", durationS).put("connections", connections)
          .put("scheduled", total).put("unfinished", total - completed.get())
          .put("achieved_ok_rate", Math.round(recordedOk / durationS))
          .put("elapsed_s", elapsedNanos / 1e9)
          .put("send_lag_us", summary(sendLag))
          .put("deletes", new JsonObject().put("sent", deletesSent.get()).put("failed", deletesFailed.get()))
          .put("streams", byStream));
    });
    JsonObject json = Main.await(result.future(), 10);
    // Let the last session deletes finish before the JVM goes (bounded: 10 s).
    long deleteDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (deletesDone.get() < deletesSent.get() && System.nanoTime() < deleteDeadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
    return json;
  }

  static RequestOptions options(String url, List<String[]> headers) {
    RequestOptions o = new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(url)
        .setIdleTimeout(30_000).setConnectTimeout(60_000); // pool waits count as latency, not errors
    for (String[] h : headers) {
      o.putHeader(h[0], h[1]);
    }
    return o;
  }

  static List<String[]> parseHeaders(List<String> raw) {
    List<String[]> out = new ArrayList<>();
    for (String h : raw) {
      int colon = h.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("--header wants 'name: value', got " + h);
      }
      out.add(new String[] {h.substring(0, colon).trim(), h.substring(colon + 1).trim()});
    }
    return out;
  }
}
