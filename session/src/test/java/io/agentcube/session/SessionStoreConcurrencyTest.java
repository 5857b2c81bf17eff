package io.agentcube.session;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Scheduler;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Requests (and keepalives) on one session from several threads while the test thread moves a
 * fake ticker and runs the reaper, round after round until the session ends: idle in most rounds,
 * at its hard deadline in others. Every check is judged only from what the test itself saw
 * complete before, so a reported violation is always a real one.
 */
class SessionStoreConcurrencyTest {

  private static final Duration IDLE = Duration.ofSeconds(1);
  private static final Duration KEEPALIVE = IDLE.multipliedBy(2);
  private static final Duration MAX = Duration.ofSeconds(10);
  private static final long MS = Duration.ofMillis(1).toNanos();
  private static final int WORKERS = 3;
  private static final int ROUNDS = 100;

  private final Clock clock = Clock.fixed(Instant.parse("2026-11-27T10:00:00Z"), ZoneOffset.UTC);

  @Test
  void beginFinish_racingReaperAndTicker_keepsEveryInvariant() throws InterruptedException {
    int idleEnds = 0;
    int maxEnds = 0;
    for (int round = 0; round < ROUNDS; round++) {
      // A third of the rounds leave gaps too short to go idle: those run to the hard deadline.
      Round r = new Round(round % 3 == 0 ? IDLE.toNanos() / 4 : IDLE.toNanos() * 2);
      r.run();
      assertThat(r.violations).as("round %d", round).isEmpty();
      assertThat(r.ends).as("round %d: ends told", round).hasValue(1);
      assertThat(r.session.inFlight()).as("round %d: every admitted request finished", round)
          .isZero();
      assertThat(r.store.size()).isZero();
      assertThat(r.store.armedTimers()).isZero();
      assertThat(r.store.endedReason(r.session.id())).isEqualTo(r.reason.get());
      if (r.reason.get() == EndReason.IDLE) {
        idleEnds++;
      } else {
        maxEnds++;
      }
    }
    assertThat(idleEnds).isPositive();
    assertThat(maxEnds).isPositive();
  }

  /** One session, its workers, and the test thread driving time. */
  private final class Round {
    final FakeTicker ticker = new FakeTicker();
    final List<String> violations = new CopyOnWriteArrayList<>();
    final AtomicInteger ends = new AtomicInteger();
    final AtomicReference<EndReason> reason = new AtomicReference<>();
    /** Threads between calling begin and the return of their finish (or of a null begin). */
    final AtomicInteger busy = new AtomicInteger();
    /** Requests between a non-null begin and the call of their finish. */
    final AtomicInteger inRequest = new AtomicInteger();
    /**
     * Ticker just before / just after the latest finish or successful keepalive that has
     * returned: D is at least the "start" bounds and at most the "end" bounds (+ 1 ms rounding).
     * Creation counts as a finish; no keepalive promises anything before creation.
     */
    final AtomicLong lastFinishStart = new AtomicLong(ticker.read());
    final AtomicLong lastFinishEnd = new AtomicLong(ticker.read());
    final AtomicLong lastKeepaliveStart = new AtomicLong(ticker.read() - KEEPALIVE.toNanos());
    final AtomicLong lastKeepaliveEnd = new AtomicLong(ticker.read() - KEEPALIVE.toNanos());
    final AtomicBoolean endTold = new AtomicBoolean();
    final AtomicBoolean refused = new AtomicBoolean();
    final AtomicBoolean done = new AtomicBoolean();
    final long maxGapNanos;
    final long hardDeadline;
    final SessionStore<String> store;
    final Session<String> session;

    Round(long maxGapNanos) {
      this.maxGapNanos = maxGapNanos;
      this.store = new SessionStore<>(new SessionStoreOptions(10, Duration.ofMinutes(10), 100),
          ticker, clock, Scheduler.disabledScheduler(), this::ended);
      this.hardDeadline = ticker.read() + MAX.toNanos();
      this.session = store.create("sb", IDLE, MAX);
    }

