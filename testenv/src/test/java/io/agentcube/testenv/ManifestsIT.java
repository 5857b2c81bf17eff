package io.agentcube.testenv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.ControllerRevision;
import io.fabric8.kubernetes.api.model.apps.ControllerRevisionBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReviewBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The manifests of {@code k8s/} against a real kube-apiserver: the server accepts every overlay
 * (dry run and apply, with the machine's kubectl, as docs/kubernetes.md says) and the Ingress
 * example, the printer columns show a runtime's status, and the proxy's ServiceAccount can make
 * exactly the calls its RBAC grants (base/rbac.yaml plus overlays/cluster/rbac.yaml: each rule
 * tried for real, every verb checked by access review) and nothing else; overlays/namespaced
 * grants the same in its own namespace only. A verb dropped from or added to the RBAC fails here;
 * a call of the backend that it does not allow fails the backend's own tests, which run as the
 * same user. What the overlays render without a server is {@link KustomizeTest}'s.
 *
 * <p>Runs in profile {@code kube}; needs {@code kubectl} on the PATH (or {@code $KUBECTL}).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ManifestsIT {

  private static final Path K8S = Repo.root().resolve("k8s");
  /** The overlay the access reviews and the applies below install. */
  private static final Path CLUSTER = K8S.resolve("overlays/cluster");
  private static final Path NAMESPACED = K8S.resolve("overlays/namespaced");
  /** overlays/namespaced's namespace: the proxy, its runtimes and their pods. */
  private static final String OWN_NS = "agentcube";
  private static final String SYSTEM_NS = "agentcube-system";
  private static final String NS = "default";
  private static final String LEASE = "agentcube-proxy-leader";
  private static final String KEY_SECRET = "agentcube-proxy-picod-key";
  private static final String GROUP = "runtime.agentcube.volcano.sh";
  private static final Duration WAIT = Duration.ofSeconds(30);
  /** The proxy's stop: drain grace, drain wait, shutdown.timeout (docs/kubernetes.md). */
  private static final long STOP_SECONDS = 60;

  private static final ResourceDefinitionContext CODE_INTERPRETERS =
      new ResourceDefinitionContext.Builder()
          .withGroup(GROUP).withVersion("v1alpha1").withKind("CodeInterpreter")
          .withPlural("codeinterpreters").withNamespaced(true)
          .build();

  @TempDir
  static Path work;

  private static KubeTestCluster cluster;
  private static Vertx vertx;
  private static KubernetesClient admin;
  private static KubernetesClient proxy;
  private static Kubectl kubectl;

  @BeforeAll
  static void startCluster() {
    cluster = KubeTestCluster.start();
    vertx = Vertx.vertx();
    admin = cluster.adminClient(vertx);
    proxy = cluster.proxyClient(vertx);
    kubectl = new Kubectl(cluster.adminKubeconfig(), work);
    // With kubectl (k8s/README's command), so the later applies of k8s/ have the same field
    // manager: server-side apply by another manager conflicts on the CRDs' .spec.versions. A dry
    // run creates nothing, so a namespaced object of k8s/ cannot be dry-run into a namespace that
    // the same run would create: the namespace exists first, as after any install.
    requireOk(kubectl.run("apply", "--server-side", "-f", K8S.resolve("crds").toString(),
        "-f", K8S.resolve("base/namespace.yaml").toString()));
    requireOk(kubectl.run("create", "namespace", OWN_NS));
    requireOk(kubectl.run("wait", "--for=condition=Established", "--timeout=60s",
        "-f", K8S.resolve("crds").toString()));
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
    if (vertx != null) {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  @Order(1) // first: only the CRDs and the namespace exist, as on a fresh install
  void applyDryRunServer_everyOverlay_acceptedAndNothingCreated() {
    List<String> common = List.of("deployment.apps/agentcube-proxy", "service/agentcube-proxy",
        "poddisruptionbudget.policy/agentcube-proxy", "serviceaccount/agentcube-proxy",
        "role.rbac.authorization.k8s.io/agentcube-proxy",
        "rolebinding.rbac.authorization.k8s.io/agentcube-proxy",
        "clusterrole.rbac.authorization.k8s.io/agentcube-proxy-tokenreview",
        "clusterrolebinding.rbac.authorization.k8s.io/agentcube-proxy-tokenreview");
    Map<Path, List<String>> overlays = Map.of(
        CLUSTER, Stream.concat(common.stream(), Stream.of(
            "clusterrole.rbac.authorization.k8s.io/agentcube-proxy",
            "clusterrolebinding.rbac.authorization.k8s.io/agentcube-proxy")).toList(),
        NAMESPACED, Stream.concat(common.stream(), Stream.of(
            "role.rbac.authorization.k8s.io/agentcube-proxy-runtimes",
            "rolebinding.rbac.authorization.k8s.io/agentcube-proxy-runtimes")).toList());
    for (Map.Entry<Path, List<String>> overlay : overlays.entrySet()) {
      String dir = overlay.getKey().toString();
      // Client-side apply, then docs/kubernetes.md's server-side apply, both dry.
      for (List<String> apply : List.of(
          List.of("apply", "--dry-run=server", "-k", dir),
          List.of("apply", "--server-side", "--dry-run=server", "-k", dir))) {
        Kubectl.Result result = kubectl.run(apply.toArray(String[]::new));

        assertThat(result.exit()).as(apply + "\n" + result).isZero();
        assertThat(result.output()).as(apply + "\n" + result).doesNotContainIgnoringCase("error");
        // Each object of the overlay, as the server would create it (client-side apply says
        // "created", server-side "serverside-applied").
        for (String object : overlay.getValue()) {
          assertThat(result.stdout()).as(apply + "\n" + result).containsPattern("(?m)^"
              + Pattern.quote(object) + " (created|serverside-applied) \\(server dry run\\)$");
        }
      }
    }
    // The Ingress example (no Gateway API CRDs here, so not the HTTPRoute: KustomizeTest reads it).
    Kubectl.Result ingress = kubectl.run("apply", "--dry-run=server",
        "-f", K8S.resolve("examples/ingress/ingress.yaml").toString());
    assertThat(ingress.exit()).as(ingress.toString()).isZero();
    assertThat(ingress.stdout()).as(ingress.toString())
        .contains("ingress.networking.k8s.io/agentcube-proxy created (server dry run)");

    assertThat(admin.apps().deployments().inNamespace(SYSTEM_NS).withName("agentcube-proxy").get())
        .isNull();
    assertThat(admin.apps().deployments().inNamespace(OWN_NS).withName("agentcube-proxy").get())
        .isNull();
    assertThat(admin.rbac().clusterRoles().withName("agentcube-proxy").get()).isNull();
  }

  @Test
  @Order(2)
  void applyServerSide_k8sThenExamples_printerColumnsShowStatus() {
    // docs/kubernetes.md's sequence, verbatim but for the kubeconfig.
    Kubectl.Result install = kubectl.run("apply", "--server-side", "-k", CLUSTER.toString());
    assertThat(install.exit()).as(install.toString()).isZero();
    assertThat(install.output()).as(install.toString()).doesNotContainIgnoringCase("error");
    Kubectl.Result established = kubectl.run("wait", "--for=condition=Established", "--timeout=60s",
        "-f", K8S.resolve("crds").toString());
    assertThat(established.exit()).as(established.toString()).isZero();
    Kubectl.Result examples = kubectl.run("apply", "-f", K8S.resolve("examples").toString());
    assertThat(examples.exit()).as(examples.toString()).isZero();
    assertThat(examples.output()).as(examples.toString()).doesNotContainIgnoringCase("error");

    // Status as the leader writes it; the table is the server's, from the CRDs' printer columns.
    admin.genericKubernetesResources(CODE_INTERPRETERS).inNamespace(NS).withName("python-interpreter")
        .subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE), """
            {"status": {"ready": true, "defaultVersion": "v1", "activeSessions": 3,
                        "warmPool": {"desired": 2, "ready": 1}}}""");
    admin.genericKubernetesResources(GROUP + "/v1alpha1", "CodeInterpreterEndpoint").inNamespace(NS)
        .withName("python").subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE), """
            {"status": {"resolvedVersion": "v1", "conditions": [{"type": "Ready", "status": "True",
              "reason": "Resolved", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}""");

    Kubectl.Result interpreters = kubectl.run("get", "codeinterpreters", "-A");
    assertThat(interpreters.exit()).as(interpreters.toString()).isZero();
    assertThat(Kubectl.headers(interpreters.stdout())).as(interpreters.stdout()).containsExactly(
        "NAMESPACE", "NAME", "AGE", "SESSIONS", "DEFAULT", "READY", "DESIRED", "WARM");
    assertThat(Kubectl.table(interpreters.stdout())).singleElement().satisfies(row -> assertThat(row)
        .containsEntry("NAME", "python-interpreter").containsEntry("SESSIONS", "3")
        .containsEntry("DEFAULT", "v1").containsEntry("READY", "true")
        .containsEntry("DESIRED", "2").containsEntry("WARM", "1"));

    Kubectl.Result runtimes = kubectl.run("get", "agentruntimes", "-A");
    assertThat(runtimes.exit()).as(runtimes.toString()).isZero();
    assertThat(Kubectl.headers(runtimes.stdout())).as(runtimes.stdout()).containsExactly(
        "NAMESPACE", "NAME", "AGE", "SESSIONS", "DEFAULT", "READY", "DESIRED", "WARM");
    assertThat(Kubectl.table(runtimes.stdout())).singleElement().satisfies(row -> assertThat(row)
        .containsEntry("NAME", "hello-agent").containsEntry("READY", ""));

    Kubectl.Result endpoints = kubectl.run("get", "codeinterpreterendpoints", "-A");
    assertThat(endpoints.exit()).as(endpoints.toString()).isZero();
    assertThat(Kubectl.headers(endpoints.stdout())).as(endpoints.stdout()).containsExactly(
        "NAMESPACE", "NAME", "AGE", "TARGET", "VERSION", "READY", "RESOLVED");
    assertThat(Kubectl.table(endpoints.stdout())).singleElement().satisfies(row -> assertThat(row)
        .containsEntry("NAME", "python").containsEntry("TARGET", "python-interpreter")
        .containsEntry("VERSION", "").containsEntry("READY", "True")
        .containsEntry("RESOLVED", "v1"));

    Kubectl.Result agentEndpoints = kubectl.run("get", "agentendpoints", "-A");
    assertThat(agentEndpoints.exit()).as(agentEndpoints.toString()).isZero();
    assertThat(Kubectl.table(agentEndpoints.stdout())).singleElement().satisfies(row -> assertThat(row)
        .containsEntry("NAME", "hello-agent-stable").containsEntry("TARGET", "hello-agent")
        .containsEntry("VERSION", "2024-06-a"));
  }

  @Test
  @Order(3)
  void applyServerSide_cluster_deploymentWiredToServiceAccountAndService() {
    Kubectl.Result install = kubectl.run("apply", "--server-side", "-k", CLUSTER.toString());
    assertThat(install.exit()).as(install.toString()).isZero();

    Deployment deployment = admin.apps().deployments().inNamespace(SYSTEM_NS)
        .withName("agentcube-proxy").get();
    Service service = admin.services().inNamespace(SYSTEM_NS).withName("agentcube-proxy").get();
    PodTemplateSpec pod = deployment.getSpec().getTemplate();
    Container container = pod.getSpec().getContainers().get(0);

    assertThat(deployment.getSpec().getReplicas()).isEqualTo(2);
    // The identity rbac.yaml binds; another name would run the proxy with no permissions.
    assertThat(pod.getSpec().getServiceAccountName()).isEqualTo("agentcube-proxy");
    assertThat(admin.serviceAccounts().inNamespace(SYSTEM_NS).withName("agentcube-proxy").get())
        .isNotNull();
    // SIGKILL only after the proxy's stop had its time.
    assertThat(pod.getSpec().getTerminationGracePeriodSeconds()).isGreaterThanOrEqualTo(STOP_SECONDS);
    assertThat(container.getArgs()).contains("--backend=kubernetes", "--server.host=0.0.0.0");
    assertThat(container.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/health/ready");
    assertThat(container.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/health/live");
    assertThat(container.getEnv()).extracting(e -> e.getName()).contains("POD_NAME", "POD_NAMESPACE");
    // The Service reaches the Deployment's pods, on the container's port 8080.
    assertThat(pod.getMetadata().getLabels()).containsAllEntriesOf(service.getSpec().getSelector());
    assertThat(service.getSpec().getPorts()).singleElement().satisfies(p -> {
      assertThat(p.getPort()).isEqualTo(80);
      assertThat(p.getName()).isEqualTo("http");
      assertThat(container.getPorts()).anySatisfy(c -> {
        assertThat(c.getName()).isEqualTo(p.getTargetPort().getStrVal());
        assertThat(c.getContainerPort()).isEqualTo(8080);
      });
    });
    // The proxy's own pods must never look like sandboxes, which carry this label.
    assertThat(pod.getMetadata().getLabels()).doesNotContainKey(TestKubelet.MANAGED_BY_LABEL);
  }

  @Test
  void proxyUser_eachRuleOfRbacYaml_allowsTheBackendsCalls() throws Exception {
    cluster.applyProxyRbac();
    admin.genericKubernetesResources(CODE_INTERPRETERS).inNamespace(NS)
        .resource(codeInterpreter("rbac-ci")).serverSideApply();

    // pods: watch, list, create, get, the claim patch guarded by resourceVersion, delete.
    List<String> seen = new CopyOnWriteArrayList<>();
    try (Watch watch = proxy.pods().inNamespace(NS).watch(new Watcher<Pod>() {
      @Override
      public void eventReceived(Action action, Pod pod) {
        seen.add(action + " " + pod.getMetadata().getName());
      }

      @Override
      public void onClose(WatcherException cause) {
      }
    })) {
      assertThat(proxy.pods().inNamespace(NS).list().getItems())
          .noneMatch(p -> p.getMetadata().getName().equals("rbac-pod"));
      Pod created = proxy.pods().inNamespace(NS).resource(sandboxPod("rbac-pod")).create();
      await("watch event for rbac-pod").atMost(WAIT).until(() -> seen.contains("ADDED rbac-pod"));
      Pod warm = proxy.pods().inNamespace(NS).withName("rbac-pod").get();
      String version = warm.getMetadata().getResourceVersion();
      Pod claimed = proxy.pods().inNamespace(NS).resource(warm).patch(
          PatchContext.of(PatchType.JSON_MERGE), claimPatch(version, "s-1"));
      assertThat(claimed.getMetadata().getLabels())
          .containsEntry("runtime.agentcube.volcano.sh/state", "bound");
      // The claim's guard: a second claim with the version read before the first is refused.
      assertThatThrownBy(() -> proxy.pods().inNamespace(NS).resource(warm).patch(
              PatchContext.of(PatchType.JSON_MERGE), claimPatch(version, "s-2")))
          .isInstanceOfSatisfying(KubernetesClientException.class,
              e -> assertThat(e.getCode()).isEqualTo(409));
      assertThat(proxy.pods().inAnyNamespace().list().getItems()).extracting(p -> p.getMetadata().getName())
          .contains(created.getMetadata().getName());
      proxy.pods().inNamespace(NS).withName("rbac-pod").delete();
      await("rbac-pod deleted").atMost(WAIT).until(() -> seen.contains("DELETED rbac-pod"));
    }

    // events on a runtime: create, then patch when it repeats.
    GenericKubernetesResource ci = proxy.genericKubernetesResources(CODE_INTERPRETERS).inNamespace(NS)
        .withName("rbac-ci").get();
    Event event = proxy.v1().events().inNamespace(NS).resource(new EventBuilder()
        .withNewMetadata().withName("rbac-ci.cold-start-timeout").endMetadata()
        .withNewInvolvedObject()
          .withApiVersion(GROUP + "/v1alpha1").withKind("CodeInterpreter")
          .withNamespace(NS).withName("rbac-ci").withUid(ci.getMetadata().getUid())
        .endInvolvedObject()
        .withType("Warning").withReason("ColdStartTimeout").withMessage("no pod Ready within 60s")
        .withCount(1).withNewSource().withComponent("agentcube-proxy").endSource()
        .build()).create();
    // resource(event), not withName(..): fabric8 8.0.0's withName(..).patch(..) GETs the object
    // first, and events are not readable.
    Event repeated = proxy.v1().events().inNamespace(NS).resource(event)
        .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"count\": 2}");
    assertThat(repeated.getCount()).isEqualTo(2);

    // the runtime API: read every kind in every namespace, write a runtime's status.
    for (String plural : List.of("agentruntimes", "codeinterpreters", "agentendpoints",
        "codeinterpreterendpoints")) {
      assertThat(proxy.genericKubernetesResources(kindContext(plural)).inAnyNamespace().list())
          .as(plural).isNotNull();
    }
    proxy.genericKubernetesResources(CODE_INTERPRETERS).inNamespace(NS).withName("rbac-ci")
        .subresource("status").patch(PatchContext.of(PatchType.JSON_MERGE),
            "{\"status\": {\"ready\": true, \"warmPool\": {\"desired\": 2, \"ready\": 1}}}");
    GenericKubernetesResource withStatus = proxy.genericKubernetesResources(CODE_INTERPRETERS)
        .inNamespace(NS).withName("rbac-ci").get();
    withStatus.setAdditionalProperty("status", Map.of("ready", true, "activeSessions", 1,
        "warmPool", Map.of("desired", 2, "ready", 2)));
    proxy.genericKubernetesResources(CODE_INTERPRETERS).inNamespace(NS).resource(withStatus)
        .subresource("status").update();
    JsonObject status = new JsonObject(admin.genericKubernetesResources(CODE_INTERPRETERS)
        .inNamespace(NS).withName("rbac-ci").get().getAdditionalProperties()).getJsonObject("status");
    assertThat(status.getInteger("activeSessions")).isEqualTo(1);
    assertThat(status.getJsonObject("warmPool").getInteger("ready")).isEqualTo(2);

    // versions: ControllerRevisions create, get, list, delete.
    ControllerRevision revision = proxy.apps().controllerRevisions().inNamespace(NS)
        .resource(new ControllerRevisionBuilder()
            .withNewMetadata().withName("rbac-ci-v1").endMetadata()
            .withRevision(1L).withData(Map.of("template", Map.of("image", "python:3.12-slim")))
            .build()).create();
    assertThat(proxy.apps().controllerRevisions().inNamespace(NS).withName("rbac-ci-v1").get())
        .isNotNull();
    assertThat(proxy.apps().controllerRevisions().inAnyNamespace().list().getItems())
        .extracting(r -> r.getMetadata().getName()).contains(revision.getMetadata().getName());
    proxy.apps().controllerRevisions().inNamespace(NS).withName("rbac-ci-v1").delete();

    // leader election: create the Lease, read it, renew it.
    proxy.leases().inNamespace(SYSTEM_NS).resource(new LeaseBuilder()
        .withNewMetadata().withName(LEASE).endMetadata()
        .withNewSpec().withHolderIdentity("agentcube-proxy-a").withLeaseDurationSeconds(15).endSpec()
        .build()).create();
    Lease lease = proxy.leases().inNamespace(SYSTEM_NS).withName(LEASE).get();
    lease.getSpec().setHolderIdentity("agentcube-proxy-b");
    Lease renewed = proxy.leases().inNamespace(SYSTEM_NS).resource(lease).update();
    assertThat(renewed.getSpec().getHolderIdentity()).isEqualTo("agentcube-proxy-b");

    // the shared PicoD signing key: the first replica creates it, every replica reads it.
    proxy.secrets().inNamespace(SYSTEM_NS).resource(new SecretBuilder()
        .withNewMetadata().withName(KEY_SECRET).endMetadata()
        .addToStringData("private-key.pem", "test")
        .build()).create();
    assertThat(proxy.secrets().inNamespace(SYSTEM_NS).withName(KEY_SECRET).get().getData())
        .containsKey("private-key.pem");
  }

  @Test
  void proxyUser_notGranted_forbidden() {
    cluster.applyProxyRbac();
    admin.secrets().inNamespace(SYSTEM_NS).resource(new SecretBuilder()
        .withNewMetadata().withName("other-secret").endMetadata()
        .addToStringData("k", "v").build()).serverSideApply();
    admin.genericKubernetesResources(CODE_INTERPRETERS).inNamespace(NS)
        .resource(codeInterpreter("rbac-ci-spec")).serverSideApply();

    assertForbidden("list secrets", () -> proxy.secrets().inNamespace(SYSTEM_NS).list());
    assertForbidden("get another secret",
        () -> proxy.secrets().inNamespace(SYSTEM_NS).withName("other-secret").get());
    assertForbidden("list secrets in a runtime's namespace", () -> proxy.secrets().inNamespace(NS).list());
    assertForbidden("delete the leader lease",
        () -> proxy.leases().inNamespace(SYSTEM_NS).withName(LEASE).delete());
    assertForbidden("get another lease",
        () -> proxy.leases().inNamespace(SYSTEM_NS).withName("other-lease").get());
    assertForbidden("create a deployment", () -> proxy.apps().deployments().inNamespace(NS)
        .resource(new DeploymentBuilder()
            .withNewMetadata().withName("not-allowed").endMetadata()
            .withNewSpec()
              .withNewSelector().addToMatchLabels("app", "x").endSelector()
              .withNewTemplate()
                .withNewMetadata().addToLabels("app", "x").endMetadata()
                .withNewSpec().addNewContainer().withName("c").withImage("x").endContainer().endSpec()
              .endTemplate()
            .endSpec()
            .build()).create());
    assertForbidden("change a runtime's spec", () -> proxy.genericKubernetesResources(CODE_INTERPRETERS)
        .inNamespace(NS).withName("rbac-ci-spec")
        .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\": {\"warmPoolSize\": 9}}"));
  }

  @Test
  void proxyUser_accessReviews_allowExactlyTheVerbsOfRbacYaml() {
    cluster.applyProxyRbac();
    Set<String> podVerbs = Set.of("get", "list", "watch", "create", "delete", "patch");
    Set<String> read = Set.of("get", "list", "watch");
    Set<String> statusVerbs = Set.of("get", "patch", "update");
    Set<String> revisionVerbs = Set.of("get", "list", "watch", "create", "delete");

    // (group, resource/subresource, namespace ("" = all), name) -> the verbs allowed.
    Map<String, Set<String>> expected = new LinkedHashMap<>();
    for (String ns : List.of(NS, "")) {
      expected.put(key("", "pods", ns, null), podVerbs);
      expected.put(key("apps", "controllerrevisions", ns, null), revisionVerbs);
      for (String plural : List.of("agentruntimes", "codeinterpreters", "agentendpoints",
          "codeinterpreterendpoints")) {
        expected.put(key(GROUP, plural, ns, null), read);
        expected.put(key(GROUP, plural + "/status", ns, null), statusVerbs);
      }
    }
    expected.put(key("", "events", NS, null), Set.of("create", "patch"));
    expected.put(key("authentication.k8s.io", "tokenreviews", "", null), Set.of("create"));
    expected.put(key("coordination.k8s.io", "leases", SYSTEM_NS, null), Set.of("create"));
    expected.put(key("coordination.k8s.io", "leases", SYSTEM_NS, LEASE), Set.of("create", "get", "update", "patch"));
    expected.put(key("coordination.k8s.io", "leases", SYSTEM_NS, "other"), Set.of("create"));
    expected.put(key("coordination.k8s.io", "leases", NS, null), Set.of());
    expected.put(key("", "secrets", SYSTEM_NS, null), Set.of("create"));
    expected.put(key("", "secrets", SYSTEM_NS, KEY_SECRET), Set.of("create", "get"));
    expected.put(key("", "secrets", SYSTEM_NS, "other"), Set.of("create"));
    expected.put(key("", "secrets", NS, null), Set.of());
    // Never: a shell or logs of a sandbox, a pod's status (the kubelet's), other workloads.
    expected.put(key("", "pods/exec", NS, null), Set.of());
    expected.put(key("", "pods/log", NS, null), Set.of());
    expected.put(key("", "pods/status", NS, null), Set.of());
    expected.put(key("", "configmaps", SYSTEM_NS, null), Set.of());
    expected.put(key("", "namespaces", "", null), Set.of());
    expected.put(key("apps", "deployments", NS, null), Set.of());
    // auth.mode kubernetes: a caller's token checked by TokenReview (cluster-scoped).
    expected.put(key("authentication.k8s.io", "tokenreviews", "", null), Set.of("create"));

    assertThat(allowed(expected, this::selfAllowed)).isEqualTo(sorted(expected));
  }

  @Test
  @Order(4) // after the cluster overlay's applies: the same objects, moved to one namespace
  void applyServerSide_namespaced_proxyMayWorkInItsNamespaceOnly() {
    Kubectl.Result install = kubectl.run("apply", "--server-side", "-k", NAMESPACED.toString());
    assertThat(install.exit()).as(install.toString()).isZero();
    assertThat(install.output()).as(install.toString()).doesNotContainIgnoringCase("error");
    Deployment deployment = admin.apps().deployments().inNamespace(OWN_NS)
        .withName("agentcube-proxy").get();
    assertThat(deployment.getSpec().getTemplate().getSpec().getContainers().get(0).getArgs())
        .contains("--kubernetes.namespaces=$(POD_NAMESPACE)");

    // What that overlay's ServiceAccount may do, asked of the authorizer by the admin.
    String user = "system:serviceaccount:" + OWN_NS + ":agentcube-proxy";
    AccessCheck asProxy = (group, resource, namespace, name, verb) ->
        subjectAllowed(user, group, resource, namespace, name, verb);
    await("RBAC of " + NAMESPACED + " in effect").atMost(WAIT)
        .until(() -> asProxy.allowed("", "pods", OWN_NS, null, "create"));
    Set<String> podVerbs = Set.of("get", "list", "watch", "create", "delete", "patch");
    Map<String, Set<String>> expected = new LinkedHashMap<>();
    expected.put(key("", "pods", OWN_NS, null), podVerbs);
    expected.put(key("", "events", OWN_NS, null), Set.of("create", "patch"));
    expected.put(key("apps", "controllerrevisions", OWN_NS, null),
        Set.of("get", "list", "watch", "create", "delete"));
    expected.put(key(GROUP, "codeinterpreters", OWN_NS, null), Set.of("get", "list", "watch"));
    expected.put(key(GROUP, "agentruntimes/status", OWN_NS, null), Set.of("get", "patch", "update"));
    expected.put(key("coordination.k8s.io", "leases", OWN_NS, LEASE),
        Set.of("create", "get", "update", "patch"));
    expected.put(key("", "secrets", OWN_NS, KEY_SECRET), Set.of("create", "get"));
    expected.put(key("authentication.k8s.io", "tokenreviews", "", null), Set.of("create"));
    // Nothing outside its namespace: not the runtimes of others, not a list across namespaces.
    for (String elsewhere : List.of(NS, SYSTEM_NS, "")) {
      expected.put(key("", "pods", elsewhere, null), Set.of());
      expected.put(key(GROUP, "codeinterpreters", elsewhere, null), Set.of());
      expected.put(key("apps", "controllerrevisions", elsewhere, null), Set.of());
    }
    expected.put(key("", "secrets", OWN_NS, null), Set.of("create"));
    expected.put(key("", "pods/exec", OWN_NS, null), Set.of());

    assertThat(allowed(expected, asProxy)).isEqualTo(sorted(expected));
  }

  /** One access question: may the user in question do {@code verb} on that resource? */
  @FunctionalInterface
  private interface AccessCheck {
    boolean allowed(String group, String resource, String namespace, String name, String verb);
  }

  /** For every key of {@code expected}, the verbs {@code check} allows, sorted. */
  private static Map<String, Set<String>> allowed(Map<String, Set<String>> expected,
      AccessCheck check) {
    Map<String, Set<String>> allowed = new TreeMap<>();
    for (String k : expected.keySet()) {
      String[] p = k.split("\\|", -1);
      Set<String> verbs = new TreeSet<>();
      for (String verb : List.of("get", "list", "watch", "create", "update", "patch", "delete",
          "deletecollection")) {
        if (check.allowed(p[0], p[1], p[2], p[3].isEmpty() ? null : p[3], verb)) {
          verbs.add(verb);
        }
      }
      allowed.put(k, verbs);
    }
    return allowed;
  }

  private static Map<String, Set<String>> sorted(Map<String, Set<String>> map) {
    Map<String, Set<String>> sorted = new TreeMap<>();
    map.forEach((k, v) -> sorted.put(k, new TreeSet<>(v)));
    return sorted;
  }

  private static void requireOk(Kubectl.Result result) {
    if (result.exit() != 0) {
      throw new IllegalStateException("kubectl failed: " + result);
    }
  }

  private boolean selfAllowed(String group, String resource, String namespace, String name,
      String verb) {
    String subresource = null;
    int slash = resource.indexOf('/');
    if (slash > 0) {
      subresource = resource.substring(slash + 1);
      resource = resource.substring(0, slash);
    }
    SelfSubjectAccessReview review = new SelfSubjectAccessReviewBuilder()
        .withNewSpec().withNewResourceAttributes()
          .withGroup(group).withResource(resource).withSubresource(subresource)
          .withNamespace(namespace).withName(name).withVerb(verb)
        .endResourceAttributes().endSpec()
        .build();
    SelfSubjectAccessReview answer = proxy.authorization().v1().selfSubjectAccessReview().create(review);
    return Boolean.TRUE.equals(answer.getStatus().getAllowed());
  }
  private static boolean subjectAllowed(String user, String group, String resource,
      String namespace, String name, String verb) {
    String subresource = null;
    int slash = resource.indexOf('/');
    if (slash > 0) {
      subresource = resource.substring(slash + 1);
      resource = resource.substring(0, slash);
    }
    String ns = user.split(":")[2];
    SubjectAccessReview review = new SubjectAccessReviewBuilder()
        .withNewSpec()
          .withUser(user)
          .withGroups("system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated")
          .withNewResourceAttributes()
            .withGroup(group).withResource(resource).withSubresource(subresource)
            .withNamespace(namespace).withName(name).withVerb(verb)
          .endResourceAttributes()
        .endSpec()
        .build();
    SubjectAccessReview answer = admin.authorization().v1().subjectAccessReview().create(review);
    return Boolean.TRUE.equals(answer.getStatus().getAllowed());
  }


  private static String key(String group, String resource, String namespace, String name) {
    return group + "|" + resource + "|" + namespace + "|" + (name == null ? "" : name);
  }

  private static void assertForbidden(String what, ThrowingCallable call) {
    assertThatThrownBy(call).as(what)
        .isInstanceOfSatisfying(KubernetesClientException.class,
            e -> assertThat(e.getCode()).as(what + ": " + e.getMessage()).isEqualTo(403));
  }

  private static ResourceDefinitionContext kindContext(String plural) {
    return new ResourceDefinitionContext.Builder()
        .withGroup(GROUP).withVersion("v1alpha1").withPlural(plural).withNamespaced(true).build();
  }

  private static GenericKubernetesResource codeInterpreter(String name) {
    GenericKubernetesResource ci = new GenericKubernetesResource();
    ci.setApiVersion(GROUP + "/v1alpha1");
    ci.setKind("CodeInterpreter");
    ci.setMetadata(new ObjectMetaBuilder()
        .withName(name).withNamespace(NS).build());
    ci.setAdditionalProperty("spec", Map.of("template", Map.of("image", "python:3.12-slim")));
    return ci;
  }

  /** A pod as the backend makes one (labels per design.md §7); no kubelet runs it here. */
  private static Pod sandboxPod(String name) {
    return new PodBuilder()
        .withNewMetadata()
          .withName(name)
          .addToLabels(TestKubelet.MANAGED_BY_LABEL, TestKubelet.MANAGED_BY)
          .addToLabels("runtime.agentcube.volcano.sh/runtime", "rbac-ci")
          .addToLabels("runtime.agentcube.volcano.sh/state", "warm")
        .endMetadata()
        .withNewSpec()
          .addNewContainer().withName("sandbox").withImage("python:3.12-slim").endContainer()
        .endSpec()
        .build();
  }

  /** The warm claim: bind the pod to a session, only if it is still the version read. */
  private static String claimPatch(String resourceVersion, String session) {
    return new JsonObject()
        .put("metadata", new JsonObject()
            .put("resourceVersion", resourceVersion)
            .put("labels", new JsonObject()
                .put("runtime.agentcube.volcano.sh/state", "bound")
                .put("runtime.agentcube.volcano.sh/session-id", session)))
        .encode();
  }
}
