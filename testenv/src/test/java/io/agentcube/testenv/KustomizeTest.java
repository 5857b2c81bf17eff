package io.agentcube.testenv;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.gatewayapi.v1.HTTPRoute;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.IngressBackend;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleRef;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every overlay of {@code k8s/} renders with {@code kubectl kustomize} (the machine's kubectl, as
 * {@code kubectl apply -k} would run it), and what it renders is an install that can work: the
 * objects each overlay promises and no others, each in the overlay's namespace; the Service and
 * the PodDisruptionBudget select the Deployment's pods; the pods run as the ServiceAccount every
 * binding names, non-root, with probes on the proxy's health routes; the RBAC kind the overlay
 * stands for. The ingress examples point at the rendered Service; the monitoring Component puts
 * its ServiceMonitor, rule and dashboard next to the Service. No API server: what the server
 * accepts is ManifestsIT's (the Kubernetes tier), which dry-runs and applies the same overlays.
 *
 * <p>Needs {@code kubectl} on the PATH (or {@code $KUBECTL}); without it every test fails and
 * says how to install it.
 */
class KustomizeTest {

  private static final Path K8S = Repo.root().resolve("k8s");
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();
  private static final String GROUP = "runtime.agentcube.volcano.sh";
  /**
   * Above the proxy's whole stop: drain grace 5 s + drain timeout 30 s + shutdown.timeout 30 s =
   * 65 s with the defaults (docs/operations.md, "Drain and upgrades").
   */
  private static final long GRACE_SECONDS = 75;
  private static final Map<Path, String> RENDERED = new ConcurrentHashMap<>();

  @TempDir
  Path work;

  @ParameterizedTest
  @ValueSource(strings = {"cluster", "namespaced"})
  void kustomize_overlay_rendersExactlyItsObjectsInItsNamespace(String overlay) throws IOException {
    List<HasMetadata> objects = render("overlays/" + overlay);
    String ns = overlay.equals("cluster") ? "agentcube-system" : "agentcube";

    Set<String> expected = new TreeSet<>(List.of(
        "Namespace " + ns,
        "ServiceAccount " + ns + "/agentcube-proxy",
        "Role " + ns + "/agentcube-proxy",
        "RoleBinding " + ns + "/agentcube-proxy",
        "ClusterRole agentcube-proxy-tokenreview",
        "ClusterRoleBinding agentcube-proxy-tokenreview",
        "Deployment " + ns + "/agentcube-proxy",
        "Service " + ns + "/agentcube-proxy",
        "PodDisruptionBudget " + ns + "/agentcube-proxy"));
    if (overlay.equals("cluster")) {
      expected.addAll(List.of("ClusterRole agentcube-proxy", "ClusterRoleBinding agentcube-proxy"));
    } else {
      expected.addAll(List.of("Role " + ns + "/agentcube-proxy-runtimes",
          "RoleBinding " + ns + "/agentcube-proxy-runtimes"));
    }
    // Every CRD file, so a new kind cannot be left out of crds/Kustomization.
    try (Stream<Path> crds = Files.list(K8S.resolve("crds"))) {
      crds.map(p -> p.getFileName().toString())
          .filter(f -> f.endsWith(".yaml"))
          .forEach(f -> expected.add("CustomResourceDefinition " + f.substring(0, f.length() - 5)));
    }
    assertThat(names(objects)).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(strings = {"cluster", "namespaced"})
  void kustomize_overlay_serviceAndBudgetSelectTheProxyPods(String overlay) {
    List<HasMetadata> objects = render("overlays/" + overlay);
    Deployment deployment = one(objects, Deployment.class, "agentcube-proxy");
    Service service = one(objects, Service.class, "agentcube-proxy");
    PodDisruptionBudget pdb = one(objects, PodDisruptionBudget.class, "agentcube-proxy");
    Map<String, String> podLabels = deployment.getSpec().getTemplate().getMetadata().getLabels();
    Container proxy = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);

    assertThat(podLabels).containsAllEntriesOf(deployment.getSpec().getSelector().getMatchLabels());
    assertThat(podLabels).containsAllEntriesOf(service.getSpec().getSelector());
    assertThat(podLabels).containsAllEntriesOf(pdb.getSpec().getSelector().getMatchLabels());
    // The label that marks sandbox pods; the proxy's own must never look like one.
    assertThat(podLabels).doesNotContainKey(TestKubelet.MANAGED_BY_LABEL);
    // Two replicas, one of which a node drain may take at a time; a rollout adds before it removes.
    assertThat(deployment.getSpec().getReplicas()).isEqualTo(2);
    assertThat(pdb.getSpec().getMaxUnavailable()).isEqualTo(new IntOrString(1));
    assertThat(deployment.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable())
        .isEqualTo(new IntOrString(0));
    // Service port 80 "http" -> the container's 8080, where the proxy listens by default.
    assertThat(service.getSpec().getPorts()).singleElement().satisfies(p -> {
      assertThat(p.getPort()).isEqualTo(80);
      assertThat(p.getName()).isEqualTo("http");
      assertThat(p.getTargetPort()).isEqualTo(new IntOrString("http"));
    });
    assertThat(proxy.getPorts()).singleElement().satisfies(p -> {
      assertThat(p.getName()).isEqualTo("http");
      assertThat(p.getContainerPort()).isEqualTo(8080);
    });
  }

