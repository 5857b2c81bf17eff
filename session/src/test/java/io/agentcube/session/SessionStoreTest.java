package io.agentcube.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.benmanes.caffeine.cache.Scheduler;
import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class SessionStoreTest {

  private final FakeTicker ticker = new FakeTicker();
  private final List<String> endings = new CopyOnWriteArrayList<>();
  private final Clock clock = Clock.fixed(Instant.parse("2026-11-27T10:00:00Z"), ZoneOffset.UTC);

  private SessionStore<String> store(int max) {
    return new SessionStore<>(new SessionStoreOptions(max, Duration.ofMinutes(10), 100), ticker,
        clock, Scheduler.disabledScheduler(),
        (s, reason) -> endings.add(s.binding() + ":" + reason.tag()));
  }

  private static final Duration IDLE = Duration.ofSeconds(30);
  private static final Duration MAX = Duration.ofMinutes(5);

  @Test
  void reap_idlePastTimeout_endsWithIdleOnce() {
    SessionStore<String> store = store(10);
    Session<String> s = store.create("sb1", IDLE, MAX);

    ticker.advance(Duration.ofSeconds(29));
    store.cleanUp();
    assertThat(store.get(s.id())).isNotNull();

    ticker.advance(Duration.ofSeconds(2));
    store.cleanUp();
    assertThat(store.get(s.id())).isNull();
    assertThat(store.begin(s.id())).isNull();
    assertThat(endings).containsExactly("sb1:idle");
    assertThat(store.endedReason(s.id())).isEqualTo(EndReason.IDLE);
    assertThat(store.size()).isZero();
  }

  @Test
  void reap_requestInFlight_notReapedForIdleness() {
    SessionStore<String> store = store(10);
    Session<String> s = store.create("sb1", IDLE, MAX);
    assertThat(store.begin(s.id())).isSameAs(s);

    ticker.advance(Duration.ofSeconds(90));
    store.cleanUp();
    assertThat(store.get(s.id())).as("slow request keeps the session").isNotNull();
    assertThat(endings).isEmpty();

    store.finish(s);
    ticker.advance(Duration.ofSeconds(29));
    store.cleanUp();
    assertThat(store.get(s.id())).as("idle clock restarts at the request's end").isNotNull();

    ticker.advance(Duration.ofSeconds(2));
    store.cleanUp();
    assertThat(endings).containsExactly("sb1:idle");
  }

  @Test
  void reap_inFlightPastHardDeadline_endsWithMaxDuration() {
    SessionStore<String> store = store(10);
    Session<String> s = store.create("sb1", IDLE, MAX);
    store.begin(s.id());

    ticker.advance(MAX.plusMillis(1));
    store.cleanUp();
    assertThat(store.get(s.id())).isNull();
    assertThat(endings).containsExactly("sb1:max_duration");
  }

  @Test
  void reap_activeClient_endsAtMaxDuration() {
    SessionStore<String> store = store(10);
    Session<String> s = store.create("sb1", IDLE, MAX);
    for (int i = 0; i < 20; i++) {
      ticker.advance(Duration.ofSeconds(20));
      store.begin(s.id());
      store.finish(s);
      store.cleanUp();
    }
    assertThat(store.get(s.id())).as("400 s active, max is 300 s").isNull();
    assertThat(endings).containsExactly("sb1:max_duration");
  }

  @Test
  void keepalive_extendsIdleDeadline_cappedByHardDeadline() {
    SessionStore<String> store = store(10);
    Session<String> s = store.create("sb1", IDLE, MAX);
    assertThat(store.keepalive(s.id(), Duration.ofMinutes(2))).isSameAs(s);

    ticker.advance(Duration.ofSeconds(100));
    store.cleanUp();
    assertThat(store.get(s.id())).isNotNull();
    assertThat(s.idleDeadline()).isEqualTo(s.createdAt().plusSeconds(120));

    assertThat(store.keepalive(s.id(), Duration.ofHours(1))).isSameAs(s);
    assertThat(s.idleDeadline()).isEqualTo(s.hardDeadline());
    ticker.advance(Duration.ofSeconds(201));
    store.cleanUp();
    assertThat(endings).containsExactly("sb1:max_duration");
  }

  @Test
  void end_calledTwice_listenerToldOnce() {
    SessionStore<String> store = store(10);
    Session<String> s = store.create("sb1", IDLE, MAX);

    assertThat(store.end(s.id(), EndReason.DELETED)).isTrue();
    assertThat(store.end(s.id(), EndReason.DELETED)).isFalse();
    assertThat(store.end(s.id(), EndReason.SANDBOX_LOST)).isFalse();
    assertThat(endings).containsExactly("sb1:deleted");
    assertThat(store.endedReason(s.id())).isEqualTo(EndReason.DELETED);
  }

  @Test
  void create_overLimit_failsWithSessionLimitAndFreesOnEnd() {
    SessionStore<String> store = store(2);
    Session<String> a = store.create("a", IDLE, MAX);
    store.create("b", IDLE, MAX);

    assertThatThrownBy(() -> store.create("c", IDLE, MAX))
        .isInstanceOfSatisfying(AgentCubeException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.SESSION_LIMIT));
    assertThatThrownBy(store::reserve).isInstanceOf(AgentCubeException.class);

    store.end(a.id(), EndReason.DELETED);
    assertThat(store.create("c", IDLE, MAX).binding()).isEqualTo("c");
    assertThat(store.size()).isEqualTo(2);
  }

  @Test
  void close_endsEverySessionWithShutdown() {
    SessionStore<String> store = store(10);
    store.create("a", IDLE, MAX);
    store.create("b", IDLE, MAX);
    store.close();
    assertThat(endings).containsExactlyInAnyOrder("a:shutdown", "b:shutdown");
    assertThat(store.size()).isZero();
  }

  @Test
  void begin_pastIdleDeadlineBeforeReap_returnsNullAndEndsIdleOnce() {
    // Pins: a deadline that passed counts even if the reaper has not run yet (no cleanUp here).
    SessionStore<String> store = store(10);
    Session<String> s = store.create("sb1", IDLE, MAX);

    ticker.advance(IDLE);
    assertThat(store.begin(s.id())).isNull();
    assertThat(store.begin(s.id())).isNull();
    store.cleanUp();
    assertThat(endings).containsExactly("sb1:idle");
    assertThat(s.inFlight()).isZero();
    assertThat(store.size()).isZero();
  }

  @Test
  void begin_pastHardDeadlineWithRequestInFlight_returnsNullAndEndsMaxDuration() {
    SessionStore<String> store = store(10);
    Session<String> s = store.create("sb1", IDLE, MAX);
    assertThat(store.begin(s.id())).isSameAs(s);

    ticker.advance(MAX);
    assertThat(store.begin(s.id())).isNull();
    assertThat(endings).containsExactly("sb1:max_duration");

    store.finish(s);
    assertThat(s.inFlight()).isZero();
    assertThat(s.endReason()).isEqualTo(EndReason.MAX_DURATION);
    store.cleanUp();
    assertThat(endings).hasSize(1);
  }

  @Test
  void finish_lastOfTwo_restartsIdleClockAtLastFinishOnly() {
    SessionStore<String> store = store(10);
    Session<String> s = store.create("sb1", IDLE, MAX);
    store.begin(s.id());
    store.begin(s.id());

    ticker.advance(Duration.ofSeconds(10));
    store.finish(s);
    ticker.advance(Duration.ofSeconds(10));
    store.finish(s);
    assertThat(s.inFlight()).isZero();
    assertThat(s.lastActivity()).isEqualTo(s.createdAt().plusSeconds(20));

    ticker.advance(Duration.ofSeconds(29));
    store.cleanUp();
    assertThat(store.get(s.id())).as("idle since the second finish, at 20 s").isNotNull();
    ticker.advance(Duration.ofSeconds(1));
    store.cleanUp();
    assertThat(endings).containsExactly("sb1:idle");
  }

  @Test
  void finish_withoutBegin_changesNothing() {
    SessionStore<String> store = store(10);
    Session<String> s = store.create("sb1", IDLE, MAX);

    store.finish(s);
    assertThat(s.inFlight()).isZero();
    assertThat(store.begin(s.id())).isSameAs(s);
    assertThat(s.inFlight()).isEqualTo(1);
    store.finish(s);
    store.finish(s);
    assertThat(s.inFlight()).isZero();
  }

  @Test
  void reap_requestInFlightForManyTimeouts_endsOneTimeoutAfterFinish() {
    // The reaper's timer fires every idle timeout while the request runs and is armed again; the
    // session ends one timeout after the finish, not at the timer armed before it.
    SessionStore<String> store = store(10);
    Session<String> s = store.create("sb1", IDLE, Duration.ofHours(1));
    store.begin(s.id());

    for (int i = 0; i < 10; i++) {
      ticker.advance(Duration.ofSeconds(31));
      store.cleanUp();
      assertThat(store.get(s.id())).isNotNull();
      assertThat(store.armedTimers()).isEqualTo(1);
    }
    store.finish(s);
    ticker.advance(Duration.ofSeconds(29));
    store.cleanUp();
    assertThat(store.get(s.id())).isNotNull();

    ticker.advance(Duration.ofSeconds(2));
    store.cleanUp();
    assertThat(endings).containsExactly("sb1:idle");
    assertThat(store.armedTimers()).isZero();
  }

  @Test
  void keepalive_shorterThanRemaining_endsAtTheNewDeadline() {
    // Pins: keepalive may move the deadline earlier than the armed timer, so it arms it again.
    SessionStore<String> store = store(10);
    Session<String> s = store.create("sb1", IDLE, MAX);

    assertThat(store.keepalive(s.id(), Duration.ofSeconds(5))).isSameAs(s);
    ticker.advance(Duration.ofSeconds(6));
    store.cleanUp();
    assertThat(endings).containsExactly("sb1:idle");
  }

  @Test
  void keepalive_pastDeadlineBeforeReap_returnsNullAndEndsIdle() {
    SessionStore<String> store = store(10);
    Session<String> s = store.create("sb1", IDLE, MAX);

    ticker.advance(IDLE);
    assertThat(store.keepalive(s.id(), Duration.ofHours(1))).isNull();
    assertThat(endings).containsExactly("sb1:idle");
  }

  @Test
  void end_pastIdleDeadlineBeforeReap_endsIdleAndReturnsFalse() {
    SessionStore<String> store = store(10);
    Session<String> s = store.create("sb1", IDLE, MAX);

    ticker.advance(IDLE);
    assertThat(store.end(s.id(), EndReason.DELETED)).isFalse();
    assertThat(endings).containsExactly("sb1:idle");
    assertThat(store.endedReason(s.id())).isEqualTo(EndReason.IDLE);
  }

  @Test
  void get_pastIdleDeadlineBeforeReap_returnsNullAndLeavesSnapshot() {
    SessionStore<String> store = store(10);
    Session<String> a = store.create("a", IDLE, MAX);
    ticker.advance(Duration.ofSeconds(20));
    Session<String> b = store.create("b", IDLE, MAX);

    ticker.advance(Duration.ofSeconds(10));
    assertThat(store.snapshot(x -> true)).containsExactly(b);
    assertThat(store.get(a.id())).isNull();
    assertThat(store.get(b.id())).isSameAs(b);
    assertThat(endings).containsExactly("a:idle");
  }

  @Test
  void end_requestInFlight_endsAndLaterFinishRevivesNothing() {
    SessionStore<String> store = store(10);
    Session<String> s = store.create("sb1", IDLE, MAX);
    store.begin(s.id());

    assertThat(store.end(s.id(), EndReason.DELETED)).isTrue();
    store.finish(s);
    assertThat(store.begin(s.id())).isNull();
    assertThat(store.get(s.id())).isNull();
    assertThat(s.inFlight()).isZero();
    assertThat(store.armedTimers()).isZero();
    assertThat(endings).containsExactly("sb1:deleted");
  }

  @Test
  void end_listenerThrows_sessionStillEndedOnce() {
    List<String> told = new CopyOnWriteArrayList<>();
    SessionStore<String> store = new SessionStore<>(new SessionStoreOptions(10,
        Duration.ofMinutes(10), 100), ticker, clock, Scheduler.disabledScheduler(), (s, r) -> {
          told.add(s.binding() + ":" + r.tag());
          throw new IllegalStateException("listener bug");
        });
    Session<String> s = store.create("sb1", IDLE, MAX);

    assertThat(store.end(s.id(), EndReason.DELETED)).isTrue();
    assertThat(store.end(s.id(), EndReason.DELETED)).isFalse();
    assertThat(store.size()).isZero();
    assertThat(store.endedReason(s.id())).isEqualTo(EndReason.DELETED);
    assertThat(told).containsExactly("sb1:deleted");
  }

  @Test
  void create_ids_areUniqueAndWellFormed() {
    SessionStore<String> store = store(1000);
    java.util.Set<String> ids = new java.util.HashSet<>();
    for (int i = 0; i < 500; i++) {
      String id = store.create("x", IDLE, MAX).id();
      assertThat(SessionIds.isWellFormed(id)).isTrue();
      assertThat(id).hasSize(23);
      // A valid Kubernetes label value: starts and ends with a letter or digit.
      assertThat(id).matches("[A-Za-z0-9][A-Za-z0-9_-]{21}[A-Za-z0-9]");
      ids.add(id);
    }
    assertThat(ids).hasSize(500);
  }

  @Test
  void isWellFormed_acceptsUuidRejectsJunk() {
    assertThat(SessionIds.isWellFormed("3f2c1a7e-9b1d-4c3e-8f00-1234567890ab")).isTrue();
    assertThat(SessionIds.isWellFormed("")).isFalse();
    assertThat(SessionIds.isWellFormed("a/b")).isFalse();
    assertThat(SessionIds.isWellFormed("x".repeat(129))).isFalse();
  }
}
