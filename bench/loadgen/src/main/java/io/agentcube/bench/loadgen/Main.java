package io.agentcube.bench.loadgen;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.TimeUnit;

/**
 * The benchmark's own load generator and reference forwarders. One JSON object on stdout per run
 * (latencies in microseconds), progress on stderr.
 *
 * <pre>
 *   rate     open-loop at a fixed rate, latency from each request's intended send time (T2)
 *   sessions open-loop new-session requests interleaved with requests of one existing session (T3)
 *   cold     first request of a new session on an empty pool vs the raw start of the same command (T4)
 *   burst    N requests at once (or at most C in flight), errors, p99, total time (T5, T6 set-up)
 *   vhp      a bare vertx-http-proxy with a fixed origin (reference contender of T1)
 *   fwd      a bare hand-rolled Vert.x HttpClient forwarder (reference contender of T1)
 * </pre>
 */
public final class Main {

  private Main() {}

  public static void main(String[] argv) throws Exception {
    if (argv.length == 0) {
      System.err.println("usage: loadgen rate|sessions|cold|burst|vhp|fwd --flag=value ...");
      System.exit(2);
    }
    Args args = new Args(argv, 1);
    String mode = argv[0];
    if (mode.equals("vhp") || mode.equals("fwd")) {
      BareProxy.run(mode, args);
      return;
    }
    // epoll by default: its timers have microsecond resolution, which the open-loop pacer needs.
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1)
        .setPreferNativeTransport(Boolean.parseBoolean(args.string("native", "true"))));
    int code = 0;
    try {
      JsonObject result = switch (mode) {
        case "rate", "sessions" -> OpenLoop.run(vertx, mode, args);
        case "cold" -> ColdStart.run(vertx, args);
        case "burst" -> Burst.run(vertx, args);
        default -> throw new IllegalArgumentException("unknown mode " + mode);
      };
      System.out.println(result.encode());
    } catch (IllegalArgumentException e) {
      System.err.println("loadgen: " + e.getMessage());
      code = 2;
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    System.exit(code);
  }

  /** Waits for a future from a thread that is not an event loop, at most {@code seconds}. */
  static <T> T await(Future<T> future, long seconds) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(seconds, TimeUnit.SECONDS);
  }
}
