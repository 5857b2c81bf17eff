package io.agentcube.sandbox.kubernetes;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewStatus;
import io.fabric8.kubernetes.api.model.authentication.UserInfo;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.vertx5.Vertx5HttpClientFactory;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Asks the Kubernetes API server who a bearer token belongs to: one {@code TokenReview}
 * ({@code authentication.k8s.io/v1}, verb {@code create}) per call. The proxy's inbound
 * {@code auth.mode: kubernetes} is built on it; fabric8's types stay in this package, the caller
 * sees {@link Review} only.
 *
 * <p>The client is its own (not the backend's): its timeouts are the review's, it never retries
 * (a failed review is answered {@code 503} at once and the client retries, rather than holding a
 * request for several back-offs), and it exists with {@code backend: process} as well.
 *
 * <p>{@link #review} blocks: call it on a worker thread. Thread-safe.
 */
public final class KubernetesTokenReviewer implements AutoCloseable {

  private final KubernetesClient client;

  private KubernetesTokenReviewer(KubernetesClient client) {
    this.client = client;
  }

  /**
   * What the API server answered about one token.
   *
   * @param authenticated whether the token is valid (for the audiences asked)
   * @param username {@code status.user.username} ({@code ""} when absent)
   * @param groups {@code status.user.groups}
   * @param audiences {@code status.audiences}: those of the asked audiences the token is valid
   *     for; empty when the authenticator that accepted it does not know about audiences
   * @param error {@code status.error} ({@code ""} when absent); the API server's words, for logs
   */
  public record Review(boolean authenticated, String username, List<String> groups,
      List<String> audiences, String error) {

    public Review {
      groups = List.copyOf(groups);
      audiences = List.copyOf(audiences);
    }
  }

  /**
   * The review could not be made: no answer in time, or an answer that is not a TokenReview (the
   * proxy's own credentials refused, RBAC without {@code tokenreviews create}, a 5xx).
   */
  public static final class ReviewFailed extends RuntimeException {

    private final int status;

    public ReviewFailed(String message, int status, Throwable cause) {
      super(message, cause, false, false);
      this.status = status;
    }

    /** The API server's HTTP status, or {@code -1} when none came (connection, timeout). */
    public int status() {
      return status;
    }
  }

  /**
   * A client for {@code kubeconfig}, or for fabric8's automatic configuration (in-cluster service
   * account, {@code $KUBECONFIG}, {@code ~/.kube/config}) when it is {@code null}. Connects
   * lazily: nothing is sent until the first {@link #review}. Blocking (reads the file).
   *
   * @param timeout the connect and the request timeout of each review
   * @throws IOException when the kubeconfig cannot be read
   */
  public static KubernetesTokenReviewer create(Vertx vertx, Path kubeconfig, Duration timeout) throws IOException {
    Config base = kubeconfig == null ? Config.autoConfigure(null)
        : Config.fromKubeconfig(Files.readString(kubeconfig, StandardCharsets.UTF_8));
    Config config = new ConfigBuilder(base)
        .withRequestTimeout((int) timeout.toMillis())
        .withConnectionTimeout((int) timeout.toMillis())
        .withRequestRetryBackoffLimit(0)
        .build();
    return new KubernetesTokenReviewer(new KubernetesClientBuilder().withConfig(config)
        .withHttpClientFactory(new Vertx5HttpClientFactory(vertx)).build());
  }

  /**
   * Whether this process runs in a pod with a mounted service-account token (where fabric8's
   * automatic configuration talks to the cluster it runs in).
   */
  public static boolean inCluster() {
    String host = System.getenv(Config.KUBERNETES_SERVICE_HOST_PROPERTY);
    return host != null && !host.isEmpty()
        && Files.isReadable(Path.of(Config.KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH));
  }

  /** The API server's URL, for messages. */
  public String server() {
    return String.valueOf(client.getConfiguration().getMasterUrl());
  }

  /**
   * Reviews {@code token} for {@code audiences} ({@code []}: the API server's own). Blocking.
   *
   * @throws ReviewFailed when the API server gave no TokenReview back
   */
  public Review review(String token, List<String> audiences) {
    TokenReview asked = new TokenReviewBuilder().withNewSpec().withToken(token)
        .withAudiences(audiences.isEmpty() ? null : audiences).endSpec().build();
    TokenReview answer;
    try {
      answer = client.authentication().v1().tokenReviews().create(asked);
    } catch (KubernetesClientException e) {
      int code = e.getCode() > 0 ? e.getCode() : -1;
      // Without a status (no answer) fabric8's own message is "An error has occurred.": the
      // cause says what (refused, reset, timed out).
      String why = e.getStatus() != null && e.getStatus().getMessage() != null ? e.getStatus().getMessage()
          : e.getCause() != null ? e.getCause().toString() : String.valueOf(e.getMessage());
      throw new ReviewFailed(code > 0 ? "HTTP " + code + ": " + why : why, code, e);
    } catch (RuntimeException e) {
      throw new ReviewFailed(String.valueOf(e.getMessage()), -1, e);
    }
    TokenReviewStatus status = answer == null ? null : answer.getStatus();
    if (status == null) {
      throw new ReviewFailed("a TokenReview without status", -1, null);
    }
    UserInfo user = status.getUser();
    return new Review(Boolean.TRUE.equals(status.getAuthenticated()),
        user == null || user.getUsername() == null ? "" : user.getUsername(),
        nonNull(user == null ? null : user.getGroups()), nonNull(status.getAudiences()),
        status.getError() == null ? "" : status.getError());
  }

  private static List<String> nonNull(List<String> values) {
    return values == null ? List.of() : values.stream().filter(java.util.Objects::nonNull).toList();
  }

  @Override
  public void close() {
    client.close();
  }
}
