package io.agentcube.proxy.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Tokens of ended sessions are not kept: the issue-11 leaks of a token re-inserted after forget. */
class PicodTokensTest {

  static Vertx vertx;
  static PicodTokens tokens;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    tokens = PicodTokens.create(vertx, null, Duration.ofHours(1));
  }

  @AfterAll
  static void stop() throws Exception {
    tokens.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void issue_thenAuthorization_isOneMapReadOfTheSignedToken() throws Exception {
    tokens.issue("s-1", "sb-1").await(10, TimeUnit.SECONDS);
    String first = tokens.authorization("s-1");
    assertThat(first).startsWith("Bearer ey");
    assertThat(tokens.authorization("s-1")).isSameAs(first);
    tokens.forget("s-1");
  }

  /** The session ends while its first token is being signed on a worker. */
  @Test
  void forgetWhileSigning_doesNotReinsertTheToken() throws Exception {
    int before = tokens.size();
    var signing = tokens.issue("s-2", "sb-2");
    tokens.forget("s-2");
    signing.await(10, TimeUnit.SECONDS);
    assertThat(tokens.size()).isEqualTo(before);
  }

  /** A request still in flight when its session ended signs inline, but does not keep the token. */
  @Test
  void authorizationAfterForget_signsButKeepsNothing() throws Exception {
    tokens.issue("s-3", "sb-3").await(10, TimeUnit.SECONDS);
    int before = tokens.size();
    tokens.forget("s-3");

    String late = tokens.authorization("s-3", "sb-3");

    assertThat(late).startsWith("Bearer ey");
    assertThat(tokens.size()).isEqualTo(before - 1);
  }
}
