package io.agentcube.proxy.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
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

    String late = tokens.authorization("s-3", "sb-3", false);

    assertThat(late).startsWith("Bearer ey");
    assertThat(tokens.size()).isEqualTo(before - 1);
  }

  /** Host tokens: HS256 under {@link PicodTokens#hostKey}, signed at once; pod tokens RS256. */
  @Test
  void hostTokens_areHs256UnderTheHostKey_signedWithoutAWorker() throws Exception {
    var signing = tokens.issue("s-4", "sb-4", true);
    assertThat(signing.isComplete()).isTrue();
    String host = tokens.authorization("s-4").substring("Bearer ".length());
    tokens.issue("s-5", "sb-5").await(10, TimeUnit.SECONDS);
    String pod = tokens.authorization("s-5").substring("Bearer ".length());

    assertThat(header(host).getString("alg")).isEqualTo("HS256");
    assertThat(claims(host).getString("sandbox_id")).isEqualTo("sb-4");
    assertThat(claims(host).getString("session_id")).isEqualTo("s-4");
    assertThat(hmacValid(host, tokens.hostKey())).isTrue();
    assertThat(hmacValid(host, tokens.hostKey() + "x")).isFalse();
    assertThat(header(pod).getString("alg")).isEqualTo("RS256");
    String admin = tokens.hostAuthorization().substring("Bearer ".length());
    assertThat(header(admin).getString("alg")).isEqualTo("HS256");
    assertThat(claims(admin).getString("aud")).isEqualTo(PicodTokens.HOST_AUDIENCE);
    assertThat(hmacValid(admin, tokens.hostKey())).isTrue();
    assertThat(tokens.hostKey()).hasSizeGreaterThanOrEqualTo(43);
    tokens.forget("s-4");
    tokens.forget("s-5");
  }

  private static JsonObject header(String jwt) {
    return new JsonObject(new String(Base64.getUrlDecoder().decode(jwt.split("\\.")[0]), StandardCharsets.UTF_8));
  }

  private static JsonObject claims(String jwt) {
    return new JsonObject(new String(Base64.getUrlDecoder().decode(jwt.split("\\.")[1]), StandardCharsets.UTF_8));
  }

  private static boolean hmacValid(String jwt, String key) throws Exception {
    int dot = jwt.lastIndexOf('.');
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.US_ASCII), "HmacSHA256"));
    byte[] expected = mac.doFinal(jwt.substring(0, dot).getBytes(StandardCharsets.US_ASCII));
    return java.security.MessageDigest.isEqual(expected, Base64.getUrlDecoder().decode(jwt.substring(dot + 1)));
  }
}
