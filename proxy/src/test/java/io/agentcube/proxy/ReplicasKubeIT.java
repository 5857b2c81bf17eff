package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.agentcube.proxy.config.ProxyConfig;
import io.agentcube.testenv.KubeTestCluster;
import io.agentcube.testenv.Repo;
import io.agentcube.testenv.TestKubelet;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Two proxy replicas on the Kubernetes backend against a real kube-apiserver (k8s/testenv), each
 * authenticated as the proxy's service account with only the RBAC of
 * {@code k8s/overlays/cluster}, and a test kubelet that runs every sandbox pod as a local echo
 * agent on its own loopback address, so requests really flow proxy → "pod".
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicasKubeIT {

  private static final String NS = "kube-it";
  private static final String SESSION = "x-agentcube-session-id";
  private static final Path ECHO = Repo.root().resolve("conf/runtimes/echo_agent.py");
  private static final Path SANDBOXD = Repo.root().resolve("sandboxd/target/agentcube-sandboxd.jar");

  private static KubeTestCluster cluster;
  private static Vertx vertx;
  private static KubernetesClient admin;
  private static TestKubelet kubelet;
  private static final List<AgentCubeProxy> replicas = new ArrayList<>();
  private static AgentCubeProxy a;
  private static AgentCubeProxy b;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = KubeTestCluster.start();
    vertx = Vertx.vertx();
    admin = cluster.adminClient(vertx);
    cluster.apply(Repo.root().resolve("k8s/crds"));
    for (String ns : List.of(NS, "agentcube-system")) {
      admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata()
          .build()).serverSideApply();
    }
    cluster.applyProxyRbac();
    kubelet = TestKubelet.start(admin, new TestKubelet.Options()
        .namespaces(Set.of(NS))
        .command(pod -> {
          String image = pod.getSpec().getContainers().get(0).getImage();
          if (image.startsWith("agentcube/broken")) {
            return List.of("python3", "-c", "import sys; sys.stderr.write('no config'); sys.exit(3)");
          }
          if (image.startsWith("ghcr.io/volcano-sh/picod")) {
            return List.of("java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", SANDBOXD.toString());
          }
          return List.of("python3", "-S", "-u", ECHO.toString());
        })
        .env((pod, address) -> {
          Map<String, String> env = new java.util.LinkedHashMap<>(TestKubelet.defaultEnv(pod, address));
          env.put("SANDBOXD_HOST", address.ip());
          return env;
        }));
    Path ci = Files.createTempFile("ci", ".yaml");
    Files.writeString(ci, """
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: CodeInterpreter
        metadata:
          name: python
          namespace: %s
        spec:
          template:
            image: ghcr.io/volcano-sh/picod:latest
          warmPoolSize: 1
        """.formatted(NS));
    cluster.apply(ci);
    runtime("echo", 2, "10m");
    runtime("cold", 0, "10m");
    runtime("idle", 0, "4s");
    a = replica("replica-a");
    b = replica("replica-b");
  }

  @AfterAll
  static void stopCluster() throws Exception {
    for (AgentCubeProxy p : replicas) {
      p.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
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

  private static void runtime(String name, int warm, String sessionTimeout) throws Exception {
    runtime(name, warm, sessionTimeout, "agentcube/echo:test");
  }

  private static void runtime(String name, int warm, String sessionTimeout, String image) throws Exception {
    Path file = Files.createTempFile("runtime", ".yaml");
    Files.writeString(file, TestRuntimes.pod(name, NS, image, sessionTimeout, "8h", warm, Map.of()));
    cluster.apply(file);
  }

  private static AgentCubeProxy replica(String identity) throws Exception {
    return replica(identity, Map.of());
  }

  private static AgentCubeProxy replica(String identity, Map<String, Object> overrides) throws Exception {
    ProxyConfig.Builder builder = ProxyConfig.builder()
        .set("server.port", 0)
        .set("server.eventLoops", 2)
        .set("backend", "kubernetes")
        .set("kubernetes.kubeconfig", cluster.proxyKubeconfig().toString())
        .set("kubernetes.namespaces", NS)
        .set("kubernetes.identity", identity)
        .set("kubernetes.leaseNamespace", "agentcube-system")
        .set("kubernetes.leaseDuration", "3s")
        .set("kubernetes.renewDeadline", "2s")
        .set("kubernetes.retryPeriod", "500ms")
        .set("kubernetes.reconcileInterval", "500ms")
        .set("sessions.activityFlushInterval", "300ms")
        .set("runtimes.reloadInterval", "300ms")
        .set("pool.startTimeout", "30s");
    overrides.forEach(builder::set);
    ProxyConfig config = builder.build();
    AgentCubeProxy p = AgentCubeProxy.start(config, Ticker.systemTicker(), Scheduler.systemScheduler())
        .toCompletionStage().toCompletableFuture().get(90, TimeUnit.SECONDS);
    replicas.add(p);
    return p;
  }

  private static void stop(AgentCubeProxy p) throws Exception {
    replicas.remove(p);
    p.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  private HttpResponse<String> invoke(AgentCubeProxy p, String runtime, String sessionId) throws Exception {
    HttpRequest.Builder r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port()
        + "/v1/namespaces/" + NS + "/agent-runtimes/" + runtime + "/invocations/hello"))
        .timeout(Duration.ofSeconds(60));
    if (sessionId != null) {
      r.header(SESSION, sessionId);
    }
    return http.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> get(AgentCubeProxy p, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port() + path))
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String sessionOf(HttpResponse<String> r) {
    assertThat(r.statusCode()).as("%s: %s", r.uri(), r.body()).isEqualTo(200);
    return r.headers().firstValue(SESSION).orElseThrow();
  }

  /** The echo agent reports the address it listens on: the pod's IP. */
  private static String podIpOf(HttpResponse<String> r) {
    return new JsonObject(r.body()).getJsonObject("headers").getString("host").split(":")[0];
  }

  private static List<Pod> pods(String runtime, String state) {
    return admin.pods().inNamespace(NS).withLabel("runtime.agentcube.volcano.sh/runtime", runtime)
        .withLabel("runtime.agentcube.volcano.sh/state", state).list().getItems().stream()
        .filter(p -> p.getMetadata().getDeletionTimestamp() == null).toList();
  }

  private static List<Pod> readyWarm(String runtime) {
    return pods(runtime, "warm").stream().filter(p -> p.getStatus() != null
        && p.getStatus().getConditions() != null && p.getStatus().getConditions().stream()
            .anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()))).toList();
  }

  private static Pod podOfSession(String sessionId) {
    List<Pod> found = admin.pods().inNamespace(NS)
        .withLabel("runtime.agentcube.volcano.sh/session-id", sessionId).list().getItems();
    assertThat(found).as("pods of session %s", sessionId).hasSize(1);
    return found.get(0);
  }

  private static AgentCubeProxy leader() {
    return replicas.stream().filter(p -> p.backend().expiryAuthority().endsIdleSessions())
        .findFirst().orElse(null);
  }

  @Test
  @Order(1)
  void warmPool_filledByTheLeader_claimedByASessionAndRefilled() throws Exception {
    await().atMost(Duration.ofSeconds(60)).until(() -> readyWarm("echo").size() == 2);
    assertThat(replicas.stream().filter(p -> p.backend().expiryAuthority().endsIdleSessions()))
        .as("exactly one leader").hasSize(1);

    HttpResponse<String> r = invoke(a, "echo", null);
    String id = sessionOf(r);

    Pod pod = podOfSession(id);
    Map<String, String> labels = pod.getMetadata().getLabels();
    assertThat(labels).containsEntry("app.kubernetes.io/managed-by", "agentcube-proxy")
        .containsEntry("runtime.agentcube.volcano.sh/runtime", "echo")
        .containsEntry("runtime.agentcube.volcano.sh/state", "bound")
        .containsKey("runtime.agentcube.volcano.sh/version");
    assertThat(pod.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
      assertThat(o.getKind()).isEqualTo("AgentRuntime");
      assertThat(o.getName()).isEqualTo("echo");
    });
    assertThat(pod.getStatus().getPodIP()).isEqualTo(podIpOf(r));
    assertThat(pod.getSpec().getRestartPolicy()).isEqualTo("Never");
    // The leader refills the pool; never above warmPoolSize over both replicas.
    await().atMost(Duration.ofSeconds(60)).until(() -> readyWarm("echo").size() == 2);
    assertThat(pods("echo", "warm")).hasSize(2);
  }

  @Test
  @Order(2)
  void sessionCreatedOnA_isServedByB_fromTheSamePod() throws Exception {
    String id = sessionOf(invoke(a, "echo", null));
    String ip = podOfSession(id).getStatus().getPodIP();

    HttpResponse<String> onB = invoke(b, "echo", id);

    assertThat(onB.statusCode()).as(onB.body()).isEqualTo(200);
    assertThat(podIpOf(onB)).isEqualTo(ip);
    assertThat(onB.headers().firstValue(SESSION)).contains(id);
    assertThat(new JsonObject(get(b, "/v1/sessions/" + id).body()).getString("sandboxName"))
        .isEqualTo(podOfSession(id).getMetadata().getName());
  }

  /**
   * A code interpreter (authMode picod): its pod gets the proxy's public key, and both replicas
   * sign with the one key of the shared Secret, so a session opened on A executes on B.
   */
  @Test
  @Order(2)
  void codeInterpreter_signedCallsFromEitherReplica_reachTheSameWorkspace() throws Exception {
    String ci = "/v1/namespaces/" + NS + "/code-interpreters/python/invocations/api/execute";
    HttpResponse<String> first = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
            + a.port() + ci)).timeout(Duration.ofSeconds(90)).POST(HttpRequest.BodyPublishers.ofString(
            "{\"command\":[\"bash\",\"-c\",\"echo from-a > note.txt\"]}")).build(),
        HttpResponse.BodyHandlers.ofString());
    String id = sessionOf(first);
    assertThat(new JsonObject(first.body()).getInteger("exit_code")).isZero();

    HttpResponse<String> onB = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
            + b.port() + ci)).timeout(Duration.ofSeconds(60)).header(SESSION, id)
        .POST(HttpRequest.BodyPublishers.ofString("{\"command\":[\"cat\",\"note.txt\"]}")).build(),
        HttpResponse.BodyHandlers.ofString());

    assertThat(onB.statusCode()).as(onB.body()).isEqualTo(200);
    assertThat(new JsonObject(onB.body()).getString("stdout")).isEqualTo("from-a\n");
    Pod pod = podOfSession(id);
    assertThat(pod.getSpec().getContainers().get(0).getEnv())
        .anySatisfy(e -> assertThat(e.getName()).isEqualTo("PICOD_AUTH_PUBLIC_KEY"));
    assertThat(admin.secrets().inNamespace("agentcube-system").withName("agentcube-proxy-picod-key").get())
        .as("the one signing key of every replica").isNotNull();
  }

  @Test
  @Order(3)
  void coldStart_noWarmPod_aPodBoundToTheSessionFromTheStart() throws Exception {
    HttpResponse<String> r = invoke(b, "cold", null);
    String id = sessionOf(r);
    Pod pod = podOfSession(id);
    assertThat(pod.getMetadata().getLabels()).containsEntry("runtime.agentcube.volcano.sh/state", "bound");
    assertThat(pods("cold", "warm")).as("warmPoolSize 0").isEmpty();
    assertThat(get(b, "/metrics").body()).contains("agentcube_sessions_launched_total{launch_type=\"cold\"}");
  }

  @Test
  @Order(4)
  void fortyConcurrentNewSessions_overTwoReplicas_noPodBoundTwice() throws Exception {
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      AgentCubeProxy p = i % 2 == 0 ? a : b;
      calls.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.port()
          + "/v1/namespaces/" + NS + "/agent-runtimes/echo/invocations/c" + i))
          .timeout(Duration.ofSeconds(90)).build(), HttpResponse.BodyHandlers.ofString()));
    }
    Set<String> ids = new HashSet<>();
    Set<String> ips = new HashSet<>();
    for (CompletableFuture<HttpResponse<String>> c : calls) {
      HttpResponse<String> r = c.get(120, TimeUnit.SECONDS);
      ids.add(sessionOf(r));
      ips.add(podIpOf(r));
    }
    assertThat(ids).hasSize(40);
    assertThat(ips).as("every session reached a pod of its own").hasSize(40);
    Set<String> podNames = new HashSet<>();
    for (String id : ids) {
      podNames.add(podOfSession(id).getMetadata().getName());
    }
    assertThat(podNames).as("40 sessions, 40 pods, each bound once").hasSize(40);
  }

  @Test
  @Order(5)
  void podDeleted_sessionAnswers410OnBothReplicas() throws Exception {
    String id = sessionOf(invoke(a, "echo", null));
    Pod pod = podOfSession(id);
    assertThat(invoke(b, "echo", id).statusCode()).isEqualTo(200);

    admin.pods().inNamespace(NS).withName(pod.getMetadata().getName()).withGracePeriod(0).delete();

    for (AgentCubeProxy p : List.of(a, b)) {
      await().atMost(Duration.ofSeconds(20)).until(() -> invoke(p, "echo", id).statusCode() == 410);
      HttpResponse<String> r = invoke(p, "echo", id);
      assertThat(new JsonObject(r.body()).getString("code")).isEqualTo("SANDBOX_LOST");
    }
  }

  @Test
  @Order(6)
  void idleReap_activitySeenOnlyByTheNonLeader_keepsTheSessionUntilItStops() throws Exception {
    AgentCubeProxy leader = leader();
    AgentCubeProxy other = leader == a ? b : a;
    String id = sessionOf(invoke(leader, "idle", null));
    String pod = podOfSession(id).getMetadata().getName();

    // 8 s of traffic on the non-leader only, twice the 4 s idle timeout: the leader must see it
    // through the activity annotation and keep the session.
    await().pollInterval(Duration.ofMillis(700)).during(Duration.ofSeconds(8))
        .atMost(Duration.ofSeconds(12))
        .until(() -> invoke(other, "idle", id).statusCode() == 200);
    assertThat(get(leader, "/v1/sessions/" + id).statusCode()).isEqualTo(200);

    // Then quiet: the leader reaps it, the pod goes, both replicas say why.
    await().atMost(Duration.ofSeconds(20)).until(() ->
        admin.pods().inNamespace(NS).withName(pod).get() == null);
    for (AgentCubeProxy p : List.of(a, b)) {
      await().atMost(Duration.ofSeconds(10)).until(() -> invoke(p, "idle", id).statusCode() == 404);
      assertThat(invoke(p, "idle", id).body()).contains("SESSION_NOT_FOUND").contains("idle");
    }
  }

  @Test
  @Order(7)
  void replicaRestart_keepsEverySession_andDeletesNoPod() throws Exception {
    String id = sessionOf(invoke(a, "echo", null));
    String ip = podIpOf(invoke(b, "echo", id));
    int podsBefore = admin.pods().inNamespace(NS).list().getItems().size();

    stop(b);
    b = replica("replica-b2");

    HttpResponse<String> r = invoke(b, "echo", id);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(podIpOf(r)).isEqualTo(ip);
    assertThat(admin.pods().inNamespace(NS).list().getItems()).as("a replica's stop deletes no pod")
        .hasSizeGreaterThanOrEqualTo(podsBefore);
  }

  @Test
  @Order(8)
  void leaderStops_theOtherTakesOverReaping() throws Exception {
    await().atMost(Duration.ofSeconds(20)).until(() -> leader() != null);
    AgentCubeProxy oldLeader = leader();
    AgentCubeProxy survivor = oldLeader == a ? b : a;
    String id = sessionOf(invoke(survivor, "idle", null));
    String pod = podOfSession(id).getMetadata().getName();

    stop(oldLeader);
    await().atMost(Duration.ofSeconds(15)).until(() -> survivor.backend().expiryAuthority().endsIdleSessions());

    await().atMost(Duration.ofSeconds(30)).until(() -> admin.pods().inNamespace(NS).withName(pod).get() == null);
    assertThat(invoke(survivor, "idle", id).body()).contains("idle");
    // The survivor, now leader, keeps the echo pool at its size.
    await().atMost(Duration.ofSeconds(60)).until(() -> readyWarm("echo").size() == 2);
  }

  @Test
  @Order(9)
  void runtimeStatus_writtenByTheLeader_versionsAreControllerRevisions() throws Exception {
    AgentCubeProxy p = replicas.get(0);
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      var echo = admin.resources(io.agentcube.runtime.api.AgentRuntime.class).inNamespace(NS)
          .withName("echo").get();
      var st = echo.getStatus();
      assertThat(st).isNotNull();
      assertThat(st.getReady()).isTrue();
      assertThat(st.getDefaultVersion()).isEqualTo("v1");
      assertThat(st.getWarmPool().getDesired()).isEqualTo(2);
      assertThat(st.getWarmPool().getReady()).isEqualTo(2);
      assertThat(st.getVersions()).containsOnlyKeys("v1");
      assertThat(st.getConditions()).singleElement().satisfies(c -> {
        assertThat(c.getType()).isEqualTo("Ready");
        assertThat(c.getStatus()).isEqualTo("True");
        assertThat(c.getObservedGeneration()).isEqualTo(echo.getMetadata().getGeneration());
      });
    });
    var revisions = admin.apps().controllerRevisions().inNamespace(NS)
        .withLabel("runtime.agentcube.volcano.sh/runtime", "cold").list().getItems();
    assertThat(revisions).singleElement().satisfies(r -> {
      assertThat(r.getRevision()).isEqualTo(1L);
      assertThat(r.getMetadata().getOwnerReferences()).singleElement()
          .satisfies(o -> assertThat(o.getName()).isEqualTo("cold"));
    });

    // A new template is a new version, v2, named alike by every replica; new sessions get it.
    Path file = Files.createTempFile("runtime", ".yaml");
    Files.writeString(file, TestRuntimes.pod("cold", NS, "agentcube/echo:test", "15m", "8h", 0,
        Map.of("ECHO_GREETING", "second template")));
    cluster.apply(file);
    await().atMost(Duration.ofSeconds(30)).until(() -> admin.resources(io.agentcube.runtime.api.AgentRuntime.class)
        .inNamespace(NS).withName("cold").get().getStatus().getDefaultVersion().equals("v2"));
    String id = sessionOf(invoke(p, "cold", null));
    assertThat(new JsonObject(get(p, "/v1/sessions/" + id).body()).getString("version")).isEqualTo("v2");
    assertThat(podOfSession(id).getMetadata().getLabels())
        .containsEntry("runtime.agentcube.volcano.sh/version", "v2");
  }

  @Test
  @Order(10)
  void coldStartFailing_answersWithTheReason_leavesNoPod_andAnEventOnTheRuntime() throws Exception {
    runtime("broken", 0, "10m", "agentcube/broken:test");
    AgentCubeProxy p = replicas.get(0);
    await().atMost(Duration.ofSeconds(30)).until(() -> invoke(p, "broken", null).statusCode() != 404);

    HttpResponse<String> r = invoke(p, "broken", null);

    assertThat(r.statusCode()).as(r.body()).isEqualTo(502);
    assertThat(new JsonObject(r.body()).getString("code")).isEqualTo("SANDBOX_UNREACHABLE");
    assertThat(r.body()).contains("failed before it was ready");
    assertThat(r.headers().firstValue(SESSION)).as("no session was created").isEmpty();
    await().atMost(Duration.ofSeconds(20)).until(() -> admin.pods().inNamespace(NS)
        .withLabel("runtime.agentcube.volcano.sh/runtime", "broken").list().getItems().isEmpty());
    await().atMost(Duration.ofSeconds(20)).until(() -> admin.v1().events().inNamespace(NS).list().getItems()
        .stream().anyMatch(e -> "broken".equals(e.getInvolvedObject().getName())
            && "SandboxStartFailed".equals(e.getReason())));
  }

  /**
   * Issue 11's drain on the Kubernetes backend: a draining replica refuses new sessions, serves
   * its existing ones until its listener closes, lets the request in flight finish, and deletes
   * no pod when it stops: the other replica serves the session from the same pod.
   */
  @Test
  @Order(11)
  void replicaDrain_inFlightRequestFinishes_newSessionsRefused_theOtherServesTheSessionFromItsPod() throws Exception {
    AgentCubeProxy other = replicas.get(0); // a replica still running after the earlier stops
    AgentCubeProxy c = replica("replica-c", Map.of("shutdown.drainGrace", "2s", "shutdown.drainTimeout", "20s"));
    String id = sessionOf(invoke(c, "echo", null));
    String pod = podOfSession(id).getMetadata().getName();
    CompletableFuture<HttpResponse<String>> slow = http.sendAsync(HttpRequest.newBuilder(URI.create(
            "http://127.0.0.1:" + c.port() + "/v1/namespaces/" + NS + "/agent-runtimes/echo/invocations/slow?seconds=2"))
        .header(SESSION, id).timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
    await().atMost(Duration.ofSeconds(10)).until(() ->
        new JsonObject(get(c, "/v1/sessions/" + id).body()).getInteger("inFlight") == 1);

    CompletableFuture<Void> drained = c.drain().toCompletionStage().toCompletableFuture();

    assertThat(get(c, "/health/ready").statusCode()).isEqualTo(503);
    HttpResponse<String> refused = invoke(c, "echo", null);
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
    assertThat(new JsonObject(refused.body()).getString("code")).isEqualTo("SHUTTING_DOWN");
    assertThat(refused.headers().firstValue("retry-after")).isPresent();
    assertThat(invoke(c, "echo", id).statusCode()).as("its existing sessions are still served").isEqualTo(200);
    HttpResponse<String> slowAnswer = slow.get(30, TimeUnit.SECONDS);
    assertThat(slowAnswer.statusCode()).as(slowAnswer.body()).isEqualTo(200);
    drained.get(30, TimeUnit.SECONDS);
    stop(c);

    HttpResponse<String> r = invoke(other, "echo", id);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(podOfSession(id).getMetadata().getName()).as("the same pod, not deleted by the drain").isEqualTo(pod);
  }
}
