package io.agentcube.sandboxd;

import static io.agentcube.sandboxd.ExecuteApiTest.assertError;
import static io.agentcube.sandboxd.ExecuteApiTest.cmd;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A host's admin API and its PicoD routes over real HTTP: creating, listing and deleting
 * sandboxes, which token reaches what, the caps, and that sandboxes never see each other's files
 * through the files API. Jailed where the machine allows it; nothing here depends on it (the jail's
 * own guarantees are {@code HostIsolationIT}'s).
 */
class HostApiTest {

  static TestHost host;
  static TestClient admin;

  @BeforeAll
  static void start() {
    host = TestHost.start(o -> o.maxExecutions(32).maxSandboxes(40));
    admin = host.admin();
  }

  @AfterAll
  static void stop() {
    host.close();
  }

  static String uniqueId(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  static Map<String, Object> create(String id) {
    Map<String, Object> req = new LinkedHashMap<>();
    req.put("id", id);
    return req;
  }

  static Map<String, Object> sandbox(String id) {
    List<?> all = (List<?>) admin.get("/host/v1/sandboxes").json().get("sandboxes");
    for (Object o : all) {
      Map<?, ?> s = (Map<?, ?>) o;
      if (id.equals(s.get("id"))) {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) s;
        return m;
      }
    }
    return null;
  }

  static Map<String, Object> upload(String path, String content) {
    return Map.of("path", path,
        "content", Base64.getEncoder().encodeToString(content.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void create_list_delete_roundTrip() {
    String id = uniqueId("round");

    TestClient.Response created = admin.postJson("/host/v1/sandboxes", create(id));

    assertThat(created.status()).as(created.text()).isEqualTo(201);
    assertThat(created.json()).containsEntry("id", id).containsKey("workspace");
    if (host.server.jail().enabled()) {
      assertThat(created.json()).containsEntry("workspace", "/workspace");
    }
    Path dir = host.workspaces.resolve(id);
    assertThat(dir).isDirectory();
    assertThat(sandbox(id)).containsEntry("session", null).containsEntry("executions", 0);

    assertThat(host.session("s-1", id).execute(cmd("true")).json()).containsEntry("exit_code", 0);
    assertThat(sandbox(id)).containsEntry("session", "s-1");

    TestClient.Response deleted = admin.delete("/host/v1/sandboxes/" + id);
    assertThat(deleted.status()).as(deleted.text()).isEqualTo(204);
    assertThat(sandbox(id)).isNull();
    assertThat(dir).doesNotExist();
    assertError(host.session("s-1", id).execute(cmd("true")), 404, "SANDBOX_NOT_FOUND");
  }

  @Test
  void create_withEnv_givesItToEveryCommandOfThatSandboxOnly() {
    String id = uniqueId("env");
    Map<String, Object> req = create(id);
    req.put("env", Map.of("GREETING", "hello from create"));
    assertThat(admin.postJson("/host/v1/sandboxes", req).status()).isEqualTo(201);
    TestClient other = host.sandbox(uniqueId("noenv"));
    Map<String, Object> run = cmd("bash", "-c", "echo \"${GREETING:-none}:${MORE:-none}\"");
    run.put("env", Map.of("MORE", "more"));

    assertThat(host.session("s-env", id).execute(run).json())
        .containsEntry("stdout", "hello from create:more\n");
    assertThat(other.execute(cmd("bash", "-c", "echo ${GREETING:-none}")).json())
        .containsEntry("stdout", "none\n");
  }

  @Test
  void health_saysModeSandboxesAndIsolation() {
    host.sandbox(uniqueId("health"));

    Map<String, Object> health = host.anonymous().get("/health").json();

    assertThat(health).containsEntry("status", "ok").containsEntry("mode", "host")
        .containsKeys("version", "uptime");
    assertThat(((Number) health.get("sandboxes")).intValue()).isPositive();
    assertThat((String) health.get("isolation")).isEqualTo(host.server.jail().describe());
  }

  @Test
  void auth_tokensOfOneKindNeverWorkAsTheOther() {
    String id = uniqueId("auth");
    host.sandbox(id);
    TestClient session = host.session("s-auth", id);

    assertError(session.get("/host/v1/sandboxes"), 401, "UNAUTHORIZED");
    assertError(session.postJson("/host/v1/sandboxes", create(uniqueId("x"))), 401, "UNAUTHORIZED");
    assertError(session.delete("/host/v1/sandboxes/" + id), 401, "UNAUTHORIZED");
    assertError(admin.execute(cmd("true")), 401, "UNAUTHORIZED");
    assertError(admin.get("/api/files?path=."), 401, "UNAUTHORIZED");
    assertError(host.anonymous().get("/host/v1/sandboxes"), 401, "UNAUTHORIZED");
    assertError(host.anonymous().execute(cmd("true")), 401, "UNAUTHORIZED");
    assertThat(sandbox(id)).isNotNull(); // the refused delete did nothing
  }

  @Test
  void session_pinnedToTheFirstSessionOfItsSandbox() {
    String a = uniqueId("pin-a");
    String b = uniqueId("pin-b");
    host.sandbox(a);
    host.sandbox(b);
    assertThat(host.session("session-A", a).execute(cmd("true")).status()).isEqualTo(200);
    assertThat(host.session("session-B", b).execute(cmd("true")).status()).isEqualTo(200);

    // session A's id with B's sandbox_id: B belongs to session B
    TestClient.Response crossed = host.session("session-A", b).execute(cmd("true"));
    // a token with no sandbox_id, and one for a sandbox that does not exist
    TestClient.Response noSandbox = new TestClient(host.server.port())
        .token(TestTokens.token(TestTokens.shared().getPrivate(), "session-A"))
        .execute(cmd("true"));
    TestClient.Response unknown = host.session("session-A", "no-such-sandbox").execute(cmd("true"));

    assertError(crossed, 401, "UNAUTHORIZED");
    assertThat((String) crossed.json().get("error")).contains("another session");
    assertError(noSandbox, 401, "UNAUTHORIZED");
    assertError(unknown, 404, "SANDBOX_NOT_FOUND");
    assertError(host.session("session-B", a).get("/api/files?path=."), 401, "UNAUTHORIZED");
  }

  @Test
  void create_conflictsAndBadInput_rejected() {
    String id = uniqueId("dup");
    host.sandbox(id);
    Map<String, Object> badEnv = create(uniqueId("badenv"));
    badEnv.put("env", Map.of("N", 1));
    Map<String, Object> badNetwork = create(uniqueId("badnet"));
    badNetwork.put("network", "yes");

    assertError(admin.postJson("/host/v1/sandboxes", create(id)), 409, "SANDBOX_EXISTS");
    for (String bad : List.of("Upper", "-dash", "a".repeat(64), "../x", "a/b", "", "a_b", "a.b")) {
      assertError(admin.postJson("/host/v1/sandboxes", create(bad)), 400, "BAD_REQUEST");
    }
    assertError(admin.postJson("/host/v1/sandboxes", Map.of("env", Map.of())), 400, "BAD_REQUEST");
    assertError(admin.postJson("/host/v1/sandboxes", badEnv), 400, "BAD_REQUEST");
    assertError(admin.postJson("/host/v1/sandboxes", badNetwork), 400, "BAD_REQUEST");
    assertError(admin.postBytes("/host/v1/sandboxes", "application/json", "{\"id\":".getBytes()),
        400, "BAD_REQUEST");
    assertThat(admin.postJson("/host/v1/sandboxes", create("a".repeat(63))).status()).isEqualTo(201);
    admin.delete("/host/v1/sandboxes/" + "a".repeat(63));
  }

  @Test
  void delete_unknownOrTwice_returns404() {
    String id = uniqueId("twice");
    host.sandbox(id);

    assertThat(admin.delete("/host/v1/sandboxes/" + id).status()).isEqualTo(204);
    assertError(admin.delete("/host/v1/sandboxes/" + id), 404, "SANDBOX_NOT_FOUND");
    assertError(admin.delete("/host/v1/sandboxes/never-was"), 404, "SANDBOX_NOT_FOUND");
    assertError(admin.send(admin.request("/host/v1/sandboxes/" + id).PUT(
        java.net.http.HttpRequest.BodyPublishers.noBody()).build()), 405, "METHOD_NOT_ALLOWED");
  }

  @Test
  void start_parentOfWorkspacesNotPassable_sandboxesShareOneUidAndStillWork() throws Exception {
    // As the process backend does for agents: a state directory under a 0700 parent (a JUnit
    // @TempDir, /root) costs the uid per sandbox, loudly, not the host.
    org.junit.jupiter.api.Assumptions.assumeTrue(host.server.jail().separateUids(),
        "only a root host with the jail gives sandboxes a uid each");
    try (TestHost closed = TestHost.start(o -> o, "rwx------")) {
      TestClient a = closed.sandbox("shared-a");

      assertThat((String) closed.anonymous().get("/health").json().get("isolation"))
          .contains("share one uid").contains(closed.base.toString());
      assertThat(a.execute(cmd("bash", "-c", "echo hi > f.txt; cat f.txt")).json())
          .containsEntry("stdout", "hi\n");
      assertThat(Files.getAttribute(closed.workspaces.resolve("shared-a"), "unix:uid"))
          .isEqualTo(0);
    }
  }

  @Test
  void start_parentOfWorkspacesNotPassable_isolationRequired_refusesRatherThanRunSandboxesAsRoot() {
    org.junit.jupiter.api.Assumptions.assumeTrue(host.server.jail().separateUids(),
        "only a root host with the jail gives sandboxes a uid each");

    org.assertj.core.api.Assertions.assertThatThrownBy(() -> TestHost.start(
            o -> o.isolation(io.agentcube.jail.IsolationMode.REQUIRED), "rwx------").close())
        .hasMessageContaining("sandboxes would run as root").hasMessageContaining("chmod o+x");
  }

  @Test
  void create_atMaxSandboxes_returns429() {
    try (TestHost small = TestHost.start(o -> o.maxSandboxes(2))) {
      TestClient smallAdmin = small.admin();
      small.sandbox("one");
      small.sandbox("two");

      assertError(smallAdmin.postJson("/host/v1/sandboxes", create("three")), 429,
          "SERVER_OVERLOADED");
      assertThat(smallAdmin.delete("/host/v1/sandboxes/one").status()).isEqualTo(204);
      assertThat(smallAdmin.postJson("/host/v1/sandboxes", create("three")).status())
          .isEqualTo(201);
    }
  }

  @Test
  void execute_overPerSandboxCap_returns429WhileOtherSandboxesRun() {
    try (TestHost capped = TestHost.start(o -> o.maxExecutionsPerSandbox(1))) {
      TestClient busy = capped.sandbox("busy");
      TestClient idle = capped.sandbox("idle");
      CompletableFuture.runAsync(() -> busy.execute(cmd("bash", "-c", "touch started; sleep 60")));
      await().until(() -> Files.exists(capped.workspaces.resolve("busy/started")));

      assertError(busy.execute(cmd("true")), 429, "SERVER_OVERLOADED");
      assertThat(idle.execute(cmd("true")).json()).containsEntry("exit_code", 0);
    } // close() kills the sleep
  }

  @Test
  void delete_runningCommand_killsItWaitsAndRemovesTheDirectory() throws Exception {
    String id = uniqueId("busy");
    TestClient client = host.sandbox(id);
    String marker = "9" + Math.abs(UUID.randomUUID().getMostSignificantBits() % 1_000_000_000L);
    CompletableFuture<TestClient.Response> running = CompletableFuture.supplyAsync(() ->
        client.execute(cmd("bash", "-c", "sleep 60." + marker + "; true")));
    await().until(() -> !Isolation.withArgument("60." + marker).isEmpty());
    assertThat(sandbox(id)).containsEntry("executions", 1);

    TestClient.Response deleted = admin.delete("/host/v1/sandboxes/" + id);

    assertThat(deleted.status()).isEqualTo(204);
    assertThat(host.workspaces.resolve(id)).doesNotExist();
    assertThat(Isolation.withArgument("60." + marker)).as("the sleep after delete").isEmpty();
    TestClient.Response result = running.get();
    assertThat(result.status()).isEqualTo(200);
    assertThat(result.json()).containsEntry("exit_code", 137);
  }

  @Test
  void manySandboxes_concurrentlyUsingTheSameNames_eachSeesOnlyItsOwn() throws Exception {
    int n = 20;
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add(uniqueId("many" + i));
      host.sandbox(ids.get(i));
    }
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      List<CompletableFuture<List<String>>> results = new ArrayList<>();
      for (String id : ids) {
        results.add(CompletableFuture.supplyAsync(() -> {
          TestClient c = host.session("s-" + id, id);
          List<String> seen = new ArrayList<>();
          for (int round = 0; round < 3; round++) {
            assertThat(c.postJson("/api/files", upload("data/same.txt", id + "-" + round)).status())
                .isEqualTo(200);
            Map<String, Object> run = c.execute(cmd("bash", "-c",
                "cat data/same.txt; echo \"$(cat data/same.txt)-exec\" > out.txt")).json();
            seen.add((String) run.get("stdout"));
            seen.add(c.get("/api/files/out.txt").text().strip());
            seen.add(c.get("/api/files?path=data").json().get("files").toString());
          }
          return seen;
        }, pool));
      }
      for (int i = 0; i < n; i++) {
        List<String> seen = results.get(i).get();
        String id = ids.get(i);
        for (int round = 0; round < 3; round++) {
          assertThat(seen.get(3 * round)).isEqualTo(id + "-" + round);
          assertThat(seen.get(3 * round + 1)).isEqualTo(id + "-" + round + "-exec");
          assertThat(seen.get(3 * round + 2)).contains("same.txt").doesNotContain("many");
        }
        assertThat(Files.readString(host.workspaces.resolve(id).resolve("data/same.txt")))
            .isEqualTo(id + "-2");
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void files_linksOutOfTheWorkspace_neverFollowed() throws Exception {
    String a = uniqueId("links-a");
    String b = uniqueId("links-b");
    TestClient mine = host.sandbox(a);
    TestClient theirs = host.sandbox(b);
    assertThat(theirs.postJson("/api/files", upload("secret.txt", "b's secret")).status())
        .isEqualTo(200);
    Path otherHostPath = host.workspaces.resolve(b).toRealPath();
    // The sandbox makes the links itself, as untrusted code would.
    Map<String, Object> links = mine.execute(cmd("bash", "-c",
        "ln -s /etc/shadow shadow; ln -s ../" + b + " sibling; ln -s " + otherHostPath
            + " absolute; ln -s /workspace/../.. up; ln -s sibling chain; mkdir d;"
            + " ln -s ../../" + b + "/secret.txt d/deep; ln -s " + otherHostPath
            + "/secret.txt d/abs")).json();
    assertThat(links).containsEntry("exit_code", 0);

    for (String path : List.of("shadow", "sibling/secret.txt", "absolute/secret.txt",
        "up/etc/passwd", "chain/secret.txt", "d/deep", "d/abs")) {
      assertError(mine.get("/api/files/" + path), 400, "BAD_REQUEST");
    }
    for (String dir : List.of("sibling", "absolute", "up", "chain")) {
      assertError(mine.get("/api/files?path=" + dir), 400, "BAD_REQUEST");
    }
    for (String path : List.of("sibling/planted.txt", "absolute/planted.txt", "chain/planted.txt",
        "d/deep", "shadow")) {
      assertError(mine.postJson("/api/files", upload(path, "planted")), 400, "BAD_REQUEST");
    }
    Map<String, Object> wd = cmd("true");
    wd.put("working_dir", "sibling");
    assertError(mine.execute(wd), 400, "BAD_REQUEST");

    assertThat(Files.readString(host.workspaces.resolve(b).resolve("secret.txt")))
        .isEqualTo("b's secret");
    try (var entries = Files.list(host.workspaces.resolve(b))) {
      assertThat(entries.map(p -> p.getFileName().toString())).containsExactly("secret.txt");
    }
    // a listing shows the links as links, and an absolute /workspace path is the sandbox's own
    assertThat(mine.get("/api/files?path=/workspace").json().get("files").toString())
        .contains("Lrwxrwxrwx");
  }

  @Test
  void upload_whileTheSandboxSwapsAParentForALink_neverWritesOutside() throws Exception {
    // Pins the reason the files API works on directory handles: on a host sandboxd is root, and
    // a sandbox may replace a directory by a link to anywhere between a check and a use.
    String id = uniqueId("race");
    TestClient client = host.sandbox(id);
    Path victim = Files.createDirectories(host.base.resolve("victim"));
    Files.setPosixFilePermissions(victim, java.nio.file.attribute.PosixFilePermissions
        .fromString("rwx--x--x"));
    Map<String, Object> swap = cmd("bash", "-c", "mkdir -p d; end=$((SECONDS+4));"
        + " while [ $SECONDS -lt $end ]; do mv d d.real; ln -s " + victim + " d;"
        + " rm d; mv d.real d; done");
    swap.put("timeout", "20s");
    CompletableFuture<TestClient.Response> swapper =
        CompletableFuture.supplyAsync(() -> client.execute(swap));
    Path ws = host.workspaces.resolve(id);
    await().until(() -> Files.exists(ws.resolve("d"), java.nio.file.LinkOption.NOFOLLOW_LINKS)
        || Files.exists(ws.resolve("d.real")) || swapper.isDone());

    int accepted = 0;
    long until = System.nanoTime() + Duration.ofSeconds(3).toNanos();
    for (int i = 0; System.nanoTime() < until && !swapper.isDone(); i++) {
      TestClient.Response r = client.postJson("/api/files", upload("d/sub/f" + i + ".txt", "x"));
      if (r.status() == 200) {
        accepted++;
      }
      client.get("/api/files/d/sub/f" + i + ".txt");
      client.get("/api/files?path=d");
    }

    assertThat(swapper.get().status()).isEqualTo(200);
    try (var entries = Files.list(victim)) {
      assertThat(entries).as("written outside the workspace").isEmpty();
    }
    assertThat(accepted).as("uploads that found the real directory").isPositive();
  }
}
