package io.agentcube.proxy;

import static org.awaitility.Awaitility.await;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.agentcube.proxy.config.ProxyConfig;
import io.agentcube.runtime.Durations;
import io.agentcube.runtime.RuntimeKind;
import io.agentcube.testenv.KubeTestCluster;
import io.agentcube.testenv.Repo;
import io.agentcube.testenv.TestKubelet;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@link LifecycleContract} on the Kubernetes backend against a real kube-apiserver (k8s/testenv),
 * started once for the class. Each scenario gets a namespace of its own with its runtimes as
 * {@code AgentRuntime} objects, and one proxy replica ({@code backend: kubernetes}, authenticated
 * as the proxy's ServiceAccount with only the RBAC of {@code k8s/overlays/cluster}) that watches
 * that namespace and leads before the scenario starts. A {@link TestKubelet} runs each pod as a
 * local process on its own loopback address, the program chosen by the pod's image.
 */
class LifecycleKubeIT extends LifecycleContract {

  private static final Path ECHO = Repo.root().resolve("conf/runtimes/echo_agent.py");
  private static final AtomicInteger SCENARIOS = new AtomicInteger();

  private static KubeTestCluster cluster;
  private static Vertx vertx;
  private static KubernetesClient admin;
  private static TestKubelet kubelet;

  private String namespace;

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = KubeTestCluster.start();
    vertx = Vertx.vertx();
    admin = cluster.adminClient(vertx);
    cluster.apply(Repo.root().resolve("k8s/crds"));
    createNamespace("agentcube-system");
    cluster.applyProxyRbac();
    kubelet = TestKubelet.start(admin, new TestKubelet.Options()
        .namespaces(Set.of()) // every namespace: each scenario has its own
        .command(pod -> command(pod.getSpec().getContainers().get(0).getImage())));
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (kubelet != null) {
      kubelet.close();
    }
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  private static String image(Program p) {
    return switch (p) {
      case ECHO -> "agentcube/echo:test";
      case EXITS_AT_ONCE -> "agentcube/exits-at-once:test";
      case NEVER_LISTENS -> "agentcube/never-listens:test";
    };
  }

  private static List<String> command(String image) {
    return switch (image) {
      case "agentcube/echo:test" -> List.of("python3", "-S", "-u", ECHO.toString());
      case "agentcube/exits-at-once:test" -> List.of("python3", "-S", "-c", "import sys; sys.exit(3)");
      case "agentcube/never-listens:test" -> List.of("python3", "-S", "-c", "import time; time.sleep(3600)");
      default -> List.of();
    };
  }

  private static void createNamespace(String name) {
    admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata()
        .build()).serverSideApply();
  }

  @Override
  protected Served serve(Duration startTimeout, TestRuntime... runtimes) throws Exception {
    int n = SCENARIOS.incrementAndGet();
    namespace = "lifecycle-" + n;
    createNamespace(namespace);
    for (TestRuntime r : runtimes) {
      Path file = Files.createTempFile("runtime", ".yaml");
      Files.writeString(file, TestRuntimes.pod(r.name(), namespace, image(r.program()),
          r.sessionTimeout(), r.maxSessionDuration(), r.warmPoolSize(), Map.of()));
      cluster.apply(file);
      Files.delete(file);
    }
    ProxyConfig config = ProxyConfig.builder()
        .set("server.port", 0)
        .set("server.eventLoops", 2)
        .set("backend", "kubernetes")
        .set("kubernetes.kubeconfig", cluster.proxyKubeconfig().toString())
        .set("kubernetes.namespaces", namespace)
        .set("kubernetes.identity", "lifecycle-proxy-" + n)
        .set("kubernetes.leaseNamespace", "agentcube-system")
        .set("kubernetes.leaseDuration", "3s")
        .set("kubernetes.renewDeadline", "2s")
        .set("kubernetes.retryPeriod", "500ms")
        .set("kubernetes.reconcileInterval", "500ms")
        .set("sessions.activityFlushInterval", "300ms")
        .set("runtimes.reloadInterval", "300ms")
        .set("pool.startTimeout", Durations.format(startTimeout))
        .build();
    AgentCubeProxy proxy = AgentCubeProxy.start(config, Ticker.systemTicker(), Scheduler.systemScheduler())
        .toCompletionStage().toCompletableFuture().get(90, TimeUnit.SECONDS);
    String ns = namespace;
    Served served = new Served() {
      @Override
      public AgentCubeProxy proxy() {
        return proxy;
      }

      @Override
      public String namespace() {
        return ns;
      }

      @Override
      public void close() throws Exception {
        proxy.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        // A replica's stop deletes no pod (by design): the scenario's leftovers go here, so
        // that their processes do not pile up over the class.
        admin.pods().inNamespace(ns).withGracePeriod(0).delete();
      }
    };
    try {
      // One replica: it must lead (pool reconciliation, the idle reaper) before the scenario.
      await().atMost(Duration.ofSeconds(30)).until(() -> proxy.backend().expiryAuthority().endsIdleSessions());
      // A new runtime is served once the leader has recorded its version (a ControllerRevision)
      // and the next reload has read it: up to a reload tick after leadership.
      for (TestRuntime r : runtimes) {
        await().atMost(Duration.ofSeconds(30)).until(() ->
            proxy.runtimes().current(RuntimeKind.AGENT_RUNTIME, ns, r.name()) != null);
      }
    } catch (RuntimeException | Error e) {
      served.close();
      throw e;
    }
    return served;
  }

  private List<Pod> pods() {
    return admin.pods().inNamespace(namespace).list().getItems();
  }

  @Override
  protected SandboxView sandboxOf(String sessionId) {
    List<Pod> found = admin.pods().inNamespace(namespace)
        .withLabel("runtime.agentcube.volcano.sh/session-id", sessionId).list().getItems();
    if (found.size() != 1) {
      throw new AssertionError("pods of session " + sessionId + ": " + found.size());
    }
    return view(found.get(0).getMetadata().getName());
  }

  @Override
  protected SandboxView warmSandbox() {
    List<Pod> found = admin.pods().inNamespace(namespace)
        .withLabel("runtime.agentcube.volcano.sh/state", "warm").list().getItems().stream()
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null).toList();
    if (found.isEmpty()) {
      throw new AssertionError("no warm pod in " + namespace);
    }
    return view(found.get(0).getMetadata().getName());
  }

  private SandboxView view(String name) {
    return new SandboxView() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public boolean exists() {
        return admin.pods().inNamespace(namespace).withName(name).get() != null;
      }

      /** The pod's process is SIGKILLed; the kubelet marks the pod Failed (restartPolicy Never). */
      @Override
      public void kill() throws Exception {
        kubelet.crash(namespace, name).get(30, TimeUnit.SECONDS);
      }
    };
  }

  /** Pods of the scenario's namespace, in any phase, terminating ones included. */
  @Override
  protected int sandboxCount() {
    return pods().size();
  }
}
