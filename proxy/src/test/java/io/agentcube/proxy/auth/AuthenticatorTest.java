package io.agentcube.proxy.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Ticker;
import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.vertx.core.Future;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AuthenticatorTest {

  private final AtomicLong nanos = new AtomicLong();
  private final Ticker ticker = nanos::get;
  private final Clock clock = Clock.fixed(Instant.parse("2026-12-04T00:00:00Z"), ZoneOffset.UTC);
  /** Tokens the check was asked about, in order. */
  private final List<String> asked = new ArrayList<>();

  private Authenticator authenticator(String requiredRole, Identity... identities) {
    TokenCheck check = token -> {
      asked.add(token);
      for (Identity id : identities) {
        if (token.equals("tok-" + id.subject())) {
          return Future.succeededFuture(id);
        }
      }
      if (token.equals("down")) {
        return Future.failedFuture(AgentCubeException.stackless(ErrorCode.AUTH_UNAVAILABLE, "down"));
      }
      return Future.failedFuture(Authenticator.unauthenticated("unknown"));
    };
    return new Authenticator("test", check, true, "admin", Set.of("carol"), requiredRole,
        Duration.ofSeconds(30), 100, clock, ticker);
  }

  private static ErrorCode code(Future<?> f) {
    return ((AgentCubeException) f.cause()).code();
  }

  @Test
  void bearerToken_schemeIsCaseInsensitive_restIsStrict() {
    assertThat(Authenticator.bearerToken("Bearer abc")).isEqualTo("abc");
    assertThat(Authenticator.bearerToken("bearer abc")).isEqualTo("abc");
    for (String bad : new String[] {null, "", "Basic abc", "Bearer", "Bearer ", "Bearer a b", "Bearerabc",
        "Bearer a\u00e9", "Token abc"}) {
      try {
        Authenticator.bearerToken(bad);
        throw new AssertionError("accepted " + bad);
      } catch (AgentCubeException e) {
        assertThat(e.code()).as(String.valueOf(bad)).isEqualTo(ErrorCode.UNAUTHENTICATED);
      }
    }
  }

  @Test
  void authenticate_success_isCachedForTheTtl_thenCheckedAgain() {
    Authenticator a = authenticator("", new Identity("alice", Set.of(), null));
    assertThat(a.authenticate("Bearer tok-alice").result()).isEqualTo(new Caller("alice", false));
    a.authenticate("Bearer tok-alice");
    assertThat(asked).containsExactly("tok-alice");
    nanos.addAndGet(Duration.ofSeconds(31).toNanos());
    a.authenticate("Bearer tok-alice");
    assertThat(asked).containsExactly("tok-alice", "tok-alice");
  }

  @Test
  void authenticate_cacheNeverOutlivesTheTokensExpiry() {
    Authenticator a = authenticator("", new Identity("alice", Set.of(), clock.instant().plusSeconds(5)));
    a.authenticate("Bearer tok-alice");
    nanos.addAndGet(Duration.ofSeconds(6).toNanos());
    a.authenticate("Bearer tok-alice");
    assertThat(asked).hasSize(2);
  }

  @Test
  void authenticate_rejection_isRememberedBriefly_unavailabilityNever() {
    Authenticator a = authenticator("");
    assertThat(code(a.authenticate("Bearer nope"))).isEqualTo(ErrorCode.UNAUTHENTICATED);
    assertThat(code(a.authenticate("Bearer nope"))).isEqualTo(ErrorCode.UNAUTHENTICATED);
    assertThat(asked).containsExactly("nope");
    nanos.addAndGet(Authenticator.REJECTION_TTL.toNanos() + 1);
    a.authenticate("Bearer nope");
    assertThat(asked).hasSize(2);

    assertThat(code(a.authenticate("Bearer down"))).isEqualTo(ErrorCode.AUTH_UNAVAILABLE);
    assertThat(code(a.authenticate("Bearer down"))).isEqualTo(ErrorCode.AUTH_UNAVAILABLE);
    assertThat(asked).containsExactly("nope", "nope", "down", "down");
  }

  @Test
  void authorize_adminByRoleOrByName_requiredRoleOtherwise() {
    Authenticator a = authenticator("user", new Identity("root", Set.of("admin"), null),
        new Identity("carol", Set.of(), null), new Identity("dave", Set.of("user"), null),
        new Identity("eve", Set.of("other"), null));
    assertThat(a.authenticate("Bearer tok-root").result().admin()).isTrue();
    assertThat(a.authenticate("Bearer tok-carol").result().admin()).as("auth.admins").isTrue();
    assertThat(a.authenticate("Bearer tok-dave").result()).isEqualTo(new Caller("dave", false));
    assertThat(code(a.authenticate("Bearer tok-eve"))).isEqualTo(ErrorCode.FORBIDDEN);
  }

  @Test
  void caller_mayUseOnlyItsOwn_unlessAdmin() {
    assertThat(new Caller("alice", false).mayUse("alice")).isTrue();
    assertThat(new Caller("alice", false).mayUse("bob")).isFalse();
    assertThat(new Caller("alice", false).mayUse(null)).as("an unowned session is the admins'").isFalse();
    assertThat(new Caller("root", true).mayUse("bob")).isTrue();
    assertThat(Caller.UNCHECKED.mayUse("bob")).isTrue();
  }

  @Test
  void loopback_onlyLoopbackAddresses() {
    assertThat(Authenticator.loopback("127.0.0.1")).isTrue();
    assertThat(Authenticator.loopback("::1")).isTrue();
    assertThat(Authenticator.loopback("localhost")).isTrue();
    assertThat(Authenticator.loopback("0.0.0.0")).isFalse();
    assertThat(Authenticator.loopback("10.1.2.3")).isFalse();
    assertThat(Authenticator.loopback("no-such-host.invalid")).isFalse();
  }
}
