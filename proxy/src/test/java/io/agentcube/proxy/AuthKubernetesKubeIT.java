package io.agentcube.proxy;

import static io.agentcube.proxy.AuthIT.assertUnauthenticated;
import static io.agentcube.proxy.AuthIT.call;
import static io.agentcube.proxy.AuthIT.create;
import static io.agentcube.proxy.AuthIT.ids;
import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.agentcube.proxy.config.ConfigException;
import io.agentcube.proxy.config.ProxyConfig;
import io.agentcube.runtime.RuntimeKind;
import io.agentcube.testenv.KubeTestCluster;
import io.agentcube.testenv.Repo;
import io.agentcube.testenv.TestKubelet;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccountBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code auth.mode: kubernetes} against the real kube-apiserver of k8s/testenv: ServiceAccount
 * tokens from the TokenRequest API and a user token (the token file's {@code admin}, group
 * {@code system:masters}) are reviewed by the API server, as the proxy's ServiceAccount with only
 * the grants of {@code k8s/base/rbac.yaml} and {@code k8s/overlays/cluster/rbac.yaml}. Sandboxes are local processes ({@code backend: process}
 * with {@code kubernetes.kubeconfig}); one proxy runs {@code backend: kubernetes}.
 *
 * <p>The outage cases go through a TCP relay in front of the API server that the test can cut
 * (every connection closed, new ones closed at once) or turn into a black hole (connections
 * accepted, nothing answered), so no sleep stands in for a server that is down.
 */
class AuthKubernetesKubeIT {

  private static final String TEAM = "team";
  private static final String ALICE_USER = "system:serviceaccount:team:alice";

  @TempDir
  static Path tmp;
  private static KubeTestCluster cluster;
  private static Vertx vertx;
  private static KubernetesClient admin;
  private static Relay relay;
  private static ProxyFixture f;
  private static ProxyFixture viaRelay;
  private static ProxyFixture withAudience;
  private static String alice;
  private static String bob;
  private static String aliceForAgentcube;
  private static String adminUser;

  @BeforeAll
  static void start() throws Exception {
    cluster = KubeTestCluster.start();
    vertx = Vertx.vertx();
    admin = cluster.adminClient(vertx);
    for (String ns : List.of("agentcube-system", TEAM)) {
      admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata()
          .build()).serverSideApply();
    }
    cluster.applyProxyRbac();
    for (String sa : List.of("alice", "bob")) {
      admin.serviceAccounts().inNamespace(TEAM).resource(new ServiceAccountBuilder().withNewMetadata()
          .withName(sa).endMetadata().build()).serverSideApply();
    }
    alice = token("alice", List.of());
    bob = token("bob", List.of());
    aliceForAgentcube = token("alice", List.of("agentcube"));
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("token: (\\S+)")
        .matcher(Files.readString(cluster.adminKubeconfig()));
    assertThat(m.find()).as("the admin kubeconfig has a token").isTrue();
    adminUser = m.group(1);

    TestRuntimes.write(tmp.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", 0, "2m", "8h"));
    f = fixture("main", cluster.proxyKubeconfig(), Map.of());
    withAudience = fixture("audience", cluster.proxyKubeconfig(), Map.of("auth.kubernetes.audiences", "agentcube"));
    relay = new Relay(vertx, URI.create(cluster.url()).getPort());
    viaRelay = fixture("relay", kubeconfigVia(relay.port()), Map.of());
  }

  private static ProxyFixture fixture(String name, Path kubeconfig, Map<String, Object> extra) throws Exception {
    Map<String, Object> config = new java.util.HashMap<>(Map.of("auth.mode", "kubernetes",
        "kubernetes.kubeconfig", kubeconfig.toString(), "auth.adminRole", "system:masters",
        "auth.kubernetes.timeout", "1s"));
    config.putAll(extra);
    return ProxyFixture.start(tmp.resolve("runtimes"), tmp.resolve("state-" + name), false, config);
  }

