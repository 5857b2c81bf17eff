package io.agentcube.proxy.bench;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.agentcube.proxy.AgentCubeProxy;
import io.agentcube.proxy.config.ProxyConfig;
import io.agentcube.testenv.KubeTestCluster;
import io.agentcube.testenv.Repo;
import io.agentcube.testenv.TestKubelet;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Warm-claim latency against a real kube-apiserver (bench/kube-claim.sh runs it; not a test):
 * one proxy replica on the Kubernetes backend, an AgentRuntime with a warm pool, then N session
 * creations one after another through {@code POST /v1/agent-runtime} (claim patch + session, no
 * forward), each timed by the client, each deleted again, pausing until the leader has refilled
 * the pool so that every creation is a warm hit. Prints p50/p90/p99/max and the launch counts
 * from the proxy's metrics (all must be warm).
 */
public final class WarmClaimBench {

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    int warm = 4;
    try (KubeTestCluster cluster = KubeTestCluster.start()) {
      Vertx vertx = Vertx.vertx();
      KubernetesClient admin = cluster.adminClient(vertx);
      cluster.apply(Repo.root().resolve("k8s/crds"));
      for (String ns : List.of("bench", "agentcube-system")) {
        admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata()
            .build()).serverSideApply();
      }
      cluster.applyProxyRbac();
      Path echo = Repo.root().resolve("conf/runtimes/echo_agent.py");
      try (TestKubelet kubelet = TestKubelet.start(admin, new TestKubelet.Options()
          .namespaces(Set.of("bench")).command(p -> List.of("python3", "-S", "-u", echo.toString())))) {
        Path file = Files.createTempFile("bench", ".yaml");
        Files.writeString(file, """
            apiVersion: runtime.agentcube.volcano.sh/v1alpha1
            kind: AgentRuntime
            metadata: {name: echo, namespace: bench}
            spec:
              targetPort: [{name: http, port: 8080, pathPrefix: /}]
              podTemplate:
                spec:
                  containers: [{name: echo, image: agentcube/echo:bench, ports: [{containerPort: 8080}]}]
              warmPoolSize: %d
            """.formatted(warm));
        cluster.apply(file);
        AgentCubeProxy proxy = AgentCubeProxy.start(ProxyConfig.builder()
            .set("server.port", 0).set("backend", "kubernetes")
            .set("kubernetes.kubeconfig", cluster.proxyKubeconfig().toString())
            .set("kubernetes.namespaces", "bench").set("kubernetes.identity", "bench")
            .set("kubernetes.leaseNamespace", "agentcube-system")
            .set("kubernetes.reconcileInterval", "200ms").set("runtimes.reloadInterval", "300ms")
            .build(), Ticker.systemTicker(), Scheduler.systemScheduler())
            .toCompletionStage().toCompletableFuture().get(90, TimeUnit.SECONDS);
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + proxy.port();
        long[] nanos = new long[n];
        for (int i = 0; i < n; i++) {
          waitForWarm(admin, warm);
          long t0 = System.nanoTime();
          HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/agent-runtime"))
              .POST(HttpRequest.BodyPublishers.ofString("{\"namespace\":\"bench\",\"name\":\"echo\"}"))
              .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
          nanos[i] = System.nanoTime() - t0;
          if (r.statusCode() != 200) {
            throw new IllegalStateException("create failed: " + r.statusCode() + " " + r.body());
          }
          String id = r.headers().firstValue("x-agentcube-session-id").orElseThrow();
          http.send(HttpRequest.newBuilder(URI.create(base + "/v1/sessions/" + id)).DELETE().build(),
              HttpResponse.BodyHandlers.discarding());
        }
        Arrays.sort(nanos);
        String metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
            HttpResponse.BodyHandlers.ofString()).body();
        System.out.printf("warm-claim n=%d p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms%n", n,
            ms(nanos, 0.50), ms(nanos, 0.90), ms(nanos, 0.99), nanos[n - 1] / 1e6);
        metrics.lines().filter(l -> l.startsWith("agentcube_sessions_launched_total"))
            .forEach(System.out::println);
        proxy.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
      vertx.close();
    }
  }

  private static double ms(long[] sorted, double q) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)] / 1e6;
  }

  /** Polls (bounded, 100 ms apart) until {@code warm} warm pods are Ready. */
  private static void waitForWarm(KubernetesClient admin, int warm) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      long ready = admin.pods().inNamespace("bench").withLabel("runtime.agentcube.volcano.sh/state", "warm")
          .list().getItems().stream().filter(p -> p.getMetadata().getDeletionTimestamp() == null
              && p.getStatus() != null && p.getStatus().getConditions() != null
              && p.getStatus().getConditions().stream().anyMatch(c -> "Ready".equals(c.getType())
                  && "True".equals(c.getStatus()))).count();
      if (ready >= warm) {
        return;
      }
      TimeUnit.MILLISECONDS.sleep(100);
    }
    throw new IllegalStateException("the warm pool did not refill within 60 s");
  }
}