  @ParameterizedTest
  @ValueSource(strings = {"cluster", "namespaced"})
  void kustomize_overlay_podRunsLockedDownWithProbesAndSizedResources(String overlay) {
    Deployment deployment = one(render("overlays/" + overlay), Deployment.class, "agentcube-proxy");
    var pod = deployment.getSpec().getTemplate().getSpec();
    Container proxy = pod.getContainers().get(0);

    assertThat(proxy.getImage()).isEqualTo("agentcube/proxy:0.1.0");
    assertThat(proxy.getArgs()).contains("--backend=kubernetes", "--server.host=0.0.0.0",
        "--auth.mode=kubernetes", "--auth.invocations=sessionId")
        .noneMatch(a -> a.startsWith("--auth.allowUnauthenticated"));
    assertThat(proxy.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/health/ready");
    assertThat(proxy.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/health/live");
    assertThat(proxy.getReadinessProbe().getHttpGet().getPort()).isEqualTo(new IntOrString("http"));
    assertThat(proxy.getLivenessProbe().getHttpGet().getPort()).isEqualTo(new IntOrString("http"));
    assertThat(pod.getTerminationGracePeriodSeconds()).isEqualTo(GRACE_SECONDS);
    assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
    assertThat(pod.getSecurityContext().getRunAsUser()).isPositive();
    assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
    assertThat(proxy.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
    assertThat(proxy.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
    assertThat(proxy.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
    // The read-only root's one writable path, java.io.tmpdir.
    assertThat(proxy.getVolumeMounts()).anySatisfy(m -> assertThat(m.getMountPath()).isEqualTo("/tmp"));
    // Requests as docs/kubernetes.md sizes them; a memory limit above the request (the heap's
    // share of it is the image's -XX:MaxRAMPercentage).
    Map<String, Quantity> requests = proxy.getResources().getRequests();
    Map<String, Quantity> limits = proxy.getResources().getLimits();
    assertThat(requests).containsEntry("cpu", new Quantity("500m"))
        .containsEntry("memory", new Quantity("512Mi"));
    assertThat(Quantity.getAmountInBytes(limits.get("memory")))
        .isGreaterThan(Quantity.getAmountInBytes(requests.get("memory")));
    // Identity and lease namespace from the downward API.
    assertThat(proxy.getEnv()).extracting(EnvVar::getName).contains("POD_NAME", "POD_NAMESPACE");
    assertThat(proxy.getEnv()).filteredOn(e -> e.getName().equals("POD_NAMESPACE")).singleElement()
        .satisfies(e -> assertThat(e.getValueFrom().getFieldRef().getFieldPath())
            .isEqualTo("metadata.namespace"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"cluster", "namespaced"})
  void kustomize_overlay_everyBindingNamesTheProxyServiceAccountAndARenderedRole(String overlay) {
    List<HasMetadata> objects = render("overlays/" + overlay);
    ServiceAccount account = one(objects, ServiceAccount.class, "agentcube-proxy");
    Deployment deployment = one(objects, Deployment.class, "agentcube-proxy");
    assertThat(deployment.getSpec().getTemplate().getSpec().getServiceAccountName())
        .isEqualTo(account.getMetadata().getName());

    List<Subject> subjects = new ArrayList<>();
    List<RoleRef> refs = new ArrayList<>();
    for (HasMetadata o : objects) {
      if (o instanceof RoleBinding b) {
        subjects.addAll(b.getSubjects());
        refs.add(b.getRoleRef());
      } else if (o instanceof ClusterRoleBinding b) {
        subjects.addAll(b.getSubjects());
        refs.add(b.getRoleRef());
      }
    }
    assertThat(subjects).isNotEmpty().allSatisfy(s -> {
      assertThat(s.getKind()).isEqualTo("ServiceAccount");
      assertThat(s.getName()).isEqualTo(account.getMetadata().getName());
      assertThat(s.getNamespace()).isEqualTo(account.getMetadata().getNamespace());
    });
    Set<String> roles = new TreeSet<>();
    objects.stream().filter(o -> o instanceof Role || o instanceof ClusterRole)
        .forEach(o -> roles.add(o.getKind() + " " + o.getMetadata().getName()));
    assertThat(refs).allSatisfy(r -> assertThat(roles).contains(r.getKind() + " " + r.getName()));
  }

  @Test
  void kustomize_cluster_sandboxRightsInEveryNamespaceAndWatchesAll() {
    List<HasMetadata> objects = render("overlays/cluster");
    ClusterRole role = one(objects, ClusterRole.class, "agentcube-proxy");
    Container proxy = one(objects, Deployment.class, "agentcube-proxy").getSpec().getTemplate()
        .getSpec().getContainers().get(0);

    assertThat(verbs(role.getRules(), "", "pods"))
        .containsExactlyInAnyOrder("get", "list", "watch", "create", "delete", "patch");
    assertThat(verbs(role.getRules(), GROUP, "codeinterpreters")).containsExactlyInAnyOrder(
        "get", "list", "watch");
    assertThat(proxy.getArgs()).noneMatch(a -> a.startsWith("--kubernetes.namespaces"));
    assertThat(tokenReviewVerbs(objects)).containsExactly("create");
  }

  @Test
  void kustomize_namespaced_sandboxRightsInItsNamespaceOnlyAndWatchesIt() {
    List<HasMetadata> objects = render("overlays/namespaced");
    Role role = one(objects, Role.class, "agentcube-proxy-runtimes");
    Container proxy = one(objects, Deployment.class, "agentcube-proxy").getSpec().getTemplate()
        .getSpec().getContainers().get(0);

    assertThat(verbs(role.getRules(), "", "pods"))
        .containsExactlyInAnyOrder("get", "list", "watch", "create", "delete", "patch");
    assertThat(verbs(role.getRules(), GROUP, "agentruntimes/status"))
        .containsExactlyInAnyOrder("get", "patch", "update");
    // The only ClusterRole: TokenReviews, which no Role can grant.
    assertThat(objects).filteredOn(o -> o instanceof ClusterRole)
        .extracting(o -> o.getMetadata().getName()).containsExactly("agentcube-proxy-tokenreview");
    assertThat(tokenReviewVerbs(objects)).containsExactly("create");
    // Its own namespace, whatever kustomize's `namespace:` says: the kubelet expands $(VAR) from
    // the container's env, POD_NAMESPACE being the downward API's metadata.namespace.
    assertThat(proxy.getArgs()).contains("--kubernetes.namespaces=$(POD_NAMESPACE)");
  }

  @Test
  void ingressExamples_sendEverythingUnderV1ToTheProxyService() {
    Service service = one(render("overlays/cluster"), Service.class, "agentcube-proxy");
    String ns = service.getMetadata().getNamespace();

    Ingress ingress = load(K8S.resolve("examples/ingress/ingress.yaml"), Ingress.class);
    assertThat(ingress.getMetadata().getNamespace()).isEqualTo(ns);
    assertThat(ingress.getSpec().getRules()).singleElement().satisfies(rule ->
        assertThat(rule.getHttp().getPaths()).singleElement().satisfies(path -> {
          assertThat(path.getPath()).isEqualTo("/v1");
          assertThat(path.getPathType()).isEqualTo("Prefix");
          IngressBackend backend = path.getBackend();
          assertThat(backend.getService().getName()).isEqualTo(service.getMetadata().getName());
          assertThat(backend.getService().getPort().getName())
              .isEqualTo(service.getSpec().getPorts().get(0).getName());
        }));
    // Streaming (SSE, uploads) is not buffered by the controller.
    assertThat(ingress.getMetadata().getAnnotations())
        .containsEntry("nginx.ingress.kubernetes.io/proxy-buffering", "off")
        .containsEntry("nginx.ingress.kubernetes.io/proxy-request-buffering", "off");

    HTTPRoute route = load(K8S.resolve("examples/ingress/httproute.yaml"), HTTPRoute.class);
    assertThat(route.getMetadata().getNamespace()).isEqualTo(ns);
    assertThat(route.getSpec().getRules()).singleElement().satisfies(rule -> {
      assertThat(rule.getMatches()).singleElement().satisfies(m -> {
        assertThat(m.getPath().getType()).isEqualTo("PathPrefix");
        assertThat(m.getPath().getValue()).isEqualTo("/v1");
      });
      // No filter: every header, the session header included, passes both ways as it is.
      assertThat(rule.getFilters()).isNullOrEmpty();
      assertThat(rule.getBackendRefs()).singleElement().satisfies(b -> {
        assertThat(b.getName()).isEqualTo(service.getMetadata().getName());
        assertThat(b.getPort()).isEqualTo(service.getSpec().getPorts().get(0).getPort());
        assertThat(b.getNamespace()).isNull();
      });
    });
  }

  @ParameterizedTest
  @ValueSource(strings = {"cluster", "namespaced"})
  void kustomize_overlayWithMonitoringComponent_addsMonitorRuleAndDashboardInItsNamespace(String overlay)
      throws IOException {
    // A user's overlay as docs/kubernetes.md writes it, inside the repository (kustomize reads
    // only at or below a kustomization's directory, and directories with a kustomization). The
    // files are k8s/monitoring's, which PrometheusIT checks against a real Prometheus.
    String ns = overlay.equals("cluster") ? "agentcube-system" : "agentcube";
    Path dir = Repo.root().resolve("testenv/target/kustomize-monitoring-" + overlay);
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("kustomization.yaml"), """
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        namespace: %s
        resources:
          - ../../../k8s/overlays/%s
        components:
          - ../../../k8s/components/monitoring
        """.formatted(ns, overlay));
    List<HasMetadata> objects = render(dir);
    Service service = one(objects, Service.class, "agentcube-proxy");
    assertThat(service.getMetadata().getNamespace()).isEqualTo(ns);

    GenericKubernetesResource monitor = objects.stream()
        .filter(o -> o.getKind().equals("ServiceMonitor")).map(GenericKubernetesResource.class::cast)
        .findFirst().orElseThrow(() -> new AssertionError("no ServiceMonitor in " + names(objects)));
    assertThat(monitor.getMetadata().getNamespace()).isEqualTo(ns);
    @SuppressWarnings("unchecked")
    Map<String, String> selector = (Map<String, String>) monitor.get("spec", "selector", "matchLabels");
    assertThat(service.getMetadata().getLabels()).containsAllEntriesOf(selector);
    // In the Service's namespace, whichever the overlay's: no namespaceSelector pinning another.
    assertThat((Object) monitor.get("spec", "namespaceSelector")).isNull();
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> endpoints = (List<Map<String, Object>>) monitor.get("spec", "endpoints");
    assertThat(endpoints).isNotEmpty().allSatisfy(e -> {
      assertThat(e.get("port")).isEqualTo(service.getSpec().getPorts().get(0).getName());
      assertThat(e.getOrDefault("path", "/metrics")).isEqualTo("/metrics");
    });
    assertThat(objects).filteredOn(o -> o.getKind().equals("PrometheusRule"))
        .singleElement().satisfies(r -> assertThat(r.getMetadata().getNamespace()).isEqualTo(ns));
    ConfigMap dashboard = one(objects, ConfigMap.class, "agentcube-proxy-dashboard");
    assertThat(dashboard.getMetadata().getNamespace()).isEqualTo(ns);
    assertThat(dashboard.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
    assertThat(dashboard.getData()).containsOnlyKeys("grafana-dashboard.json");
    assertThat(SERIALIZATION.unmarshal(dashboard.getData().get("grafana-dashboard.json"), Map.class))
        .containsKey("panels");
  }

  private List<HasMetadata> render(String underK8s) {
    return render(K8S.resolve(underK8s));
  }

  /** What {@code kubectl kustomize dir} printed, once per directory (the tests only read it). */
  private String kustomize(Path dir) {
    return RENDERED.computeIfAbsent(dir, d -> {
      Kubectl kubectl = new Kubectl(work.resolve("no-kubeconfig"), work);
      Kubectl.Result rendered = kubectl.run("kustomize", d.toString());
      assertThat(rendered.exit()).as("kubectl kustomize " + d + "\n" + rendered).isZero();
      return rendered.stdout();
    });
  }

  /** The objects {@code kubectl kustomize dir} renders, fresh for each caller. */
  private List<HasMetadata> render(Path dir) {
    List<HasMetadata> objects = new ArrayList<>();
    for (String doc : kustomize(dir).split("(?m)^---$")) {
      if (!doc.isBlank()) {
        objects.add(SERIALIZATION.unmarshal(doc, HasMetadata.class));
      }
    }
    return objects;
  }

  private static <T> T load(Path file, Class<T> type) {
    try {
      return SERIALIZATION.unmarshal(Files.readString(file), type);
    } catch (IOException e) {
      throw new AssertionError("cannot read " + file, e);
    }
  }

  private static Set<String> names(List<HasMetadata> objects) {
    Set<String> names = new TreeSet<>();
    for (HasMetadata o : objects) {
      String ns = o.getMetadata().getNamespace();
      names.add(o.getKind() + " " + (ns == null ? "" : ns + "/") + o.getMetadata().getName());
    }
    return names;
  }

  private static <T extends HasMetadata> T one(List<HasMetadata> objects, Class<T> type,
      String name) {
    List<T> found = objects.stream().filter(type::isInstance).map(type::cast)
        .filter(o -> o.getMetadata().getName().equals(name)).toList();
    assertThat(found).as(type.getSimpleName() + " " + name + " in " + names(objects)).hasSize(1);
    return found.get(0);
  }

  private static Set<String> verbs(List<PolicyRule> rules, String group, String resource) {
    Set<String> verbs = new TreeSet<>();
    for (PolicyRule rule : rules) {
      if (rule.getApiGroups().contains(group) && rule.getResources().contains(resource)
          && (rule.getResourceNames() == null || rule.getResourceNames().isEmpty())) {
        verbs.addAll(rule.getVerbs());
      }
    }
    return verbs;
  }

  private static Set<String> tokenReviewVerbs(List<HasMetadata> objects) {
    ClusterRole role = one(objects, ClusterRole.class, "agentcube-proxy-tokenreview");
    return verbs(role.getRules(), "authentication.k8s.io", "tokenreviews");
  }
}
