package io.agentcube.testenv;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.vertx5.Vertx5HttpClientFactory;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real kube-apiserver with etcd on 127.0.0.1, started by {@code k8s/testenv/start.sh} into a
 * fresh temporary state directory and stopped (and the directory deleted) by {@link #close()}.
 *
 * <p>The binaries come from {@code k8s/testenv/build.sh}; the directory it prints must be in the
 * environment variable {@value #BIN_ENV}. Without it {@link #start()} throws: the Kubernetes tier
 * reports that it could not run instead of skipping.
 *
 * <p>Two identities: {@code admin} (group {@code system:masters}) and the proxy's user
 * {@value #PROXY_USER} with the groups a ServiceAccount token carries and no grant beyond RBAC's
 * defaults (discovery, self-reviews). A binding whose subject is the ServiceAccount
 * {@code agentcube-system/agentcube-proxy} applies to it; see {@link #applyRbac(Path)}.
 *
 * <p>There is no scheduler, controller-manager or kubelet: pods stay Pending unless a
 * {@link TestKubelet} runs them; namespaces are not finalised; ownerReferences are not
 * garbage-collected; Deployments create no ReplicaSets.
 *
 * <p>Thread-safety: all methods may be called from any thread; they block (they are meant for
 * test set-up, never for an event loop).
 */
public final class KubeTestCluster implements AutoCloseable {

  /** The environment variable naming the directory with {@code kube-apiserver} and {@code etcd}. */
  public static final String BIN_ENV = "AGENTCUBE_KUBE_TESTENV_BIN";
  /** The user name the proxy's kubeconfig authenticates as. */
  public static final String PROXY_USER = "system:serviceaccount:agentcube-system:agentcube-proxy";
  /** The field manager of {@link #apply(Path)}. */
  public static final String FIELD_MANAGER = "agentcube-testenv";

  private static final Logger log = LoggerFactory.getLogger(KubeTestCluster.class);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(40);
  private static final Duration ESTABLISH_TIMEOUT = Duration.ofSeconds(30);

  private final Path scripts;
  private final Path stateDir;
  private final String url;
  private final Path adminKubeconfig;
  private final Path proxyKubeconfig;
  private final KubernetesClient applier;
  private final List<KubernetesClient> clients = new CopyOnWriteArrayList<>();
  private final RbacWaiter rbac;

  private KubeTestCluster(Path scripts, Path stateDir, Map<String, String> env) {
    this.scripts = scripts;
    this.stateDir = stateDir;
    this.url = require(env, "KUBE_TESTENV_URL");
    this.adminKubeconfig = Path.of(require(env, "KUBE_TESTENV_ADMIN_KUBECONFIG"));
    this.proxyKubeconfig = Path.of(require(env, "KUBE_TESTENV_PROXY_KUBECONFIG"));
    // The cluster's own client (apply, RBAC checks) on fabric8's default Vert.x 5 factory, which
    // owns its Vert.x instance; the callers' clients run on their Vert.x. No retries: a refusal
    // (server-side apply answers some schema errors with 500) surfaces at once, not after ~20 s.
    Config config = config(adminKubeconfig);
    config.setRequestRetryBackoffLimit(0);
    this.applier = new KubernetesClientBuilder().withConfig(config).build();
    this.rbac = new RbacWaiter(applier);
  }

  /**
   * Starts etcd and kube-apiserver and returns once {@code /readyz} answers and the
   * {@code default} namespace exists (start.sh's own waits, bounded by its timeout; this call
   * gives up after 120 s).
   *
   * @throws IllegalStateException when {@value #BIN_ENV} is unset or the start fails (the
   *     message carries the start log)
   */
  public static KubeTestCluster start() {
    String bin = System.getenv(BIN_ENV);
    if (bin == null || bin.isBlank()) {
      throw new IllegalStateException("The Kubernetes test tier cannot run: " + BIN_ENV
          + " is not set. Build kube-apiserver and etcd once (minutes cold, cached"
          + " outside the repo) and export the directory it prints:\n"
          + "  export " + BIN_ENV + "=$(k8s/testenv/build.sh | tail -1)\n"
          + "(needs Go >= 1.24, openssl, curl, python3; see k8s/testenv/README.md)");
    }
    Path scripts = Repo.root().resolve("k8s/testenv");
    Path stateDir;
    try {
      stateDir = Files.createTempDirectory("agentcube-kube-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Path startLog = stateDir.resolve("start.log");
    ProcessBuilder pb = new ProcessBuilder("bash", scripts.resolve("start.sh").toString(),
        stateDir.toString())
        .redirectErrorStream(true)
        .redirectOutput(startLog.toFile());
    pb.environment().put(BIN_ENV, bin);
    // If this JVM dies without close(), start.sh's watchdog stops the cluster.
    pb.environment().put("AGENTCUBE_TESTENV_OWNER_PID", Long.toString(ProcessHandle.current().pid()));
    long t0 = System.nanoTime();
    int exit = run(pb, START_TIMEOUT, "start.sh");
    if (exit != 0) {
      String out = read(startLog);
      stop(scripts, stateDir);
      throw new IllegalStateException("k8s/testenv/start.sh failed (exit " + exit + ", state in "
          + stateDir + "):\n" + out);
    }
    KubeTestCluster cluster;
    try {
      cluster = new KubeTestCluster(scripts, stateDir, readEnv(stateDir.resolve("env")));
    } catch (RuntimeException e) {
      stop(scripts, stateDir);
      throw e;
    }
    log.info("kube test cluster started url={} stateDir={} ms={}", cluster.url, stateDir,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    return cluster;
  }

  /** The API server's URL, {@code https://127.0.0.1:<port>}. */
  public String url() {
    return url;
  }

  /** A kubeconfig for {@code admin} (group {@code system:masters}). */
  public Path adminKubeconfig() {
    return adminKubeconfig;
  }

  /** A kubeconfig for {@value #PROXY_USER}, who may do only what RBAC bindings grant. */
  public Path proxyKubeconfig() {
    return proxyKubeconfig;
  }

  /** The directory with the logs ({@code kube-apiserver.log}, {@code etcd.log}) and data. */
  public Path stateDir() {
    return stateDir;
  }

  /**
   * A new admin client whose HTTP runs on {@code vertx}. Closed by {@link #close()} if the caller
   * has not closed it; the caller still owns {@code vertx}.
   */
  public KubernetesClient adminClient(Vertx vertx) {
    return client(adminKubeconfig, vertx);
  }

  /** A new client authenticated as {@value #PROXY_USER}; see {@link #adminClient(Vertx)}. */
  public KubernetesClient proxyClient(Vertx vertx) {
    return client(proxyKubeconfig, vertx);
  }

  /**
   * Server-side applies every document of a YAML file, or of every {@code *.yaml} / {@code *.yml}
   * file of a directory (in name order), as {@code admin} with field manager
   * {@value #FIELD_MANAGER}, forcing conflicts. Server-side, because the AgentRuntime CRD is too
   * large for client-side apply's annotation. A namespaced object without a namespace goes to
   * {@code default}. Returns after every applied CustomResourceDefinition is Established (at most
   * 30 s each), so custom resources of it can be applied next.
   *
   * @return the objects as the server returned them
   * @throws io.fabric8.kubernetes.client.KubernetesClientException when the server refuses one;
   *     documents before it stay applied. Note: for a field of the wrong type kube-apiserver
   *     answers server-side apply with 500 ("failed to create typed patch object"), not the 422
   *     a create gets, since apply builds the typed object before validation runs
   */
  public List<HasMetadata> apply(Path fileOrDirectory) {
    List<HasMetadata> applied = new ArrayList<>();
    for (Path file : yamlFiles(fileOrDirectory)) {
      for (HasMetadata item : load(file)) {
        applied.add(applier.resource(item).fieldManager(FIELD_MANAGER).forceConflicts()
            .serverSideApply());
      }
    }
    for (HasMetadata item : applied) {
      if (item instanceof CustomResourceDefinition) {
        awaitEstablished(item.getMetadata().getName());
      }
    }
    return applied;
  }

  /**
   * {@link #apply(Path) Applies} RBAC objects, then waits (at most 30 s) until the API server's
   * authorizer enforces each applied RoleBinding and ClusterRoleBinding: a SubjectAccessReview for
   * the first rule of its role, asked for each subject, is allowed. RBAC reaches the authorizer
   * through an informer, so a request made right after the write could still be refused.
   *
   * @throws IllegalStateException when a binding is not in effect in time
   */
  public List<HasMetadata> applyRbac(Path fileOrDirectory) {
    List<HasMetadata> applied = apply(fileOrDirectory);
    rbac.awaitEffective(applied);
    return applied;
  }

  /**
   * The proxy's RBAC as {@code k8s/overlays/cluster} installs it, relative to the repository root:
   * the ServiceAccount, the Role of its own namespace and the TokenReview grant
   * ({@code k8s/base/rbac.yaml}), and the ClusterRole for every namespace.
   */
  public static final List<String> PROXY_RBAC =
      List.of("k8s/base/rbac.yaml", "k8s/overlays/cluster/rbac.yaml");

  /**
   * {@link #applyRbac(Path) Applies} {@link #PROXY_RBAC} and waits until every binding of it is in
   * effect: what {@value #PROXY_USER} may do on a cluster installed from
   * {@code k8s/overlays/cluster}, and nothing more.
   */
  public List<HasMetadata> applyProxyRbac() {
    List<HasMetadata> applied = new ArrayList<>();
    for (String file : PROXY_RBAC) {
      applied.addAll(apply(Repo.root().resolve(file)));
    }
    rbac.awaitEffective(applied);
    return applied;
  }

  /**
   * Stops kube-apiserver and etcd (stop.sh, at most 40 s) and deletes the state directory.
   * Clients from this cluster are closed first. Idempotent.
   */
  @Override
  public void close() {
    for (KubernetesClient client : clients) {
      client.close();
    }
    clients.clear();
    applier.close();
    stop(scripts, stateDir);
    deleteTree(stateDir);
    log.info("kube test cluster stopped url={}", url);
  }

  private KubernetesClient client(Path kubeconfig, Vertx vertx) {
    KubernetesClient client = new KubernetesClientBuilder()
        .withConfig(config(kubeconfig))
        .withHttpClientFactory(new Vertx5HttpClientFactory(vertx))
        .build();
    clients.add(client);
    return client;
  }

  private void awaitEstablished(String crd) {
    applier.apiextensions().v1().customResourceDefinitions().withName(crd).waitUntilCondition(
        c -> c != null && c.getStatus() != null
            && Models.orEmpty(c.getStatus().getConditions()).stream()
                .anyMatch(k -> "Established".equals(k.getType()) && "True".equals(k.getStatus())),
        ESTABLISH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  private List<HasMetadata> load(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      return applier.load(in).items();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static List<Path> yamlFiles(Path fileOrDirectory) {
    if (!Files.isDirectory(fileOrDirectory)) {
      return List.of(fileOrDirectory);
    }
    try (Stream<Path> files = Files.list(fileOrDirectory)) {
      return files.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Config config(Path kubeconfig) {
    return Config.fromKubeconfig(read(kubeconfig));
  }

  /** Runs a script to completion within {@code timeout}; kills it past that. */
  private static int run(ProcessBuilder pb, Duration timeout, String what) {
    try {
      Process p = pb.start();
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(what + " did not finish within " + timeout);
      }
      return p.exitValue();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(what + " interrupted", e);
    }
  }

  private static void stop(Path scripts, Path stateDir) {
    ProcessBuilder pb = new ProcessBuilder("bash", scripts.resolve("stop.sh").toString(),
        stateDir.toString())
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD);
    int exit = run(pb, STOP_TIMEOUT, "stop.sh");
    if (exit != 0) {
      log.warn("kube test cluster stop failed exit={} stateDir={}", exit, stateDir);
    }
  }

  private static Map<String, String> readEnv(Path envFile) {
    Map<String, String> env = new HashMap<>();
    for (String line : read(envFile).split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0) {
        env.put(line.substring(0, eq), line.substring(eq + 1));
      }
    }
    return env;
  }

  private static String require(Map<String, String> env, String key) {
    String value = env.get(key);
    if (value == null || value.isEmpty()) {
      throw new IllegalStateException("start.sh wrote no " + key + " into its env file");
    }
    return value;
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
