package io.agentcube.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The production set-up, in real time: the system ticker and Caffeine's system scheduler, no
 * {@code cleanUp()}. The reaper runs on the scheduler's thread, hence Awaitility.
 */
class SessionStoreSchedulerTest {

  private static final Duration IDLE = Duration.ofMillis(300);

  private final List<String> endings = new CopyOnWriteArrayList<>();
  private final SessionStore<String> store = new SessionStore<>(
      new SessionStoreOptions(10, Duration.ofMinutes(10), 100), Ticker.systemTicker(),
      Clock.systemUTC(), Scheduler.systemScheduler(),
      (s, reason) -> endings.add(s.binding() + ":" + reason.tag()));

  @Test
  void reap_systemScheduler_keepsInFlightSessionThenEndsAboutASecondAfterIdle() {
    Session<String> s = store.create("sb1", IDLE, Duration.ofMinutes(5));
    assertThat(store.begin(s.id())).isSameAs(s);

    // Several idle timeouts in flight: the reaper wakes up, finds a request, arms again.
    await().during(Duration.ofMillis(1200)).atMost(Duration.ofSeconds(3))
        .until(() -> endings.isEmpty());
    assertThat(store.armedTimers()).isEqualTo(1);

    long finished = System.nanoTime();
    store.finish(s);
    await().atMost(Duration.ofSeconds(5)).until(() -> !endings.isEmpty());
    Duration afterFinish = Duration.ofNanos(System.nanoTime() - finished);

    assertThat(endings).containsExactly("sb1:idle");
    assertThat(afterFinish).isGreaterThanOrEqualTo(IDLE)
        .as("idle timeout + about a second of scheduler pacing")
        .isLessThan(IDLE.plusMillis(2500));
    assertThat(store.size()).isZero();
    assertThat(store.armedTimers()).isZero();
  }
}
