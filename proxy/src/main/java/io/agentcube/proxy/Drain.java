package io.agentcube.proxy;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The graceful drain before a stop (SIGTERM): the proxy leaves its load balancer's rotation and
 * lets what is in flight finish, then {@link AgentCubeProxy#close} stops the sandboxes.
 *
 * <p>In order, from {@link #start}:
 * <ol>
 *   <li>at once: {@code /health/ready} answers {@code 503 SHUTTING_DOWN}; new sessions (an
 *       invocation without a session id, {@code POST /v1/agent-runtime|code-interpreter}) are
 *       answered {@code 503 SHUTTING_DOWN} with {@code Retry-After}; requests of existing sessions
 *       are served as before; every response carries {@code Connection: close} and its connection
 *       is closed after it ({@link ClientConnections#drain});</li>
 *   <li>for {@code grace} the listener keeps accepting, so that clients and a load balancer that
 *       has not yet seen the readiness change are still answered;</li>
 *   <li>then the listener closes ({@link HttpServer#shutdown(long, TimeUnit) Vert.x's graceful
 *       server shutdown}): idle connections close now; a connection with a response in progress
 *       (a slow request, an SSE or chunked stream, a cold start still waiting for its sandbox)
 *       closes when that response ends; a WebSocket tunnel when either side closes it;</li>
 *   <li>{@code timeout} after the listener closed, whatever is still open is closed.</li>
 * </ol>
 * So a drain takes at most {@code grace + timeout}; the future of {@link #start} completes then
 * (never fails).
 *
 * <p>Thread-safe. The hot path reads nothing of it: only {@link SessionRouter#open} (one volatile
 * read per new session) and connections accepted while draining see the drain.
 */
final class Drain {

  enum Phase { RUNNING, DRAINING, DRAINED }

  private static final Logger log = LoggerFactory.getLogger(Drain.class);

  /** Retry-After of refused new sessions: another replica can take them at once. */
  static final Duration RETRY_AFTER = Duration.ofSeconds(1);
  private static final long BACKSTOP_MS = 1_000;

  private final Vertx vertx;
  private final Duration grace;
  private final Duration timeout;
  private volatile Phase phase = Phase.RUNNING;
  private Future<Void> done;

  Drain(Vertx vertx, Duration grace, Duration timeout) {
    this.vertx = vertx;
    this.grace = grace;
    this.timeout = timeout;
  }

  Phase phase() {
    return phase;
  }

  /** The refusal new sessions get while draining. */
  static AgentCubeException refusal() {
    return AgentCubeException.retryLater(ErrorCode.SHUTTING_DOWN,
        "the proxy is shutting down; start the session on another replica", RETRY_AFTER);
  }

  /**
   * Runs the drain (see the class comment) on {@code server}. Idempotent: a second call returns
   * the first's future. @return completes when the listener is closed and every client connection
   * has ended or been closed at the timeout
   */
  synchronized Future<Void> start(HttpServer server, ClientConnections connections, SessionRouter sessions) {
    if (done != null) {
      return done;
    }
    long started = System.nanoTime();
    phase = Phase.DRAINING;
    sessions.refuseNewSessions(refusal());
    connections.drain(grace.plus(timeout).toMillis() + BACKSTOP_MS);
    log.info("drain started grace={}ms timeout={}ms connections={} sessionsInFlight={}",
        grace.toMillis(), timeout.toMillis(), connections.open(),
        sessions.list(s -> s.inFlight() > 0).size());
    Promise<Void> drained = Promise.promise();
    Runnable shutdown = () -> {
      log.info("drain: listener closing after grace, connections={}", connections.open());
      // The timeout is ours, so that what it cuts is counted; Vert.x's own comes a moment later
      // as a backstop.
      long deadline = vertx.setTimer(Math.max(1, timeout.toMillis()), id -> {
        int left = connections.closeAll();
        if (left > 0) {
          log.warn("drain timeout: closing connections still open count={}", left);
        }
      });
      server.shutdown(timeout.toMillis() + BACKSTOP_MS, TimeUnit.MILLISECONDS).onComplete(ar -> {
        vertx.cancelTimer(deadline);
        phase = Phase.DRAINED;
        log.info("drain finished durationMs={} connectionsLeft={}",
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), connections.open());
        drained.complete();
      });
    };
    if (grace.isZero()) {
      shutdown.run();
    } else {
      vertx.setTimer(grace.toMillis(), id -> shutdown.run());
    }
    done = drained.future();
    return done;
  }
}