    void ended(Session<String> s, EndReason r) {
      long now = ticker.read();
      ends.incrementAndGet();
      reason.set(r);
      if (r == EndReason.IDLE) {
        if (inRequest.get() > 0) {
          violations.add("ended idle with a request in flight");
        }
        if (now - (lastFinishStart.get() + IDLE.toNanos()) < 0) {
          violations.add("ended idle before the last finish + idle timeout");
        }
        if (now - (lastKeepaliveStart.get() + KEEPALIVE.toNanos()) < 0) {
          violations.add("ended idle before the last keepalive's deadline");
        }
      } else if (r == EndReason.MAX_DURATION) {
        if (now - hardDeadline < 0) {
          violations.add("ended for max duration before the hard deadline");
        }
      } else {
        violations.add("ended for " + r);
      }
      endTold.set(true);
    }

    void run() throws InterruptedException {
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < WORKERS; i++) {
        Thread t = new Thread(this::work, "worker-" + i);
        t.start();
        threads.add(t);
      }
      ThreadLocalRandom random = ThreadLocalRandom.current();
      int afterEnd = 0;
      while (afterEnd < 20 && ticker.read() - (hardDeadline + IDLE.toNanos()) < 0) {
        ticker.advance(Duration.ofNanos(random.nextLong(IDLE.toNanos() / 5)));
        store.cleanUp();
        if (endTold.get()) {
          afterEnd++;
        }
        Thread.yield();
      }
      done.set(true);
      for (Thread t : threads) {
        t.join(10_000);
        assertThat(t.isAlive()).as("%s stopped", t.getName()).isFalse();
      }
    }

    void work() {
      ThreadLocalRandom random = ThreadLocalRandom.current();
      while (!done.get()) {
        boolean toldBefore = endTold.get();
        boolean refusedBefore = refused.get();
        // Alone: no other request admitted and unfinished, no keepalive running; then the store
        // holds nothing in flight and D is at most the bound below.
        boolean alone = busy.incrementAndGet() == 1;
        long start = ticker.read();
        long idleBound = Math.max(lastFinishEnd.get() + IDLE.toNanos(),
            lastKeepaliveEnd.get() + KEEPALIVE.toNanos()) + MS;
        Session<String> s = store.begin(session.id());
        if (s == null) {
          refused.set(true);
          busy.decrementAndGet();
          continue;
        }
        if (toldBefore || refusedBefore) {
          violations.add("a request was admitted after the session ended");
        }
        if (alone && start - idleBound >= 0) {
          violations.add("a request was admitted past the idle deadline");
        }
        if (start - hardDeadline >= 0) {
          violations.add("a request was admitted past the hard deadline");
        }
        inRequest.incrementAndGet();
        waitTicker(random.nextLong(2 * IDLE.toNanos()));
        if (random.nextInt(10) == 0) {
          long kStart = ticker.read();
          if (store.keepalive(session.id(), KEEPALIVE) != null) {
            lastKeepaliveEnd.accumulateAndGet(ticker.read(), Math::max);
            lastKeepaliveStart.accumulateAndGet(kStart, Math::max);
          }
        }
        inRequest.decrementAndGet();
        long fStart = ticker.read();
        store.finish(s);
        lastFinishEnd.accumulateAndGet(ticker.read(), Math::max);
        lastFinishStart.accumulateAndGet(fStart, Math::max);
        busy.decrementAndGet();
        waitTicker(random.nextLong(maxGapNanos));
      }
    }

    /** Waits until the driver has moved the ticker by {@code nanos} (or the round is over). */
    void waitTicker(long nanos) {
      long until = ticker.read() + nanos;
      while (ticker.read() - until < 0 && !done.get()) {
        Thread.yield();
      }
    }
  }
}
