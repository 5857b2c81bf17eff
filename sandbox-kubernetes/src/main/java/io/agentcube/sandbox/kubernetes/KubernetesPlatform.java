package io.agentcube.sandbox.kubernetes;

import io.agentcube.runtime.RuntimeSource;
import io.agentcube.sandbox.PoolOptions;
import io.agentcube.sandbox.SandboxBackend;
import io.agentcube.sandbox.SandboxPools;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.vertx5.Vertx5HttpClientFactory;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Base64;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything the proxy needs from Kubernetes, behind the project's own interfaces: the backend
 * (pods), the shared pools, the runtime source (the four kinds' informers) and the shared PicoD
 * signing key. The fabric8 client is built here, on the proxy's Vert.x, and never leaves this
 * package.
 */
public final class KubernetesPlatform {

  private static final Logger log = LoggerFactory.getLogger(KubernetesPlatform.class);
  private static final String KEY_ENTRY = "private-key.pem";

  private final KubernetesClient client;
  private final KubernetesOptions options;
  private final RuntimeObjects runtimes;
  private final KubernetesBackend backend;
  private final Vertx vertx;

  private KubernetesPlatform(Vertx vertx, KubernetesClient client, KubernetesOptions options,
      RuntimeObjects runtimes, KubernetesBackend backend) {
    this.vertx = vertx;
    this.client = client;
    this.options = options;
    this.runtimes = runtimes;
    this.backend = backend;
  }

  /**
   * Connects (kubeconfig file, else in-cluster or {@code ~/.kube/config}), starts the informers
   * and the leader election, and completes once the informers have synced.
   *
   * @param kubeconfig a kubeconfig file, or {@code null} for the client's automatic configuration
   */
  public static Future<KubernetesPlatform> create(Vertx vertx, Path kubeconfig, KubernetesOptions options) {
    return vertx.<KubernetesClient>executeBlocking(() -> {
      Config base = kubeconfig == null ? Config.autoConfigure(null)
          : Config.fromKubeconfig(Files.readString(kubeconfig, StandardCharsets.UTF_8));
      Config config = new ConfigBuilder(base)
          .withRequestTimeout((int) options.apiTimeout().toMillis())
          .withConnectionTimeout((int) options.apiTimeout().toMillis())
          .withRequestRetryBackoffLimit(2)
          .build();
      return new KubernetesClientBuilder().withConfig(config)
          .withHttpClientFactory(new Vertx5HttpClientFactory(vertx)).build();
    }).compose(client -> {
      ApiCalls api = new ApiCalls();
      RuntimeObjects runtimes = new RuntimeObjects(client, options.namespaces(), api);
      return Future.fromCompletionStage(runtimes.start())
          .compose(v -> KubernetesBackend.create(vertx, client, options, runtimes, api))
          .andThen(ar -> {
            if (ar.succeeded()) {
              runtimes.leader(ar.result()::isLeader); // the leader records versions and status
            }
          })
          .map(b -> new KubernetesPlatform(vertx, client, options, runtimes, b))
          .onFailure(e -> {
            runtimes.close();
            client.close();
          });
    });
  }

  public SandboxBackend backend() {
    return backend;
  }

  public RuntimeSource runtimes() {
    return runtimes;
  }

  /** The shared pools of warm pods (see {@link KubernetesPools}). */
  public SandboxPools pools(PoolOptions poolOptions, SandboxPools.Listener listener, Clock clock) {
    return new KubernetesPools(backend, vertx, poolOptions, listener, clock,
        options.reconcileInterval().toMillis());
  }

  /**
   * The PicoD signing key (PKCS#8 PEM) every replica shares: read from the Secret
   * {@code secretName} in the lease namespace, or created there from {@code generate} by the first
   * replica (a replica that loses that race reads the winner's).
   */
  public Future<String> sharedSigningKey(String secretName, Supplier<String> generate) {
    String ns = options.leaseNamespace();
    return backend.blocking("signing_key", () -> {
      Secret existing = client.secrets().inNamespace(ns).withName(secretName).get();
      if (existing != null) {
        return pem(existing);
      }
      Secret created = new SecretBuilder().withNewMetadata().withName(secretName).withNamespace(ns)
          .withLabels(Map.of(Labels.MANAGED_BY, Labels.MANAGER)).endMetadata()
          .withType("Opaque")
          .withData(Map.of(KEY_ENTRY, Base64.getEncoder().encodeToString(
              generate.get().getBytes(StandardCharsets.US_ASCII))))
          .build();
      try {
        return pem(client.secrets().inNamespace(ns).resource(created).create());
      } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
        log.info("signing key created by another replica meanwhile secret={}/{}", ns, secretName);
        return pem(client.secrets().inNamespace(ns).withName(secretName).get());
      }
    });
  }

  private static String pem(Secret s) {
    String b64 = s.getData() == null ? null : s.getData().get(KEY_ENTRY);
    if (b64 == null) {
      throw new IllegalStateException("secret " + s.getMetadata().getName() + " has no " + KEY_ENTRY);
    }
    return new String(Base64.getDecoder().decode(b64), StandardCharsets.US_ASCII);
  }

  /** Stops watching, releases the Lease, closes the client; deletes no pod. */
  public Future<Void> close() {
    return backend.close().eventually(() -> vertx.executeBlocking(() -> {
      runtimes.close();
      client.close();
      return null;
    }));
  }
}
