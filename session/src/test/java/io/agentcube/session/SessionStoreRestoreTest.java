package io.agentcube.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.benmanes.caffeine.cache.Scheduler;
import io.agentcube.error.AgentCubeException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** Restore, create-in-flight, reservations and the pluggable expiry authority. */
class SessionStoreRestoreTest {

  private static final Duration IDLE = Duration.ofSeconds(30);
  private static final Duration MAX = Duration.ofMinutes(5);
  private static final Instant NOW = Instant.parse("2026-11-27T10:00:00Z");

  private final FakeTicker ticker = new FakeTicker();
  private final List<String> endings = new CopyOnWriteArrayList<>();
  private final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);

  /** A replica's authority whose leadership and "elsewhere" activity a test sets. */
  private static final class Replica implements ExpiryAuthority {
    volatile boolean leader;
    final Map<String, Instant> elsewhere = new ConcurrentHashMap<>();

    @Override
    public boolean endsIdleSessions() {
      return leader;
    }

    @Override
    public Instant activityElsewhere(String id) {
      return elsewhere.get(id);
    }
  }

  private SessionStore<String> store(int max, ExpiryAuthority authority) {
    return new SessionStore<>(new SessionStoreOptions(max, Duration.ofMinutes(10), 100), ticker,
        clock, Scheduler.disabledScheduler(), authority,
        (s, reason) -> endings.add(s.binding() + ":" + reason.tag()));
  }

  @Test
  void restore_lastActivityInThePast_idleDeadlineFollowsIt() {
    SessionStore<String> store = store(10, ExpiryAuthority.LOCAL);
    Session<String> s = store.restore("restored-1", "sb", NOW.minusSeconds(100),
        NOW.minusSeconds(20), IDLE, MAX);

    assertThat(s.createdAt()).isEqualTo(NOW.minusSeconds(100));
    assertThat(s.lastActivity()).isEqualTo(NOW.minusSeconds(20));
    assertThat(s.idleDeadline()).isEqualTo(NOW.plusSeconds(10));
    assertThat(s.hardDeadline()).isEqualTo(NOW.minusSeconds(100).plus(MAX));
    assertThat(store.size()).isEqualTo(1);

    ticker.advance(Duration.ofSeconds(9));
    store.cleanUp();
    assertThat(endings).isEmpty();
    ticker.advance(Duration.ofSeconds(2));
    store.cleanUp();
    assertThat(endings).containsExactly("sb:idle");
  }

  @Test
  void restore_pastHardDeadline_endsAtTheReapersNextLookWithMaxDuration() {
    SessionStore<String> store = store(10, ExpiryAuthority.LOCAL);
    store.restore("old", "sb", NOW.minus(MAX).minusSeconds(1), NOW, IDLE, MAX);
    ticker.advance(Duration.ofSeconds(2)); // the timer wheel is coarse: ~1.07 s buckets
    store.cleanUp();
    assertThat(endings).containsExactly("sb:max_duration");
    assertThat(store.endedReason("old")).isEqualTo(EndReason.MAX_DURATION);
  }

  @Test
  void restore_sameIdTwice_keepsTheLiveSession() {
    SessionStore<String> store = store(10, ExpiryAuthority.LOCAL);
    Session<String> first = store.restore("x", "sb", NOW, NOW, IDLE, MAX);
    assertThat(store.restore("x", "other", NOW, NOW, IDLE, MAX)).isSameAs(first);
    assertThat(store.size()).isEqualTo(1);
  }

  @Test
  void restore_overTheLimit_isNotRefused() {
    SessionStore<String> store = store(1, ExpiryAuthority.LOCAL);
    store.create("a", IDLE, MAX);
    store.restore("b", "sb", NOW, NOW, IDLE, MAX);
    assertThat(store.size()).isEqualTo(2);
    assertThatThrownBy(store::reserve).isInstanceOf(AgentCubeException.class);
  }

  @Test
  void remember_unknownId_tellsWhyItEnded() {
    SessionStore<String> store = store(10, ExpiryAuthority.LOCAL);
    store.remember("gone", EndReason.SANDBOX_LOST);
    assertThat(store.begin("gone")).isNull();
    assertThat(store.endedReason("gone")).isEqualTo(EndReason.SANDBOX_LOST);
  }

  @Test
  void createInFlight_idlePastTimeout_notReapedUntilFinished() {
    SessionStore<String> store = store(10, ExpiryAuthority.LOCAL);
    store.reserve();
    Session<String> s = store.create("id-1", "sb", NOW, IDLE, MAX, true);
    assertThat(s.inFlight()).isEqualTo(1);

    ticker.advance(IDLE.multipliedBy(2));
    store.cleanUp();
    assertThat(store.get("id-1")).as("in flight since creation").isNotNull();

    store.finish(s);
    ticker.advance(IDLE.plusSeconds(1));
    store.cleanUp();
    assertThat(endings).containsExactly("sb:idle");
  }

  @Test
  void reserve_heldPlacesCountAgainstTheLimit_unreserveFreesThem() {
    SessionStore<String> store = store(1, ExpiryAuthority.LOCAL);
    store.reserve();
    assertThatThrownBy(() -> store.create("b", IDLE, MAX)).isInstanceOf(AgentCubeException.class);
    store.unreserve();
    assertThat(store.create("b", IDLE, MAX)).isNotNull();
  }

  @Test
  void nonLeader_idlePastTimeout_neverEndsButMaxDurationDoes() {
    Replica replica = new Replica();
    SessionStore<String> store = store(10, replica);
    Session<String> s = store.create("sb", IDLE, MAX);

    ticker.advance(IDLE.multipliedBy(3));
    store.cleanUp();
    assertThat(store.get(s.id())).as("a non-leader never ends a session for idleness").isNotNull();
    Session<String> begun = store.begin(s.id());
    assertThat(begun).as("and admits its requests").isSameAs(s);
    store.finish(begun);

    ticker.advance(MAX);
    store.cleanUp();
    assertThat(endings).containsExactly("sb:max_duration");
  }

  @Test
  void leader_idleLocallyButActiveElsewhere_extendsInsteadOfEnding() {
    Replica replica = new Replica();
    replica.leader = true;
    SessionStore<String> store = store(10, replica);
    Session<String> s = store.create("sb", IDLE, MAX);
    // Another replica served this session 5 s ago (the fixed wall clock is "now").
    replica.elsewhere.put(s.id(), NOW.minusSeconds(5));

    ticker.advance(IDLE.plusSeconds(1));
    store.cleanUp();
    assertThat(endings).isEmpty();
    assertThat(store.get(s.id())).isNotNull();
    // The idle deadline now counts from the activity elsewhere: 25 s from the ticker's now.
    ticker.advance(Duration.ofSeconds(24));
    store.cleanUp();
    assertThat(endings).isEmpty();
    replica.elsewhere.remove(s.id());
    ticker.advance(Duration.ofSeconds(2));
    store.cleanUp();
    assertThat(endings).containsExactly("sb:idle");
  }

  @Test
  void authorityChanged_replicaBecomesLeader_reapsSessionsIdleMeanwhile() {
    Replica replica = new Replica();
    SessionStore<String> store = store(10, replica);
    store.create("sb", IDLE, MAX);
    ticker.advance(IDLE.plusSeconds(1));
    store.cleanUp();
    assertThat(endings).isEmpty();

    replica.leader = true;
    store.authorityChanged();
    ticker.advance(Duration.ofSeconds(2)); // the timer wheel is coarse: ~1.07 s buckets
    store.cleanUp();
    assertThat(endings).containsExactly("sb:idle");
  }

  @Test
  void end_listenerSeesTheReasonAlreadyRecorded() {
    // Pins the order of an end: the reason is recorded before the session leaves the live map,
    // so a request that misses it learns why (410 for a lost sandbox, never a bare 404).
    List<EndReason> seen = new CopyOnWriteArrayList<>();
    SessionStore<String>[] holder = new SessionStore[1];
    holder[0] = new SessionStore<>(new SessionStoreOptions(10, Duration.ofMinutes(10), 100), ticker,
        clock, Scheduler.disabledScheduler(), (s, reason) -> seen.add(holder[0].endedReason(s.id())));
    Session<String> s = holder[0].create("sb", IDLE, MAX);
    holder[0].end(s.id(), EndReason.SANDBOX_LOST);
    assertThat(seen).containsExactly(EndReason.SANDBOX_LOST);
  }
}
