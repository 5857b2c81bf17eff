package io.agentcube.testenv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kubernetes test tier's own check: a real kube-apiserver accepts our CRDs and examples,
 * enforces their schema and RBAC, and the test kubelet turns a pod into a reachable process.
 * Runs in profile {@code kube}; fails (never skips) when the binaries are not built.
 */
class KubeTestClusterIT {

  private static final String NS = "default";
  private static final String ECHO_IMAGE = "agentcube/echo-agent:test";
  private static final Duration WAIT = Duration.ofSeconds(30);

  private static KubeTestCluster cluster;
  private static Vertx vertx;
  private static KubernetesClient admin;
  private static TestKubelet kubelet;
  private static final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void startCluster() {
    cluster = KubeTestCluster.start();
    vertx = Vertx.vertx();
    admin = cluster.adminClient(vertx);
    cluster.apply(Repo.root().resolve("k8s/crds"));
    Path echoAgent = Repo.root().resolve("conf/runtimes/echo_agent.py");
    kubelet = TestKubelet.start(admin, new TestKubelet.Options()
        .namespaces(Set.of(NS))
        .command(pod -> ECHO_IMAGE.equals(pod.getSpec().getContainers().get(0).getImage())
            ? List.of("python3", "-S", "-u", echoAgent.toString())
            : null));
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (kubelet != null) {
      kubelet.close();
    }
    if (cluster != null) {
      cluster.close();
    }
    if (vertx != null) {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void apply_examples_storedWithTheirSpec() {
    cluster.apply(Repo.root().resolve("k8s/examples"));

    GenericKubernetesResource ci = admin.genericKubernetesResources(
            "runtime.agentcube.volcano.sh/v1alpha1", "CodeInterpreter")
        .inNamespace(NS).withName("python-interpreter").get();
    assertThat(ci).isNotNull();
    assertThat(new JsonObject(ci.getAdditionalProperties()).getJsonObject("spec").getInteger("warmPoolSize"))
        .isEqualTo(2);
    GenericKubernetesResource ar = admin.genericKubernetesResources(
            "runtime.agentcube.volcano.sh/v1alpha1", "AgentRuntime")
        .inNamespace(NS).withName("hello-agent").get();
    assertThat(ar).isNotNull();
  }

  @Test
  void apply_warmPoolSizeNotANumber_refusedByTheCrdSchema(@TempDir Path dir) throws IOException {
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, """
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: CodeInterpreter
        metadata:
          name: bad-warm-pool
          namespace: default
        spec:
          warmPoolSize: "x"
          template:
            image: python:3.12-slim
        """);

    HasMetadata item = admin.load(Files.newInputStream(bad)).items().get(0);

    assertThatThrownBy(() -> admin.resource(item).create())
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
          assertThat(e.getCode()).isEqualTo(422);
          assertThat(e.getMessage()).contains("spec.warmPoolSize in body must be of type integer");
        });
    // Server-side apply is refused too, but with 500: it builds the typed object (and fails on
    // the type) before validation runs. Pinned so an upgrade that changes it is noticed.
    assertThatThrownBy(() -> cluster.apply(bad))
        .isInstanceOfSatisfying(KubernetesClientException.class, e -> {
          assertThat(e.getCode()).isEqualTo(500);
          assertThat(e.getMessage()).contains(".spec.warmPoolSize: expected numeric");
        });
    assertThat(admin.genericKubernetesResources("runtime.agentcube.volcano.sh/v1alpha1", "CodeInterpreter")
        .inNamespace(NS).withName("bad-warm-pool").get()).isNull();
  }

  @Test
  void proxyUser_onlyWhatRbacGrants_forbiddenElsewhere(@TempDir Path dir) throws IOException {
    String ns = "rbac-it";
    admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata()
        .build()).create();
    KubernetesClient proxy = cluster.proxyClient(vertx);

    assertThatThrownBy(() -> proxy.pods().inNamespace(ns).list())
        .isInstanceOfSatisfying(KubernetesClientException.class,
            e -> assertThat(e.getCode()).isEqualTo(403));

    Path rbac = dir.resolve("rbac.yaml");
    Files.writeString(rbac, """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata:
          name: pod-reader
          namespace: rbac-it
        rules:
          - apiGroups: [""]
            resources: [pods]
            verbs: [get, list, watch]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata:
          name: agentcube-proxy-pod-reader
          namespace: rbac-it
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: Role
          name: pod-reader
        subjects:
          - kind: ServiceAccount
            name: agentcube-proxy
            namespace: agentcube-system
        """);
    cluster.applyRbac(rbac);

    assertThat(proxy.pods().inNamespace(ns).list().getItems()).isEmpty();
    assertThatThrownBy(() -> proxy.pods().inNamespace(NS).list())
        .isInstanceOfSatisfying(KubernetesClientException.class,
            e -> assertThat(e.getCode()).isEqualTo(403));
    assertThatThrownBy(() -> proxy.pods().inNamespace(ns).resource(echoPod("not-allowed", 1)).create())
        .isInstanceOfSatisfying(KubernetesClientException.class,
            e -> assertThat(e.getCode()).isEqualTo(403));
  }

  @Test
  void pod_echoAgent_readyOnItsOwnLoopbackIp_answersHttp_processEndsWithPod() throws Exception {
    int port = freePort();
    admin.pods().inNamespace(NS).resource(echoPod("echo-1", port)).create();

    Pod ready = awaitReady("echo-1");
    String ip = ready.getStatus().getPodIP();
    assertThat(ip).startsWith("127.").isNotEqualTo("127.0.0.1");
    assertThat(ready.getStatus().getPhase()).isEqualTo("Running");
    assertThat(kubelet.podIp(NS, "echo-1")).contains(ip);

    JsonObject echo = get(ip, port, "/hello?x=1");
    assertThat(echo.getString("path")).isEqualTo("/hello");
    assertThat(echo.getInteger("port")).isEqualTo(port);
    ProcessHandle process = kubelet.process(NS, "echo-1").orElseThrow();
    assertThat(echo.getLong("pid")).isEqualTo(process.pid());
    // The container's literal env reaches the process; the JVM's own environment does not.
    assertThat(get(ip, port, "/env?name=GREETING").getString("value")).isEqualTo("hello");
    assertThat(get(ip, port, "/env?name=JAVA_HOME").getValue("value")).isNull();

    admin.pods().inNamespace(NS).withName("echo-1").delete();

    await().atMost(WAIT).until(() -> !process.isAlive());
    assertThat(kubelet.podIp(NS, "echo-1")).isEmpty();
    assertThatThrownBy(() -> connect(ip, port)).isInstanceOf(ConnectException.class);
  }

  @Test
  void pod_processCrashes_podFailedAndNotReady() throws Exception {
    int port = freePort();
    admin.pods().inNamespace(NS).resource(echoPod("echo-crash", port)).create();
    awaitReady("echo-crash");

    kubelet.crash(NS, "echo-crash").get(WAIT.toSeconds(), TimeUnit.SECONDS);

    Pod failed = admin.pods().inNamespace(NS).withName("echo-crash").get();
    assertThat(failed.getStatus().getPhase()).isEqualTo("Failed");
    assertThat(condition(failed, "Ready")).isEqualTo("False");
    admin.pods().inNamespace(NS).withName("echo-crash").delete();
  }

  @Test
  void pod_ipChanged_servesOnTheNewAddressOnly() throws Exception {
    int port = freePort();
    admin.pods().inNamespace(NS).resource(echoPod("echo-move", port)).create();
    String oldIp = awaitReady("echo-move").getStatus().getPodIP();

    String newIp = kubelet.changeIp(NS, "echo-move").get(WAIT.toSeconds(), TimeUnit.SECONDS);

    assertThat(newIp).isNotEqualTo(oldIp);
    await().atMost(WAIT).until(() -> {
      Pod p = admin.pods().inNamespace(NS).withName("echo-move").get();
      return newIp.equals(p.getStatus().getPodIP()) && "True".equals(condition(p, "Ready"));
    });
    assertThat(get(newIp, port, "/").getString("path")).isEqualTo("/");
    assertThatThrownBy(() -> connect(oldIp, port)).isInstanceOf(ConnectException.class);
    admin.pods().inNamespace(NS).withName("echo-move").delete();
  }

  @Test
  void pod_imageWithoutLocalCommand_failedWithReason() {
    Pod pod = echoPod("unknown-image", 1);
    pod.getSpec().getContainers().get(0).setImage("example.com/not-mapped:1");
    admin.pods().inNamespace(NS).resource(pod).create();

    Pod failed = await("pod unknown-image Failed").atMost(WAIT).until(
        () -> admin.pods().inNamespace(NS).withName("unknown-image").get(),
        p -> "Failed".equals(p.getStatus().getPhase()));
    assertThat(failed.getStatus().getReason()).isEqualTo("NoLocalCommand");
    assertThat(failed.getStatus().getMessage()).contains("example.com/not-mapped:1");
    assertThat(condition(failed, "Ready")).isEqualTo("False");
    admin.pods().inNamespace(NS).withName("unknown-image").delete();
  }

  private static Pod echoPod(String name, int port) {
    return new PodBuilder()
        .withNewMetadata()
          .withName(name)
          .withLabels(Map.of(TestKubelet.MANAGED_BY_LABEL, TestKubelet.MANAGED_BY))
        .endMetadata()
        .withNewSpec()
          .addNewContainer()
            .withName("agent")
            .withImage(ECHO_IMAGE)
            .addNewPort().withContainerPort(port).endPort()
            .addNewEnv().withName("GREETING").withValue("hello").endEnv()
          .endContainer()
        .endSpec()
        .build();
  }

  private static Pod awaitReady(String name) {
    return await("pod " + name + " Ready").atMost(WAIT).until(
        () -> admin.pods().inNamespace(NS).withName(name).get(),
        p -> p != null && "True".equals(condition(p, "Ready")));
  }

  private static String condition(Pod pod, String type) {
    if (pod.getStatus() == null || pod.getStatus().getConditions() == null) {
      return null;
    }
    return pod.getStatus().getConditions().stream()
        .filter(c -> type.equals(c.getType()))
        .map(c -> c.getStatus())
        .findFirst().orElse(null);
  }

  private static JsonObject get(String ip, int port, String pathAndQuery) throws Exception {
    HttpResponse<String> response = http.send(
        HttpRequest.newBuilder(URI.create("http://" + ip + ":" + port + pathAndQuery))
            .timeout(Duration.ofSeconds(10)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    return new JsonObject(response.body());
  }

  private static void connect(String ip, int port) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(ip, port), 2000);
    }
  }

  /** A port nothing listens on at 127.0.0.1 (so no wildcard listener blocks it on 127.0.0.x). */
  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
