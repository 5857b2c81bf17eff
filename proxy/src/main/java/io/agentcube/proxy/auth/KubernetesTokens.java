package io.agentcube.proxy.auth;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.proxy.config.ConfigException;
import io.agentcube.proxy.config.ProxyConfig;
import io.agentcube.sandbox.kubernetes.KubernetesTokenReviewer;
import io.agentcube.sandbox.kubernetes.KubernetesTokenReviewer.Review;
import io.agentcube.sandbox.kubernetes.KubernetesTokenReviewer.ReviewFailed;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code auth.mode: kubernetes}: bearer tokens (service-account tokens, and whatever else the API
 * server authenticates: OIDC, token-file or webhook users) checked by the Kubernetes API server
 * with a {@code TokenReview}. The subject is {@code status.user.username}
 * ({@code system:serviceaccount:NS:NAME} for a service account), the roles are
 * {@code status.user.groups}, so that {@code auth.adminRole} and {@code auth.requiredRole} can
 * name a group ({@code system:masters}, {@code system:serviceaccounts:NS}, an IdP's group).
 *
 * <h2>Audiences</h2>
 * With {@code auth.kubernetes.audiences} set, the review asks for them and a token counts only if
 * the answer's {@code status.audiences} names one of them, as the TokenReview API asks of clients
 * that set audiences: a review server that ignores audiences (an old or a webhook one) answers
 * {@code authenticated: true} with none, and such an answer does not say the token was issued for
 * this proxy. (kube-apiserver itself refuses audience-unaware tokens, such as its token file's, for
 * audiences other than its own.) Without the key, the API server's own audience applies: a pod's
 * mounted token is accepted, as AgentCube's SDK sends it.
 *
 * <h2>Load on the API server</h2>
 * The {@link Authenticator} caches results ({@code auth.cache.*}), so a client's token is reviewed
 * once per TTL. Here: concurrent checks of one token share one review (single flight), and at most
 * {@code auth.kubernetes.maxConcurrentReviews} reviews run at once, on a worker pool of that size
 * (fabric8's calls block); a check beyond that bound is refused at once with
 * {@code 503 AUTH_UNAVAILABLE} and {@code Retry-After}, nothing queues. Each review is bounded by
 * {@code auth.kubernetes.timeout}; no answer, or an answer that is not a TokenReview, is
 * {@code 503 AUTH_UNAVAILABLE} (never cached), a token the API server does not accept is
 * {@code 401 UNAUTHENTICATED}.
 *
 * <h2>Expiry</h2>
 * TokenReview does not say when a token expires. A token shaped like a JWT (a service-account
 * token is one) has its {@code exp} read, after the API server accepted it, only to keep the cache
 * from trusting it past that time: a value that is missing, malformed or absurd leaves the cache
 * at its TTL, so nothing read here can make a token last longer than the review allows.
 *
 * <p>Thread-safe.
 */
final class KubernetesTokens implements TokenCheck {

  private static final Logger log = LoggerFactory.getLogger(KubernetesTokens.class);
  /** {@code Retry-After} of a check refused because too many reviews are in flight. */
  static final Duration BUSY_RETRY_AFTER = Duration.ofSeconds(1);
  /** A JWT payload longer than this is not decoded (the request head is smaller anyway). */
  private static final int MAX_PAYLOAD_CHARS = 16 * 1024;

  /** One review: blocking, throws {@link ReviewFailed} when the API server gave no answer. */
  interface Reviews {
    Review review(String token, List<String> audiences);
  }

  private final Reviews reviews;
  private final AutoCloseable resources;
  private final WorkerExecutor workers;
  private final List<String> audiences;
  private final int maxConcurrent;
  private final Duration timeout;
  private final AtomicInteger running = new AtomicInteger();
  /** Reviews in flight by token digest; at most {@link #maxConcurrent} entries, removed on completion. */
  private final Map<ByteBuffer, Future<Identity>> inFlight = new ConcurrentHashMap<>();

  KubernetesTokens(Vertx vertx, Reviews reviews, AutoCloseable resources, List<String> audiences,
      int maxConcurrent, Duration timeout) {
    this.reviews = reviews;
    this.resources = resources;
    this.audiences = List.copyOf(audiences);
    this.maxConcurrent = maxConcurrent;
    this.timeout = timeout;
    this.workers = vertx.createSharedWorkerExecutor("agentcube-token-review", maxConcurrent,
        2 * timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
  }

  /**
   * Connects to the API server and makes one review of a random token, so that a proxy that
   * cannot review (unreachable server, refused credentials, RBAC without
   * {@code tokenreviews create}) fails start-up instead of answering 503 to every client.
   * Blocking: call at start-up, off the event loop.
   *
   * @throws ConfigException naming the key to fix
   */
  static KubernetesTokens create(Vertx vertx, ProxyConfig config) {
    Path kubeconfig = kubeconfig(config);
    Duration timeout = config.duration("auth.kubernetes.timeout");
    List<String> audiences = config.list("auth.kubernetes.audiences");
    KubernetesTokenReviewer reviewer;
    try {
      reviewer = KubernetesTokenReviewer.create(vertx, kubeconfig, timeout);
    } catch (Exception e) {
      throw new ConfigException("kubernetes.kubeconfig: cannot use " + (kubeconfig == null
          ? "the in-cluster configuration" : kubeconfig) + " for auth.mode: kubernetes: " + e.getMessage());
    }
    try {
      byte[] random = new byte[16];
      new SecureRandom().nextBytes(random);
      reviewer.review("agentcube-start-up-probe-" + HexFormat.of().formatHex(random), audiences);
    } catch (ReviewFailed e) {
      reviewer.close();
      throw new ConfigException(probeFailure(reviewer.server(), e));
    }
    log.info("inbound auth with TokenReview server={} audiences={}", reviewer.server(), audiences);
    return new KubernetesTokens(vertx, reviewer::review, reviewer, audiences,
        config.integer("auth.kubernetes.maxConcurrentReviews"), timeout);
  }

  private static String probeFailure(String server, ReviewFailed e) {
    return switch (e.status()) {
      case 401 -> "auth.mode: kubernetes: the API server " + server + " refused the proxy's own"
          + " credentials (kubernetes.kubeconfig or the pod's service account): " + e.getMessage();
      case 403 -> "auth.mode: kubernetes: the proxy's identity may not create"
          + " tokenreviews.authentication.k8s.io on " + server + "; grant it (the rule in"
          + " k8s/base/rbac.yaml): " + e.getMessage();
      default -> "auth.mode: kubernetes: no TokenReview from the API server " + server
          + " (kubernetes.kubeconfig, auth.kubernetes.timeout): " + e.getMessage();
    };
  }

  /**
   * The kubeconfig the reviews use: {@code kubernetes.kubeconfig} when set; else, with
   * {@code backend: kubernetes}, the backend's automatic configuration ({@code null}); else, with
   * {@code backend: process}, the in-cluster service account when running in a pod
   * ({@code null}). A process-backend proxy outside a pod never falls back to
   * {@code ~/.kube/config}: whose credentials would check tokens must be said.
   *
   * @throws ConfigException when none applies
   */
  static Path kubeconfig(ProxyConfig config) {
    return kubeconfig(config, KubernetesTokenReviewer.inCluster());
  }

  static Path kubeconfig(ProxyConfig config, boolean inCluster) {
    String file = config.string("kubernetes.kubeconfig");
    if (!file.isEmpty()) {
      return Path.of(file);
    }
    if (config.string("backend").equals("kubernetes") || inCluster) {
      return null;
    }
    throw new ConfigException("kubernetes.kubeconfig: required with auth.mode: kubernetes and"
        + " backend: process outside a pod (it names the cluster whose API server reviews tokens)");
  }

  @Override
  public Future<Identity> verify(String token) {
    ByteBuffer key = ByteBuffer.wrap(Authenticator.sha256(token));
    Future<Identity> shared = inFlight.get(key);
    if (shared != null) {
      return shared;
    }
    if (running.incrementAndGet() > maxConcurrent) {
      running.decrementAndGet();
      return Future.failedFuture(AgentCubeException.retryLater(ErrorCode.AUTH_UNAVAILABLE,
          "too many token reviews in flight", BUSY_RETRY_AFTER));
    }
    Promise<Identity> promise = Promise.promise();
    Future<Identity> mine = promise.future();
    Future<Identity> raced = inFlight.putIfAbsent(key, mine);
    if (raced != null) {
      running.decrementAndGet();
      return raced;
    }
    mine.onComplete(x -> inFlight.remove(key, mine));
    // The slot is held until the worker returns, even past the timeout below: the bound counts
    // threads busy with the API server, not requests still waiting.
    workers.executeBlocking(() -> reviews.review(token, audiences), false)
        .onComplete(x -> running.decrementAndGet())
        .timeout(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS)
        .transform(ar -> ar.succeeded() ? identity(token, ar.result()) : Future.failedFuture(unavailable(ar.cause())))
        .onComplete(promise);
    return mine;
  }

  /** The identity {@code review} grants {@code token}, or {@code UNAUTHENTICATED}. */
  Future<Identity> identity(String token, Review review) {
    if (!review.authenticated()) {
      log.debug("token refused by TokenReview error={}", review.error());
      return Future.failedFuture(Authenticator.unauthenticated("token refused by the Kubernetes API server"));
    }
    if (!audiences.isEmpty() && review.audiences().stream().noneMatch(audiences::contains)) {
      return Future.failedFuture(Authenticator.unauthenticated(
          "token not issued for the audiences " + audiences));
    }
    if (review.username().isEmpty()) {
      return Future.failedFuture(Authenticator.unauthenticated("token without a user name"));
    }
    return Future.succeededFuture(new Identity(review.username(), new LinkedHashSet<>(review.groups()),
        jwtExpiry(token)));
  }

  private static AgentCubeException unavailable(Throwable cause) {
    if (cause instanceof ReviewFailed f && (f.status() == 401 || f.status() == 403)) {
      log.warn("TokenReview refused to the proxy itself status={} message={}", f.status(), f.getMessage());
    } else {
      log.warn("TokenReview failed error={}", cause.toString());
    }
    return AgentCubeException.retryLater(ErrorCode.AUTH_UNAVAILABLE,
        "the Kubernetes API server could not review the token", BUSY_RETRY_AFTER);
  }

  /**
   * The {@code exp} of a JWT-shaped token ({@code header.payload.signature}, payload base64url
   * JSON with a numeric {@code exp} in seconds), or {@code null} for anything else. Not a
   * verification: called only on a token the API server accepted, and only to shorten caching.
   */
  static Instant jwtExpiry(String token) {
    int first = token.indexOf('.');
    int second = first < 0 ? -1 : token.indexOf('.', first + 1);
    if (first <= 0 || second < 0 || token.indexOf('.', second + 1) >= 0
        || second - first - 1 > MAX_PAYLOAD_CHARS) {
      return null;
    }
    try {
      byte[] payload = Base64.getUrlDecoder().decode(token.substring(first + 1, second));
      if (Buffer.buffer(payload).toJsonValue() instanceof JsonObject claims
          && claims.getValue("exp") instanceof Number exp) {
        double seconds = exp.doubleValue();
        // Beyond ~year 10^9 (or NaN): no usable time; the TTL applies.
        if (!(Math.abs(seconds) < 3e16)) {
          return null;
        }
        return Instant.ofEpochSecond((long) Math.floor(seconds));
      }
    } catch (RuntimeException notAJwt) {
      // base64 or JSON that is not a JWT payload: no expiry known
    }
    return null;
  }

  /** Reviews running now (tests). */
  int running() {
    return running.get();
  }

  @Override
  public void close() {
    workers.close();
    try {
      resources.close();
    } catch (Exception e) {
      log.warn("closing the TokenReview client failed error={}", e.toString());
    }
  }
}