  @AfterAll
  static void stop() throws Exception {
    for (ProxyFixture p : new ProxyFixture[] {f, withAudience, viaRelay}) {
      if (p != null) {
        p.close();
      }
    }
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  /** A token of ServiceAccount {@code team/name} from the TokenRequest API. */
  private static String token(String name, List<String> audiences) {
    return admin.serviceAccounts().inNamespace(TEAM).withName(name).tokenRequest(new TokenRequestBuilder()
        .withNewSpec().withAudiences(audiences).withExpirationSeconds(3600L).endSpec().build())
        .getStatus().getToken();
  }

  /** The proxy's kubeconfig with the server at {@code 127.0.0.1:port} (the relay). */
  private static Path kubeconfigVia(int port) throws Exception {
    String text = Files.readString(cluster.proxyKubeconfig()).replace(cluster.url(), "https://127.0.0.1:" + port);
    return Files.writeString(Files.createTempFile(tmp, "relay", ".kubeconfig"), text);
  }

  /** The proxy's kubeconfig authenticated with {@code token} instead. */
  private static Path kubeconfigWithToken(String token) throws Exception {
    String text = Files.readString(cluster.proxyKubeconfig()).replaceAll("token: \\S+", "token: " + token);
    return Files.writeString(Files.createTempFile(tmp, "user", ".kubeconfig"), text);
  }

  private static HttpResponse<String> as(ProxyFixture p, String token, String method, String path) throws Exception {
    return call(p, method, path, "Bearer " + token, null, null);
  }

  @Test
  void serviceAccountToken_authenticatedAsItsUser_ownsTheSessionsItOpens() throws Exception {
    String id = create(f, alice);
    assertThat(json(as(f, alice, "GET", "/v1/sessions/" + id), 200).getString("owner")).isEqualTo(ALICE_USER);
    // The data plane too: a session opened by an invocation belongs to the token's user.
    HttpResponse<String> invoked = call(f, "GET", ProxyFixture.invoke("echo", "/"), "Bearer " + alice, null, null);
    String byInvocation = sessionId(invoked);
    assertThat(json(invoked, 200).getJsonObject("headers").getString("authorization"))
        .as("the client's token never reaches the sandbox").isNull();
    assertThat(json(as(f, alice, "GET", "/v1/sessions/" + byInvocation), 200).getString("owner")).isEqualTo(ALICE_USER);
    assertThat(ids(as(f, alice, "GET", "/v1/sessions"))).contains(id, byInvocation);
    as(f, alice, "DELETE", "/v1/sessions/" + id);
    as(f, alice, "DELETE", "/v1/sessions/" + byInvocation);
  }

  @Test
  void anotherServiceAccount_getsNotFound_forEveryRouteOfTheSession() throws Exception {
    String id = create(f, alice);
    assertThat(json(as(f, bob, "GET", "/v1/sessions/" + id), 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
    assertThat(json(as(f, bob, "DELETE", "/v1/sessions/" + id), 404).getString("code")).isEqualTo("SESSION_NOT_FOUND");
    assertThat(json(call(f, "GET", ProxyFixture.invoke("echo", "/"), "Bearer " + bob, id, null), 404)
        .getString("code")).isEqualTo("SESSION_NOT_FOUND");
    assertThat(ids(as(f, bob, "GET", "/v1/sessions"))).doesNotContain(id);
    assertThat(json(as(f, alice, "GET", "/v1/sessions/" + id), 200).getString("owner"))
        .as("still alice's, untouched").isEqualTo(ALICE_USER);
    as(f, alice, "DELETE", "/v1/sessions/" + id);
  }

  @Test
  void garbageOrForgedToken_401() throws Exception {
    assertUnauthenticated(as(f, "garbage-garbage-garbage", "GET", "/v1/sessions"));
    // Alice's token with its signature altered: a JWT the API server did not sign.
    char last = alice.charAt(alice.length() - 2);
    String forged = alice.substring(0, alice.length() - 2) + (last == 'A' ? 'B' : 'A') + alice.charAt(alice.length() - 1);
    assertUnauthenticated(as(f, forged, "GET", "/v1/sessions"));
    assertUnauthenticated(call(f, "GET", "/v1/sessions", null, null, null));
    assertUnauthenticated(call(f, "GET", "/v1/sessions", "Basic " + alice, null, null));
  }

  @Test
  void adminGroup_userTokenInSystemMasters_seesAndEndsEverySession() throws Exception {
    String alices = create(f, alice);
    String bobs = create(f, bob);
    assertThat(ids(as(f, adminUser, "GET", "/v1/sessions"))).contains(alices, bobs);
    assertThat(ids(as(f, alice, "GET", "/v1/sessions"))).contains(alices).doesNotContain(bobs);
    assertThat(json(as(f, adminUser, "GET", "/v1/sessions/" + bobs), 200).getString("owner"))
        .isEqualTo("system:serviceaccount:team:bob");
    assertThat(json(as(f, adminUser, "DELETE", "/v1/sessions/" + bobs), 200).getString("status")).isEqualTo("deleted");
    assertThat(json(as(f, adminUser, "DELETE", "/v1/sessions/" + alices), 200).getString("status")).isEqualTo("deleted");
    String own = create(f, adminUser);
    assertThat(json(as(f, adminUser, "GET", "/v1/sessions/" + own), 200).getString("owner"))
        .as("a user token's subject is its user name").isEqualTo("admin");
    as(f, adminUser, "DELETE", "/v1/sessions/" + own);
  }

  @Test
  void audiences_onlyTokensIssuedForThem_notTheApiServersOwn_norAudienceBlindUserTokens() throws Exception {
    assertThat(json(as(withAudience, aliceForAgentcube, "GET", "/v1/sessions"), 200).getJsonArray("items")).isNotNull();
    assertUnauthenticated(as(withAudience, alice, "GET", "/v1/sessions"));
    // The token file's user knows no audiences: not a token for "agentcube".
    assertUnauthenticated(as(withAudience, adminUser, "GET", "/v1/sessions"));
    // And the other way round: a token for "agentcube" is not one for the API server.
    assertUnauthenticated(as(f, aliceForAgentcube, "GET", "/v1/sessions"));
  }

  @Test
  void apiServerUnreachable_newToken503_cachedTokenStillServed_thenRecovers() throws Exception {
    String fresh = token("bob", List.of());
    assertThat(as(viaRelay, alice, "GET", "/v1/sessions").statusCode()).isEqualTo(200); // now cached
    relay.mode(Relay.Mode.REFUSE);
    try {
      HttpResponse<String> r = as(viaRelay, fresh, "GET", "/v1/sessions");
      assertThat(json(r, 503).getString("code")).isEqualTo("AUTH_UNAVAILABLE");
      assertThat(r.headers().firstValue("retry-after")).isPresent();
      assertThat(r.body()).doesNotContain("Exception").doesNotContain("127.0.0.1");
      assertThat(as(viaRelay, alice, "GET", "/v1/sessions").statusCode())
          .as("a token reviewed within auth.cache.ttl needs no API server").isEqualTo(200);
    } finally {
      relay.mode(Relay.Mode.PASS);
    }
    // AUTH_UNAVAILABLE is never cached: the same token works as soon as the server answers.
    assertThat(as(viaRelay, fresh, "GET", "/v1/sessions").statusCode()).isEqualTo(200);
  }

  @Test
  void apiServerSilent_503WithinTheReviewTimeout() throws Exception {
    String fresh = token("alice", List.of());
    relay.mode(Relay.Mode.SWALLOW);
    try {
      long t0 = System.nanoTime();
      HttpResponse<String> r = as(viaRelay, fresh, "GET", "/v1/sessions");
      long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertThat(json(r, 503).getString("code")).isEqualTo("AUTH_UNAVAILABLE");
      assertThat(ms).as("bounded by auth.kubernetes.timeout (1s) plus slack").isLessThan(5_000);
    } finally {
      relay.mode(Relay.Mode.PASS);
    }
    assertThat(as(viaRelay, fresh, "GET", "/v1/sessions").statusCode()).isEqualTo(200);
  }

  @Test
  void start_identityWithoutTokenReviewGrant_failsNamingTheRbacRule() throws Exception {
    ProxyConfig config = ProxyConfig.builder().set("server.port", 0)
        .set("runtimes.dirs", tmp.resolve("runtimes").toString())
        .set("process.stateDir", tmp.resolve("state-norbac").toString())
        .set("auth.mode", "kubernetes")
        .set("kubernetes.kubeconfig", kubeconfigWithToken(alice).toString()).build();
    assertThatThrownBy(() -> AgentCubeProxy.start(config).toCompletionStage().toCompletableFuture()
        .get(60, TimeUnit.SECONDS))
        .hasCauseInstanceOf(ConfigException.class)
        .hasMessageContaining("may not create tokenreviews.authentication.k8s.io");
  }

  @Test
  void start_apiServerUnreachable_failsNamingTheKey() throws Exception {
    int closed;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    ProxyConfig config = ProxyConfig.builder().set("server.port", 0)
        .set("runtimes.dirs", tmp.resolve("runtimes").toString())
        .set("process.stateDir", tmp.resolve("state-down").toString())
        .set("auth.mode", "kubernetes").set("auth.kubernetes.timeout", "1s")
        .set("kubernetes.kubeconfig", kubeconfigVia(closed).toString()).build();
    assertThatThrownBy(() -> AgentCubeProxy.start(config).toCompletionStage().toCompletableFuture()
        .get(60, TimeUnit.SECONDS))
        .hasCauseInstanceOf(ConfigException.class)
        .hasMessageContaining("no TokenReview from the API server")
        .hasMessageContaining("kubernetes.kubeconfig");
  }

  @Test
  void kubernetesBackend_serviceAccountOwnsItsPodSession_anotherGets404_adminSeesIt() throws Exception {
    String ns = "tr-kube";
    cluster.apply(Repo.root().resolve("k8s/crds"));
    admin.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata()
        .build()).serverSideApply();
    Path runtime = Files.writeString(tmp.resolve("kube-echo.yaml"),
        TestRuntimes.pod("echo", ns, "agentcube/echo:test", "2m", "8h", 0, Map.of()));
    cluster.apply(runtime);
    ProxyConfig config = ProxyConfig.builder().set("server.port", 0).set("server.eventLoops", 2)
        .set("backend", "kubernetes")
        .set("kubernetes.kubeconfig", cluster.proxyKubeconfig().toString())
        .set("kubernetes.namespaces", ns)
        .set("kubernetes.identity", "tokenreview-proxy")
        .set("kubernetes.leaseNamespace", "agentcube-system")
        .set("kubernetes.leaseDuration", "3s").set("kubernetes.renewDeadline", "2s")
        .set("kubernetes.retryPeriod", "500ms").set("kubernetes.reconcileInterval", "500ms")
        .set("runtimes.reloadInterval", "300ms").set("pool.startTimeout", "30s")
        .set("auth.mode", "kubernetes").set("auth.adminRole", "system:masters").build();
    Path echo = Repo.root().resolve("conf/runtimes/echo_agent.py");
    try (TestKubelet kubelet = TestKubelet.start(admin, new TestKubelet.Options().namespaces(Set.of(ns))
        .command(pod -> List.of("python3", "-S", "-u", echo.toString())))) {
      AgentCubeProxy proxy = AgentCubeProxy.start(config).toCompletionStage().toCompletableFuture()
          .get(90, TimeUnit.SECONDS);
      try {
        Awaitility.await().atMost(Duration.ofSeconds(30))
            .until(() -> proxy.backend().expiryAuthority().endsIdleSessions());
        Awaitility.await().atMost(Duration.ofSeconds(30))
            .until(() -> proxy.runtimes().current(RuntimeKind.AGENT_RUNTIME, ns, "echo") != null);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        String base = "http://127.0.0.1:" + proxy.port();
        HttpResponse<String> opened = send(http, "POST", base + "/v1/agent-runtime", alice,
            "{\"namespace\":\"" + ns + "\",\"name\":\"echo\"}");
        String id = json(opened, 200).getString("sessionId");
        assertThat(json(send(http, "GET", base + "/v1/sessions/" + id, alice, null), 200).getString("owner"))
            .isEqualTo(ALICE_USER);
        assertThat(json(send(http, "GET", base + "/v1/sessions/" + id, bob, null), 404).getString("code"))
            .isEqualTo("SESSION_NOT_FOUND");
        assertThat(json(send(http, "DELETE", base + "/v1/sessions/" + id, bob, null), 404).getString("code"))
            .isEqualTo("SESSION_NOT_FOUND");
        assertThat(json(send(http, "GET", base + "/v1/sessions", adminUser, null), 200).getJsonArray("items")
            .stream().map(o -> ((io.vertx.core.json.JsonObject) o).getString("sessionId")).toList()).contains(id);
        assertUnauthenticated(send(http, "GET", base + "/v1/sessions", "garbage-token", null));
        assertThat(json(send(http, "DELETE", base + "/v1/sessions/" + id, alice, null), 200).getString("status"))
            .isEqualTo("deleted");
      } finally {
        proxy.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        admin.pods().inNamespace(ns).withGracePeriod(0).delete();
      }
    }
  }

  private static HttpResponse<String> send(HttpClient http, String method, String url, String token,
      String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
        .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  /**
   * A TCP relay on 127.0.0.1 to the API server. {@link Mode#REFUSE}: every open connection is
   * closed and new ones are closed at once (the server is unreachable); {@link Mode#SWALLOW}: open
   * connections are closed and new ones accepted but never answered (the server hangs).
   */
  static final class Relay {

    enum Mode { PASS, REFUSE, SWALLOW }

    private final NetServer server;
    private final NetClient client;
    private final int target;
    private final Set<NetSocket> open = ConcurrentHashMap.newKeySet();
    private volatile Mode mode = Mode.PASS;

    Relay(Vertx vertx, int target) throws Exception {
      this.target = target;
      this.client = vertx.createNetClient();
      this.server = vertx.createNetServer(new NetServerOptions().setHost("127.0.0.1").setPort(0))
          .connectHandler(this::accept);
      server.listen().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    int port() {
      return server.actualPort();
    }

    /** Switches mode and drops every connection made before. */
    void mode(Mode m) {
      mode = m;
      for (NetSocket s : open) {
        s.close();
      }
      open.clear();
    }

    private void accept(NetSocket in) {
      switch (mode) {
        case REFUSE -> in.close();
        case SWALLOW -> {
          open.add(in);
          in.handler(b -> { });
        }
        case PASS -> {
          in.pause();
          open.add(in);
          client.connect(target, "127.0.0.1").onComplete(ar -> {
            if (ar.failed()) {
              in.close();
              return;
            }
            NetSocket out = ar.result();
            open.add(out);
            in.closeHandler(v -> out.close());
            out.closeHandler(v -> in.close());
            in.handler(out::write);
            out.handler(in::write);
            in.resume();
          });
        }
        default -> throw new IllegalStateException(mode.toString());
      }
    }
  }
}
