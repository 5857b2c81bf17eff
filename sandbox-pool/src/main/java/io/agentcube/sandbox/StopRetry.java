package io.agentcube.sandbox;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a sandbox stop until it succeeds: a stop that fails (the API server or the sandbox host
 * unreachable, no file descriptor left, a file that cannot be removed) is tried again after a
 * pause that doubles from {@code firstDelayMs} up to {@code maxDelayMs}, so a sandbox is never
 * forgotten while it still runs. The returned future completes when an attempt succeeded; a
 * proxy that stops meanwhile bounds its wait with {@code shutdown.timeout}, and its next start
 * finds what is left (docs/operations.md).
 */
public final class StopRetry {

  private static final Logger log = LoggerFactory.getLogger(StopRetry.class);

  private StopRetry() {
  }

  public static Future<Void> untilDone(Vertx vertx, String what, Supplier<Future<Void>> attempt,
      long firstDelayMs, long maxDelayMs) {
    Promise<Void> done = Promise.promise();
    run(vertx, what, attempt, firstDelayMs, maxDelayMs, done, 1);
    return done.future();
  }

  private static void run(Vertx vertx, String what, Supplier<Future<Void>> attempt, long delayMs,
      long maxDelayMs, Promise<Void> done, int tries) {
    Future<Void> f;
    try {
      f = attempt.get();
    } catch (RuntimeException e) {
      f = Future.failedFuture(e);
    }
    f.onComplete(ar -> {
      if (ar.succeeded()) {
        if (tries > 1) {
          log.info("stopped {} after {} attempts", what, tries);
        }
        done.tryComplete();
      } else {
        log.warn("stopping {} failed (attempt {}), retrying in {} ms: {}", what, tries, delayMs,
            ar.cause().getMessage());
        vertx.setTimer(delayMs, id -> run(vertx, what, attempt, Math.min(maxDelayMs, delayMs * 2),
            maxDelayMs, done, tries + 1));
      }
    });
  }
}
