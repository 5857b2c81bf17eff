package io.agentcube.bench.loadgen;

import io.netty.channel.EventLoop;
import io.vertx.core.Context;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.util.ArrayDeque;
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
 * (they are still due on schedule, wait in the generator's own FIFO for one of the {@code
 * --connections} connections, and count their wait).
 *
 * <h2>Threads</h2>
 * Everything runs on one event loop: a self-rescheduling timer sends each request when it is due,
 * responses are handled and recorded there, so the histograms need no locks. The pacer's own
 * lateness is recorded ({@code sendLag}) so a run whose generator could not keep up shows it.
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
    long total = Math.round(durationS * totalRate);

    Context ctx = vertx.getOrCreateContext();
    EventLoop loop = ((ContextInternal) ctx).nettyEventLoop();
    AtomicLong completed = new AtomicLong();
    Histogram sendLag = new Histogram(3);
    AtomicLong deletesSent = new AtomicLong();
    AtomicLong deletesDone = new AtomicLong();
    AtomicLong deletesFailed = new AtomicLong();

    // Two phases: an unrecorded warm-up (the generator's own JIT, the target's pools), drained
    // before the recorded phase starts on a fresh schedule, so that a backlog built while the
    // generator was cold is not charged to the target.
    Sender sender = new Sender(client, connections, completed, deletes, deletePrefix,
        deletesSent, deletesDone, deletesFailed);
    long elapsedNanos = 0;
    for (int phase = warmupCount > 0 ? 0 : 1; phase < 2; phase++) {
      final boolean record = phase == 1;
      final long count = record ? total : warmupCount;
      completed.set(0);
      long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
      // The pacer runs on the event loop itself (no second thread competing for the core): each
      // tick sends every request due by now, then schedules itself for the next due time (with
      // the epoll transport Netty's timers have microsecond resolution). Bounded by `count`.
      Promise<Void> paced = Promise.promise();
      long[] next = new long[1];
      Runnable[] tick = new Runnable[1];
      tick[0] = () -> {
        long now = System.nanoTime();
        long due = now < start ? 0 : Math.min(count, (now - start) / intervalNanos + 1);
        for (long k = next[0]; k < due; k++) {
          long intended = start + k * intervalNanos;
          if (record) {
            sendLag.recordValue(Math.max(0, (now - intended) / 1000));
          }
          sender.submit(streams.get((int) (k % n)), intended, record);
        }
        next[0] = due;
        if (due < count) {
          long wait = start + due * intervalNanos - System.nanoTime();
          loop.schedule(tick[0], Math.max(wait, 10_000), TimeUnit.NANOSECONDS);
        } else {
          paced.complete();
        }
      };
      ctx.runOnContext(v -> tick[0].run());
      Main.await(paced.future(), (long) (warmupS + durationS) + 120);
      // Bounded drain: every request ends by its idle timeout; give up after 30 s.
      long drainDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (completed.get() < count && System.nanoTime() < drainDeadline) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
      }
      elapsedNanos = System.nanoTime() - start;
    }
    final double elapsedS = elapsedNanos / 1e9;
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
          .put("elapsed_s", elapsedS)
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

  /**
   * Sends due requests on at most {@code connections} connections; a request due while all are
   * busy waits in a FIFO here (O(1), bounded by {@link #MAX_OUTSTANDING}) rather than in the
   * client's pool, and its wait still counts, because latency runs from its intended time.
   * Event-loop confined.
   */
  private static final class Sender {
    private final HttpClient client;
    private final int connections;
    private final AtomicLong completed;
    private final HttpClient deletes;
    private final String deletePrefix;
    private final AtomicLong deletesSent;
    private final AtomicLong deletesDone;
    private final AtomicLong deletesFailed;
    private final ArrayDeque<Object[]> waiting = new ArrayDeque<>();
    private int inFlight;

    Sender(HttpClient client, int connections, AtomicLong completed, HttpClient deletes,
        String deletePrefix, AtomicLong deletesSent, AtomicLong deletesDone, AtomicLong deletesFailed) {
      this.client = client;
      this.connections = connections;
      this.completed = completed;
      this.deletes = deletes;
      this.deletePrefix = deletePrefix;
      this.deletesSent = deletesSent;
      this.deletesDone = deletesDone;
      this.deletesFailed = deletesFailed;
    }

    void submit(Stream s, long intended, boolean record) {
      if (inFlight < connections) {
        send(s, intended, record);
      } else if (waiting.size() < MAX_OUTSTANDING) {
        waiting.add(new Object[] {s, intended, record});
      } else {
        if (record) {
          s.dropped++;
        }
        completed.incrementAndGet();
      }
    }

    private void send(Stream s, long intended, boolean record) {
      inFlight++;
      long sent = System.nanoTime();
      client.request(s.options)
          .compose(req -> req.send().compose(resp -> resp.body().map(b -> resp)))
          .onComplete(ar -> {
            long end = System.nanoTime();
            inFlight--;
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
                  deleteSession(id);
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
            Object[] next = waiting.poll();
            if (next != null) {
              send((Stream) next[0], (Long) next[1], (Boolean) next[2]);
            }
          });
    }

    private void deleteSession(String id) {
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
