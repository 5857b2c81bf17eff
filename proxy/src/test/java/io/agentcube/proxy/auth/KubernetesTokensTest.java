package io.agentcube.proxy.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.proxy.config.ConfigException;
import io.agentcube.proxy.config.ProxyConfig;
import io.agentcube.sandbox.kubernetes.KubernetesTokenReviewer;
import io.agentcube.sandbox.kubernetes.KubernetesTokenReviewer.Review;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link KubernetesTokens} with a scripted API server: what a review's answer means, the bound
 * on concurrent reviews, single flight, failures as 503, and the hand-written {@code exp} reading
 * ({@link KubernetesTokens#jwtExpiry}) against malformed and hostile tokens.
 */
class KubernetesTokensTest {

  private final Vertx vertx = Vertx.vertx();
  private final AtomicInteger calls = new AtomicInteger();
  private final CountDownLatch release = new CountDownLatch(1);
  private KubernetesTokens tokens;

  @AfterEach
  void close() throws Exception {
    release.countDown();
    if (tokens != null) {
      tokens.close();
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static Review ok(String user, String... groups) {
    return new Review(true, user, List.of(groups), List.of(), "");
  }

  private KubernetesTokens tokens(List<String> audiences, int max, Duration timeout,
      KubernetesTokens.Reviews reviews) {
    tokens = new KubernetesTokens(vertx, (t, a) -> {
      calls.incrementAndGet();
      return reviews.review(t, a);
    }, () -> {}, audiences, max, timeout);
    return tokens;
  }

  private KubernetesTokens answering(Review review) {
    return tokens(List.of(), 4, Duration.ofSeconds(5), (t, a) -> review);
  }

  /** Blocks until {@link #release} (at most 10 s), then answers {@code review}. */
  private KubernetesTokens blocking(int max, Duration timeout, Review review) {
    return tokens(List.of(), max, timeout, (t, a) -> {
      try {
        release.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return review;
    });
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static AgentCubeException failure(Future<?> f) throws Exception {
    try {
      await(f);
    } catch (ExecutionException e) {
      return (AgentCubeException) e.getCause();
    }
    throw new AssertionError("succeeded: " + f.result());
  }

  @Test
  void verify_authenticated_subjectIsTheUserName_rolesAreTheGroups() throws Exception {
    Identity id = await(answering(ok("system:serviceaccount:team:alice", "system:serviceaccounts",
        "system:serviceaccounts:team", "system:authenticated")).verify("opaque"));
    assertThat(id.subject()).isEqualTo("system:serviceaccount:team:alice");
    assertThat(id.roles()).containsExactlyInAnyOrder("system:serviceaccounts", "system:serviceaccounts:team",
        "system:authenticated");
    assertThat(id.expiresAt()).isNull();
  }

  @Test
  void verify_notAuthenticated_401WithoutTheApiServersWords() throws Exception {
    AgentCubeException e = failure(answering(new Review(false, "", List.of(), List.of(),
        "[invalid bearer token, square/go-jose: error in cryptographic primitive]")).verify("x.y.z"));
    assertThat(e.code()).isEqualTo(ErrorCode.UNAUTHENTICATED);
    assertThat(e.getMessage()).doesNotContain("go-jose");
  }

  @Test
  void verify_authenticatedWithoutUserName_401() throws Exception {
    assertThat(failure(answering(ok("")).verify("t")).code()).isEqualTo(ErrorCode.UNAUTHENTICATED);
  }

  @Test
  void verify_audiencesSet_answerMustNameOneOfThem() throws Exception {
    List<List<String>> asked = new java.util.concurrent.CopyOnWriteArrayList<>();
    KubernetesTokens t = tokens(List.of("agentcube", "other"), 4, Duration.ofSeconds(5), (tok, a) -> {
      asked.add(a);
      return switch (tok) {
        case "for-us" -> new Review(true, "u", List.of(), List.of("agentcube"), "");
        case "audience-blind" -> new Review(true, "u", List.of(), List.of(), ""); // e.g. a token-file user
        default -> new Review(true, "u", List.of(), List.of("someone-else"), "");
      };
    });
    assertThat(await(t.verify("for-us")).subject()).isEqualTo("u");
    assertThat(failure(t.verify("audience-blind")).code()).isEqualTo(ErrorCode.UNAUTHENTICATED);
    assertThat(failure(t.verify("elsewhere")).code()).isEqualTo(ErrorCode.UNAUTHENTICATED);
    assertThat(asked).allSatisfy(a -> assertThat(a).containsExactly("agentcube", "other"));
  }

  @Test
  void verify_noAudiencesSet_answerWithoutAudiencesIsEnough() throws Exception {
    assertThat(await(answering(ok("admin", "system:masters")).verify("t")).roles()).contains("system:masters");
  }

  @Test
  void verify_apiServerFails_503AuthUnavailableWithRetryAfter() throws Exception {
    for (RuntimeException thrown : List.<RuntimeException>of(
        new IllegalStateException("connection refused"),
        new KubernetesTokenReviewer.ReviewFailed("HTTP 403: connection refused", 403, null),
        new KubernetesTokenReviewer.ReviewFailed("HTTP 500: connection refused", 500, null))) {
      KubernetesTokens t = tokens(List.of(), 4, Duration.ofSeconds(5), (tok, a) -> {
        throw thrown;
      });
      AgentCubeException e = failure(t.verify("t"));
      assertThat(e.code()).isEqualTo(ErrorCode.AUTH_UNAVAILABLE);
      assertThat(e.retryAfter()).isNotNull();
      assertThat(e.getMessage()).doesNotContain("connection refused");
      t.close();
      tokens = null;
    }
  }

  @Test
  void verify_noAnswerWithinTheTimeout_503_andTheSlotIsHeldUntilTheCallReturns() throws Exception {
    KubernetesTokens t = blocking(1, Duration.ofMillis(200), ok("late"));
    AgentCubeException e = failure(t.verify("slow"));
    assertThat(e.code()).isEqualTo(ErrorCode.AUTH_UNAVAILABLE);
    // The review is still running on its worker: the bound counts it.
    assertThat(t.running()).isEqualTo(1);
    AgentCubeException busy = failure(t.verify("another"));
    assertThat(busy.code()).isEqualTo(ErrorCode.AUTH_UNAVAILABLE);
    assertThat(busy.getMessage()).contains("too many");
    release.countDown();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> t.running() == 0);
    assertThat(await(t.verify("another")).subject()).isEqualTo("late");
  }

  @Test
  void verify_moreThanTheBoundAtOnce_refusedAtOnce_nothingQueues() throws Exception {
    KubernetesTokens t = blocking(2, Duration.ofSeconds(10), ok("u"));
    Future<Identity> a = t.verify("a");
    Future<Identity> b = t.verify("b");
    Future<Identity> c = t.verify("c");
    assertThat(c.failed()).as("refused without waiting").isTrue();
    assertThat(((AgentCubeException) c.cause()).code()).isEqualTo(ErrorCode.AUTH_UNAVAILABLE);
    assertThat(((AgentCubeException) c.cause()).retryAfter()).isEqualTo(KubernetesTokens.BUSY_RETRY_AFTER);
    release.countDown();
    assertThat(await(a).subject()).isEqualTo("u");
    assertThat(await(b).subject()).isEqualTo("u");
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> t.running() == 0);
    assertThat(calls).hasValue(2);
  }

  @Test
  void verify_oneTokenConcurrently_oneReview() throws Exception {
    KubernetesTokens t = blocking(4, Duration.ofSeconds(10), ok("u"));
    List<Future<Identity>> all = new java.util.ArrayList<>();
    for (int i = 0; i < 10; i++) {
      all.add(t.verify("same"));
    }
    release.countDown();
    for (Future<Identity> f : all) {
      assertThat(await(f).subject()).isEqualTo("u");
    }
    assertThat(calls).hasValue(1);
    // Done: the next check of it is a review of its own (the Authenticator's cache is above this).
    await(t.verify("same"));
    assertThat(calls).hasValue(2);
  }

  @Test
  void verify_jwtShapedToken_cacheBoundByItsExp() throws Exception {
    long exp = Instant.parse("2030-01-01T00:00:00Z").getEpochSecond();
    Identity id = await(answering(ok("u")).verify(jwt("{\"exp\":" + exp + ",\"sub\":\"x\"}")));
    assertThat(id.expiresAt()).isEqualTo(Instant.ofEpochSecond(exp));
  }

  @Test
  void kubeconfig_processBackendOutsideAPod_required() {
    ProxyConfig process = ProxyConfig.builder().set("auth.mode", "kubernetes").build();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> KubernetesTokens.kubeconfig(process, false))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("kubernetes.kubeconfig: required");
    assertThat(KubernetesTokens.kubeconfig(process, true)).as("in a pod: its service account").isNull();
    assertThat(KubernetesTokens.kubeconfig(ProxyConfig.builder().set("auth.mode", "kubernetes")
        .set("backend", "kubernetes").build(), false)).as("the backend's own configuration").isNull();
    assertThat(KubernetesTokens.kubeconfig(ProxyConfig.builder().set("auth.mode", "kubernetes")
        .set("kubernetes.kubeconfig", "/etc/k.yaml").build(), true)).hasToString("/etc/k.yaml");
  }

  @Test
  void checkListener_kubernetesModeOnTheProcessBackendWithoutKubeconfig_failsBeforeAnythingStarts() {
    if (KubernetesTokenReviewer.inCluster()) {
      throw new AssertionError("this test expects to run outside a pod (KUBERNETES_SERVICE_HOST and a"
          + " mounted service-account token make the in-cluster configuration apply)");
    }
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Authenticator.checkListener(
            ProxyConfig.builder().set("auth.mode", "kubernetes").build()))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("kubernetes.kubeconfig: required");
  }

  // ---- jwtExpiry: one test per malformed or hostile shape

  private static String b64(String s) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  private static String jwt(String payload) {
    return b64("{\"alg\":\"RS256\"}") + "." + b64(payload) + ".c2ln";
  }

  @Test
  void jwtExpiry_wellFormed_readsExp() {
    assertThat(KubernetesTokens.jwtExpiry(jwt("{\"exp\":1700000000}"))).isEqualTo(Instant.ofEpochSecond(1700000000));
    assertThat(KubernetesTokens.jwtExpiry(jwt("{\"exp\":1700000000.9}"))).isEqualTo(Instant.ofEpochSecond(1700000000));
  }

  @Test
  void jwtExpiry_notThreeParts_null() {
    for (String t : List.of("opaque-token", "a.b", "a.b.c.d", ".b.c", "a..c", "..", "a.b.c.", jwt("{\"exp\":1}") + ".x")) {
      assertThat(KubernetesTokens.jwtExpiry(t)).as(t).isNull();
    }
  }

  @Test
  void jwtExpiry_payloadNotBase64url_null() {
    assertThat(KubernetesTokens.jwtExpiry("h.!!!!.s")).isNull();
    assertThat(KubernetesTokens.jwtExpiry("h." + Base64.getEncoder().encodeToString("{\"exp\":1}??".getBytes()) + "+/.s"))
        .isNull();
  }

  @Test
  void jwtExpiry_payloadNotAJsonObject_null() {
    for (String p : List.of("", "not json", "[1,2]", "\"exp\"", "1700000000", "null", "{\"exp\":", "{\"exp\":1}}")) {
      assertThat(KubernetesTokens.jwtExpiry(jwt(p))).as(p).isNull();
    }
  }

  @Test
  void jwtExpiry_expNotANumber_null() {
    for (String p : List.of("{}", "{\"exp\":\"1700000000\"}", "{\"exp\":null}", "{\"exp\":true}",
        "{\"exp\":[1700000000]}", "{\"exp\":{\"v\":1}}", "{\"nested\":{\"exp\":1700000000}}")) {
      assertThat(KubernetesTokens.jwtExpiry(jwt(p))).as(p).isNull();
    }
  }

  @Test
  void jwtExpiry_absurdExp_null_soTheTtlApplies() {
    for (String p : List.of("{\"exp\":1e300}", "{\"exp\":-1e300}", "{\"exp\":99999999999999999999999}",
        "{\"exp\":31556889864403200}")) {
      assertThat(KubernetesTokens.jwtExpiry(jwt(p))).as(p).isNull();
    }
  }

  @Test
  void jwtExpiry_pastOrNegativeExp_isReturned_soNothingIsCached() {
    // A token the API server accepted but whose payload says it expired: cached for no time.
    assertThat(KubernetesTokens.jwtExpiry(jwt("{\"exp\":-5}"))).isEqualTo(Instant.ofEpochSecond(-5));
    assertThat(KubernetesTokens.jwtExpiry(jwt("{\"exp\":0}"))).isEqualTo(Instant.EPOCH);
  }

  @Test
  void jwtExpiry_duplicateExp_oneOfThem_neverAnError() {
    Instant got = KubernetesTokens.jwtExpiry(jwt("{\"exp\":100,\"exp\":200}"));
    assertThat(got).isIn(Instant.ofEpochSecond(100), Instant.ofEpochSecond(200), null);
  }

  @Test
  void jwtExpiry_hugeOrDeeplyNestedPayload_nullWithoutBlowingUp() {
    String big = "{\"exp\":1,\"pad\":\"" + "x".repeat(20_000) + "\"}";
    assertThat(KubernetesTokens.jwtExpiry(jwt(big))).isNull();
    String deep = "[".repeat(5_000) + "]".repeat(5_000);
    assertThat(KubernetesTokens.jwtExpiry(jwt(deep.substring(0, Math.min(deep.length(), 10_000))))).isNull();
  }

  @Test
  void jwtExpiry_binaryPayload_null() {
    byte[] junk = new byte[64];
    new java.util.Random(7).nextBytes(junk);
    assertThat(KubernetesTokens.jwtExpiry("h." + Base64.getUrlEncoder().encodeToString(junk) + ".s")).isNull();
  }

  @Test
  void identity_rolesAreASet_duplicatesCollapse() throws Exception {
    assertThat(await(answering(ok("u", "g", "g")).verify("t")).roles()).isEqualTo(Set.of("g"));
  }
}
