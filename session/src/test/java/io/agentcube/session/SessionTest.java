package io.agentcube.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The state word's transitions one by one (the store's tests exercise them through the maps). */
class SessionTest {

  private static final Duration IDLE = Duration.ofSeconds(30);
  private static final Duration MAX = Duration.ofMinutes(5);

  private final FakeTicker ticker = new FakeTicker();
  private final Session<String> s = new Session<>("id", "sb", Instant.parse("2026-11-27T10:00:00Z"),
      ticker.read(), IDLE, MAX, false);

  @Test
  void tryBegin_afterEnd_returnsEndedAndCountsNothing() {
    // Pins: once the word says ended, no request is admitted, even by a caller that found the
    // session in the map before it was removed.
    assertThat(s.tryEnd(ticker.read(), EndReason.DELETED, true)).isEqualTo(EndReason.DELETED);
    assertThat(s.tryBegin(ticker, true)).isEqualTo(Session.ENDED);
    assertThat(s.inFlight()).isZero();
    assertThat(s.keepalive(ticker, IDLE, true)).isEqualTo(Session.ENDED);
  }

  @Test
  void tryEnd_calledTwice_endsOnceWithFirstReason() {
    assertThat(s.tryEnd(ticker.read(), EndReason.SANDBOX_LOST, true)).isEqualTo(EndReason.SANDBOX_LOST);
    assertThat(s.tryEnd(ticker.read(), EndReason.DELETED, true)).isNull();
    assertThat(s.endReason()).isEqualTo(EndReason.SANDBOX_LOST);
  }

  @Test
  void tryEnd_idleDeadlinePassedWithRequestInFlight_doesNotEnd() {
    assertThat(s.tryBegin(ticker, true)).isEqualTo(Session.ADMITTED);
    ticker.advance(IDLE.multipliedBy(3));
    assertThat(s.tryEnd(ticker.read(), null, true)).isNull();
    assertThat(s.endReason()).isNull();
  }

  @Test
  void tryBegin_idleDeadlinePassed_returnsDueAndCountsNothing() {
    ticker.advance(IDLE);
    assertThat(s.tryBegin(ticker, true)).isEqualTo(Session.DUE);
    assertThat(s.inFlight()).isZero();
    assertThat(s.tryEnd(ticker.read(), null, true)).isEqualTo(EndReason.IDLE);
  }

  @Test
  void tryBegin_hardDeadlinePassedWithRequestInFlight_returnsDue() {
    s.tryBegin(ticker, true);
    ticker.advance(MAX);
    assertThat(s.tryBegin(ticker, true)).isEqualTo(Session.DUE);
    assertThat(s.tryEnd(ticker.read(), EndReason.DELETED, true)).isEqualTo(EndReason.MAX_DURATION);
  }

  @Test
  void finish_afterLongerKeepalive_keepsTheLaterDeadline() {
    s.tryBegin(ticker, true);
    assertThat(s.keepalive(ticker, Duration.ofMinutes(2), true)).isEqualTo(Session.ADMITTED);
    ticker.advance(Duration.ofSeconds(10));
    s.finish(ticker);
    assertThat(s.idleDeadline()).isEqualTo(s.createdAt().plusSeconds(120));
  }

  @Test
  void finish_notLast_stillMovesTheDeadline() {
    // Every finish folds its time into D, so the last one out cannot leave it at an older time.
    s.tryBegin(ticker, true);
    s.tryBegin(ticker, true);
    ticker.advance(Duration.ofSeconds(10));
    s.finish(ticker);
    assertThat(s.idleDeadline()).isEqualTo(s.createdAt().plusSeconds(40));
    assertThat(s.inFlight()).isEqualTo(1);
  }

  @Test
  void idleDeadline_subMillisecondTimes_roundsUpToTheMillisecond() {
    ticker.advance(Duration.ofNanos(1));
    s.tryBegin(ticker, true);
    s.finish(ticker);
    assertThat(s.idleDeadline()).isEqualTo(s.createdAt().plusSeconds(30).plusMillis(1));
  }

  @Test
  void nextCheck_requestInFlight_isOneIdleTimeoutAway() {
    s.tryBegin(ticker, true);
    long now = ticker.read();
    assertThat(s.nextCheck(now, true)).isEqualTo(now + IDLE.toNanos());
    s.finish(ticker);
    assertThat(s.nextCheck(now, true)).isEqualTo(now + IDLE.toNanos());
    s.tryEnd(now, EndReason.DELETED, true);
    assertThat(s.nextCheck(now, true)).isEqualTo(now);
  }

  @Test
  void keepalive_pastHardDeadline_capsAtHardDeadline() {
    assertThat(s.keepalive(ticker, Duration.ofDays(365_000), true)).isEqualTo(Session.ADMITTED);
    assertThat(s.idleDeadline()).isEqualTo(s.hardDeadline());
  }
}
