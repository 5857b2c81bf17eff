package io.agentcube.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class StopRetryTest {

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void untilDone_failsThreeTimes_triedAgainWithDoublingPausesThenDone() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    List<Long> at = new CopyOnWriteArrayList<>();
    Future<Void> done = StopRetry.untilDone(vertx, "test sandbox", () -> {
      at.add(System.nanoTime());
      if (calls.incrementAndGet() <= 3) {
        return calls.get() == 2 ? failThrowing() : Future.failedFuture("API server unreachable");
      }
      return Future.succeededFuture();
    }, 20, 60);

    done.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);

    assertThat(calls.get()).isEqualTo(4);
    // Pauses of 20, 40, then 60 ms (capped), each at least as long as asked.
    assertThat(gapMs(at, 0)).isGreaterThanOrEqualTo(20);
    assertThat(gapMs(at, 1)).isGreaterThanOrEqualTo(40);
    assertThat(gapMs(at, 2)).isGreaterThanOrEqualTo(60);
  }

  @Test
  void untilDone_succeedsAtOnce_oneCall() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    StopRetry.untilDone(vertx, "x", () -> {
      calls.incrementAndGet();
      return Future.succeededFuture();
    }, 1_000, 1_000).toCompletionStage().toCompletableFuture().get(1, TimeUnit.SECONDS);
    assertThat(calls.get()).isEqualTo(1);
  }

  private static Future<Void> failThrowing() {
    throw new IllegalStateException("no file descriptor left");
  }

  private static long gapMs(List<Long> at, int i) {
    return (at.get(i + 1) - at.get(i)) / 1_000_000;
  }
}
