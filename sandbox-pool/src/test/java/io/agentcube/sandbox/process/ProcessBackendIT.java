package io.agentcube.sandbox.process;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import io.agentcube.runtime.AuthMode;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeKind;
import io.agentcube.runtime.RuntimeRef;
import io.agentcube.runtime.SandboxTemplate;
import io.agentcube.runtime.TargetPort;
import io.agentcube.sandbox.Sandbox;
import io.agentcube.sandbox.SandboxListener;
import io.agentcube.sandbox.SandboxRecord;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The process backend with real processes: python3 and bash one-liners as sandboxes, each on a
 * loopback port the backend picks.
 */
class ProcessBackendIT {

  /** The system python starts faster than a version-manager shim, when there is one. */
  private static final String PYTHON =
      Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";

  /** Writes its environment, arguments and working directory to env.json, then serves files. */
  private static final String ENV_SERVER = """
      import json, os, sys, http.server
      with open('env.json', 'w') as f:
          json.dump({'env': dict(os.environ), 'argv': sys.argv[1:], 'cwd': os.getcwd()}, f)
      http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])),
          http.server.SimpleHTTPRequestHandler).serve_forever()
      """;

  private static final List<TargetPort> ONE_PORT =
      List.of(new TargetPort("http", 8080, TargetPort.Protocol.HTTP, "/"));

  @TempDir
  Path stateDir;
  @TempDir
  Path scratch;

  private Vertx vertx;
  private final List<ProcessBackend> backends = new ArrayList<>();
  private final List<Process> spawned = new ArrayList<>();
  private final List<Sandbox> lost = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void tearDown() throws Exception {
    for (ProcessBackend b : backends) {
      done(b.close());
    }
    spawned.forEach(Process::destroyForcibly);
    done(vertx.close());
  }

  private ProcessBackend backend(Duration readyTimeout, List<String> sandboxdCommand) throws Exception {
    return backend(readyTimeout, sandboxdCommand, false);
  }

  private ProcessBackend backend(Duration readyTimeout, List<String> sandboxdCommand, boolean keep)
      throws Exception {
    ProcessBackend b = done(ProcessBackend.create(vertx, new ProcessBackendOptions(stateDir,
        readyTimeout, Duration.ofSeconds(2), sandboxdCommand,
        d -> Map.of("PICOD_AUTH_PUBLIC_KEY", "pk-for-" + d.ref().name()), keep)));
    b.addListener(new SandboxListener() {
      @Override
      public void lost(Sandbox sandbox) {
        ProcessBackendIT.this.lost.add(sandbox);
      }
    });
    backends.add(b);
    return b;
  }

  /** A backend whose close leaves its sandboxes running, as before an upgrade. */
  private ProcessBackend keepingBackend() throws Exception {
    return backend(Duration.ofSeconds(20), List.of(), true);
  }

  private ProcessBackend backend() throws Exception {
    return backend(Duration.ofSeconds(20), List.of());
  }

  private static RuntimeDefinition runtime(RuntimeKind kind, List<TargetPort> ports, List<String> command,
      Map<String, String> env, String workingDir) {
    return new RuntimeDefinition(new RuntimeRef(kind, "team-a", "demo"), "v3", "hash", ports,
        new SandboxTemplate(null, command, List.of(), env, workingDir), Duration.ofMinutes(15),
        Duration.ofHours(8), 0, AuthMode.NONE, List.of(), "test");
  }

  private static RuntimeDefinition agent(List<String> command) {
    return runtime(RuntimeKind.AGENT_RUNTIME, ONE_PORT, command, Map.of(), null);
  }

  private static RuntimeDefinition envServer() {
    return agent(List.of(PYTHON, "-c", ENV_SERVER, "$(PORT)"));
  }

  private static <T> T done(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static Throwable awaitFailure(Future<?> f) throws Exception {
    try {
      f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    }
    return fail("expected the start to fail");
  }

  private static String get(Sandbox s, int portIndex, String path) throws Exception {
    var address = s.address(portIndex);
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://" + address.host() + ":" + address.port() + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("GET %s", path).isEqualTo(200);
    return r.body();
  }

  private static boolean accepts(int port) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      return true;
    } catch (ConnectException e) {
      return false;
    }
  }

  private static boolean running(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  private List<Path> sandboxDirs() throws IOException {
    try (Stream<Path> s = Files.list(stateDir.resolve("sandboxes"))) {
      return s.toList();
    }
  }

  /** The program's working directory inside the sandbox directory. */
  private static Path workOf(Sandbox s) {
    return dirOf(s).resolve("work");
  }

  private static Path dirOf(Sandbox s) {
    return ((ProcessSandbox) s).dir();
  }

  private static long pidOf(Sandbox s) {
    return ((ProcessSandbox) s).pid();
  }

  // ---- start

  @Test
  void create_isolationRequiredAsRootUnderAClosedDirectory_refusesRatherThanRunAgentsAsRoot()
      throws Exception {
    io.agentcube.jail.Jail probe = io.agentcube.jail.Jail.probe(io.agentcube.jail.IsolationMode.AUTO);
    if ("1".equals(System.getenv("AGENTCUBE_REQUIRE_ISOLATION"))) {
      assertThat(probe.separateUids()).as("root with a working jail: " + probe.describe()).isTrue();
    }
    org.junit.jupiter.api.Assumptions.assumeTrue(probe.separateUids(),
        "needs root and bubblewrap: " + probe.describe());
    io.agentcube.jail.Jail required =
        io.agentcube.jail.Jail.probe(io.agentcube.jail.IsolationMode.REQUIRED);
    Path closed = Files.createDirectory(scratch.resolve("closed"),
        java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
            java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));

    Future<ProcessBackend> created = ProcessBackend.create(vertx, new ProcessBackendOptions(
        closed.resolve("state"), Duration.ofSeconds(5), Duration.ofSeconds(2), List.of(),
        d -> Map.of(), false, required, null));

    org.assertj.core.api.Assertions.assertThatThrownBy(() -> done(created))
        .hasStackTraceContaining("agent processes would run as root")
        .hasStackTraceContaining("chmod o+x");
  }

  @Test
  void start_httpServer_readyAndItsPortAnswers() throws Exception {
    ProcessBackend backend = backend();

    Sandbox s = done(backend.start(agent(
        List.of(PYTHON, "-m", "http.server", "$(PORT)", "--bind", "127.0.0.1"))));

    assertThat(s.alive()).isTrue();
    assertThat(s.id()).startsWith("sbx-");
    assertThat(s.name()).startsWith("demo-v3-");
    assertThat(s.address(0).host()).isEqualTo("127.0.0.1");
    assertThat(accepts(s.address(0).port())).isTrue();
    assertThat(get(s, 0, "/")).contains("Directory listing");
    assertThat(backend.size()).isEqualTo(1);
  }

  @Test
  void start_templateWithEnvAndPorts_processSeesPortsAndExpandedEnv() throws Exception {
    ProcessBackend backend = backend();
    Map<String, String> env = new LinkedHashMap<>();
    env.put("GREETING", "hello from $(AGENTCUBE_SANDBOX_NAME)");
    env.put("LATER", "$(GREETING)!");
    env.put("ECHO_PORT", "$(PORT)");
    env.put("ESCAPED", "$$(PORT)");
    env.put("MISSING", "$(NOT_DEFINED_ANYWHERE_42)");
    env.put("PORT", "1");
    List<TargetPort> ports = List.of(new TargetPort("http", 8080, TargetPort.Protocol.HTTP, "/"),
        new TargetPort("admin-api", 9090, TargetPort.Protocol.HTTP, "/admin"));

    Sandbox s = done(backend.start(runtime(RuntimeKind.AGENT_RUNTIME, ports,
        List.of(PYTHON, "-c", ENV_SERVER, "$(PORT)"), env, "app")));

    String port = Integer.toString(s.address(0).port());
    String adminPort = Integer.toString(s.address(1).port());
    JsonObject seen = new JsonObject(get(s, 0, "/env.json"));
    JsonObject e = seen.getJsonObject("env");
    assertThat(seen.getJsonArray("argv").getList()).as("$(PORT) in args").containsExactly(port);
    assertThat(adminPort).isNotEqualTo(port);
    assertThat(e.getString("PORT")).as("the platform's PORT wins over the template's").isEqualTo(port);
    assertThat(e.getString("AGENTCUBE_PORT_HTTP")).isEqualTo(port);
    assertThat(e.getString("AGENTCUBE_PORT_ADMIN_API")).isEqualTo(adminPort);
    assertThat(e.getString("GREETING")).isEqualTo("hello from " + s.name());
    assertThat(e.getString("LATER")).isEqualTo("hello from " + s.name() + "!");
    assertThat(e.getString("ECHO_PORT")).isEqualTo(port);
    assertThat(e.getString("ESCAPED")).isEqualTo("$(PORT)");
    assertThat(e.getString("MISSING")).isEqualTo("$(NOT_DEFINED_ANYWHERE_42)");
    assertThat(e.getString("PICOD_AUTH_PUBLIC_KEY")).isEqualTo("pk-for-demo");
    assertThat(e.getString("AGENTCUBE_SANDBOX_ID")).isEqualTo(s.id());
    assertThat(e.getString("AGENTCUBE_NAMESPACE")).isEqualTo("team-a");
    assertThat(e.getString("AGENTCUBE_RUNTIME")).isEqualTo("demo");
    assertThat(e.getString("AGENTCUBE_RUNTIME_VERSION")).isEqualTo("v3");
    Path sandboxDir = stateDir.resolve("sandboxes").resolve(s.name()).resolve("work");
    assertThat(Path.of(e.getString("AGENTCUBE_SANDBOX_DIR")).toRealPath()).isEqualTo(sandboxDir.toRealPath());
    assertThat(sandboxDir.resolveSibling("sandbox.log")).as("the log stays outside the program's files").exists();
    assertThat(Path.of(seen.getString("cwd")).toRealPath())
        .as("a relative workingDir is inside the sandbox directory")
        .isEqualTo(sandboxDir.resolve("app").toRealPath());
  }

  @Test
  void start_twoSandboxes_eachHasItsOwnDirectoryAndPort() throws Exception {
    ProcessBackend backend = backend();
    RuntimeDefinition d = envServer();

    Sandbox a = done(backend.start(d));
    Sandbox b = done(backend.start(d));
    Files.writeString(workOf(a).resolve("only-in-a.txt"), "a");

    assertThat(a.id()).isNotEqualTo(b.id());
    assertThat(a.name()).isNotEqualTo(b.name());
    assertThat(a.address(0).port()).isNotEqualTo(b.address(0).port());
    String cwdA = new JsonObject(get(a, 0, "/env.json")).getString("cwd");
    String cwdB = new JsonObject(get(b, 0, "/env.json")).getString("cwd");
    assertThat(cwdA).isNotEqualTo(cwdB);
    assertThat(get(a, 0, "/only-in-a.txt")).isEqualTo("a");
    assertThat(Files.exists(workOf(b).resolve("only-in-a.txt"))).isFalse();
    assertThat(sandboxDirs()).hasSize(2);
  }

  @Test
  void start_codeInterpreterWithoutCommand_runsSandboxdCommand() throws Exception {
    ProcessBackend backend = backend(Duration.ofSeconds(20),
        List.of(PYTHON, "-m", "http.server", "$(PORT)", "--bind", "127.0.0.1"));
    RuntimeDefinition d = runtime(RuntimeKind.CODE_INTERPRETER, ONE_PORT, List.of(), Map.of(), null);

    assertThat(backend.problems(d)).isEmpty();
    Sandbox s = done(backend.start(d));

    assertThat(get(s, 0, "/")).contains("Directory listing");
  }

  @Test
  void problems_nothingToRun_namesTheField() throws Exception {
    ProcessBackend backend = backend();

    assertThat(backend.problems(agent(List.of()))).singleElement().asString()
        .startsWith("spec.podTemplate.spec.containers[0].command: required");
    assertThat(backend.problems(runtime(RuntimeKind.CODE_INTERPRETER, ONE_PORT, List.of(), Map.of(), null)))
        .singleElement().asString().startsWith("spec.template.command: required");
    assertThat(backend.problems(envServer())).isEmpty();
  }

  // ---- failed starts leave nothing

  @Test
  void start_processExitsBeforeReady_failsWithExitCodeAndOutputTailAndLeavesNothing() throws Exception {
    ProcessBackend backend = backend();

    Throwable e = awaitFailure(backend.start(agent(List.of("bash", "-c",
        "echo starting up; echo 'fatal: config.yaml not found' >&2; exit 3"))));

    assertThat(e.getMessage()).contains("exited with code 3").contains("fatal: config.yaml not found");
    assertThat(sandboxDirs()).isEmpty();
    assertThat(backend.size()).isZero();
    assertThat(lost).as("a start that failed is not a lost sandbox").isEmpty();
  }

  @Test
  void start_commandNotFound_failsNamingCommandAndLeavesNothing() throws Exception {
    ProcessBackend backend = backend();

    Throwable e = awaitFailure(backend.start(agent(List.of("/nonexistent/agent-binary", "--serve"))));

    assertThat(e.getMessage()).contains("/nonexistent/agent-binary");
    assertThat(sandboxDirs()).isEmpty();
    assertThat(backend.size()).isZero();
  }

  @Test
  void start_processNeverListens_failsAfterReadyTimeoutAndKillsIt() throws Exception {
    ProcessBackend backend = backend(Duration.ofMillis(500), List.of());
    Path pidFile = scratch.resolve("pid");
    RuntimeDefinition d = runtime(RuntimeKind.AGENT_RUNTIME, ONE_PORT,
        List.of("bash", "-c", "echo $BASHPID > \"$PID_FILE\"; exec sleep 300"),
        Map.of("PID_FILE", pidFile.toString()), null);
    long t0 = System.nanoTime();

    Throwable e = awaitFailure(backend.start(d));

    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isGreaterThanOrEqualTo(500);
    assertThat(e.getMessage()).contains("did not accept connections").contains("500ms");
    long pid = Long.parseLong(Files.readString(pidFile).trim());
    assertThat(running(pid)).as("the process that never became ready").isFalse();
    assertThat(sandboxDirs()).isEmpty();
    assertThat(backend.size()).isZero();
  }

  // ---- stop, lost, close

  @Test
  void stop_processWithChild_killsWholeTreeAndRemovesDirectory() throws Exception {
    ProcessBackend backend = backend();
    Sandbox s = done(backend.start(agent(List.of("bash", "-c",
        "sleep 300 & echo $! > child.pid; exec " + PYTHON + " -m http.server $PORT --bind 127.0.0.1"))));
    long child = Long.parseLong(Files.readString(workOf(s).resolve("child.pid")).trim());
    long main = pidOf(s);
    int port = s.address(0).port();
    assertThat(running(child)).isTrue();

    done(backend.stop(s));

    assertThat(running(main)).isFalse();
    // The child was re-parented when its parent died; it is gone once its new parent reaps it.
    await("the sandbox's child process exits").atMost(10, TimeUnit.SECONDS).until(() -> !running(child));
    assertThat(Files.exists(dirOf(s))).isFalse();
    assertThat(accepts(port)).isFalse();
    assertThat(s.alive()).isFalse();
    assertThat(backend.size()).isZero();
    assertThat(lost).as("a stop is not a loss").isEmpty();
    done(backend.stop(s)); // idempotent
  }

  /**
   * Issue 11: a stop that failed (there: no file descriptor left) was never tried again, and the
   * sandbox outlived even the proxy's graceful stop. An immutable file makes the directory's
   * removal fail the same way, until it is made mutable again.
   */
  @Test
  void stop_directoryCannotBeRemoved_isRetriedUntilDoneAndStaysTrackedMeanwhile() throws Exception {
    ProcessBackend backend = backend();
    Sandbox s = done(backend.start(envServer()));
    long main = pidOf(s);
    Path pinned = workOf(s).resolve("pinned");
    Files.writeString(pinned, "x");
    chattr("+i", pinned);
    try {
      Future<Void> stop = backend.stop(s);

      await("the process tree is killed").atMost(10, TimeUnit.SECONDS).until(() -> !running(main));
      // A few failed attempts (0.5 s, 1 s, 2 s apart): the stop is not done, the sandbox not forgotten.
      await("a stop that failed is not done, and its sandbox stays tracked")
          .during(Duration.ofMillis(1_600)).atMost(5, TimeUnit.SECONDS)
          .until(() -> !stop.isComplete() && backend.size() == 1 && Files.exists(dirOf(s)));

      chattr("-i", pinned);
      done(stop);
      assertThat(Files.exists(dirOf(s))).isFalse();
      assertThat(backend.size()).isZero();
      assertThat(lost).as("a stop is not a loss").isEmpty();
    } finally {
      if (Files.exists(pinned)) {
        chattr("-i", pinned);
      }
    }
  }

  private static void chattr(String flag, Path file) throws Exception {
    Process p = new ProcessBuilder("chattr", flag, file.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0)
        .as("chattr %s %s (needs root and a file system with the immutable flag, e.g. ext4): %s", flag, file, out)
        .isTrue();
  }

  /**
   * Issue 11: {@code stop} could return a completed future while another caller's stop of the
   * same sandbox was still killing it. Every caller now waits for the same end.
   */
  @Test
  void stop_twoCallersAtOnce_neitherReturnsBeforeTheSandboxIsGone() throws Exception {
    ProcessBackend backend = backend();
    List<Sandbox> sandboxes = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      sandboxes.add(done(backend.start(envServer())));
    }
    java.util.concurrent.ExecutorService two = java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      for (Sandbox s : sandboxes) {
        long main = pidOf(s);
        java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(2);
        List<java.util.concurrent.Future<Future<Void>>> calls = new ArrayList<>();
        for (int c = 0; c < 2; c++) {
          calls.add(two.submit(() -> {
            together.await(10, TimeUnit.SECONDS);
            return backend.stop(s);
          }));
        }
        for (var call : calls) {
          done(call.get(10, TimeUnit.SECONDS));
          assertThat(running(main)).as("stopped when its stop said so").isFalse();
          assertThat(Files.exists(dirOf(s))).as("its directory removed when its stop said so").isFalse();
        }
      }
    } finally {
      two.shutdownNow();
    }
    assertThat(backend.size()).isZero();
  }

  @Test
  void lost_readySandboxKilledFromOutside_reportedOnceAndCleanedUp() throws Exception {
    ProcessBackend backend = backend();
    Sandbox s = done(backend.start(envServer()));
    Sandbox other = done(backend.start(envServer()));

    ProcessHandle.of(pidOf(s)).orElseThrow().destroyForcibly();

    await().atMost(10, TimeUnit.SECONDS).until(() -> !lost.isEmpty());
    assertThat(lost).containsExactly(s);
    assertThat(s.alive()).isFalse();
    await().atMost(10, TimeUnit.SECONDS).until(() -> !Files.exists(dirOf(s)));
    assertThat(backend.size()).isEqualTo(1);
    done(backend.stop(s));
    assertThat(lost).as("reported once").containsExactly(s);
    assertThat(other.alive()).isTrue();
  }

  /**
   * Pins a bug: when a sandbox's main process died by itself, its children had already been
   * re-parented, so the cleanup (which walked the dead process's descendants) found none and they
   * ran on forever.
   */
  @Test
  void lost_mainProcessDiedLeavingChild_childIsKilledToo() throws Exception {
    ProcessBackend backend = backend();
    Sandbox s = done(backend.start(agent(List.of("bash", "-c",
        "sleep 300 & echo $! > child.pid; exec " + PYTHON + " -m http.server $PORT --bind 127.0.0.1"))));
    long child = Long.parseLong(Files.readString(workOf(s).resolve("child.pid")).trim());

    ProcessHandle.of(pidOf(s)).orElseThrow().destroyForcibly();

    await().atMost(10, TimeUnit.SECONDS).until(() -> !Files.exists(dirOf(s)));
    assertThat(lost).containsExactly(s);
    await("the dead sandbox's child process exits").atMost(10, TimeUnit.SECONDS).until(() -> !running(child));
  }

  @Test
  void close_twoRunning_stopsBothAndRemovesTheirDirectories() throws Exception {
    ProcessBackend backend = backend();
    Sandbox a = done(backend.start(envServer()));
    Sandbox b = done(backend.start(envServer()));

    done(backend.close());

    assertThat(running(pidOf(a))).isFalse();
    assertThat(running(pidOf(b))).isFalse();
    assertThat(sandboxDirs()).isEmpty();
    assertThat(backend.size()).isZero();
    assertThat(lost).isEmpty();
  }

  // ---- leftovers of a crashed proxy

  private Process sleep() throws IOException {
    Process p = new ProcessBuilder("sleep", "300").start();
    spawned.add(p);
    return p;
  }

  private static Instant startOf(ProcessHandle h) {
    return h.info().startInstant().orElseThrow();
  }

  private Path sandboxDir(String name, SandboxMarker marker) throws IOException {
    Path dir = Files.createDirectories(stateDir.resolve("sandboxes").resolve(name));
    Files.writeString(dir.resolve("sandbox.log"), "output of a previous run");
    if (marker != null) {
      marker.write(dir);
    }
    return dir;
  }

  @Test
  void create_leftoversOfDeadOwner_killsTheirProcessesAndRemovesThem() throws Exception {
    Process deadOwner = sleep();
    long deadOwnerPid = deadOwner.pid();
    Instant deadOwnerStart = startOf(deadOwner.toHandle());
    deadOwner.destroyForcibly().waitFor();
    Process orphan = sleep();
    Path leftover = sandboxDir("demo-v1-crashed", marker(deadOwnerPid, deadOwnerStart,
        orphan.pid(), startOf(orphan.toHandle())));
    Path unmarked = sandboxDir("demo-v1-nomarker", null);

    backend();

    assertThat(orphan.waitFor(10, TimeUnit.SECONDS)).as("the crashed proxy's sandbox process").isTrue();
    assertThat(leftover).doesNotExist();
    assertThat(unmarked).doesNotExist();
  }

  @Test
  void create_sandboxOfLiveOwner_leftAlone() throws Exception {
    Process otherProxy = sleep();
    Process othersSandbox = sleep();
    Path dir = sandboxDir("demo-v1-live", marker(otherProxy.pid(), startOf(otherProxy.toHandle()),
        othersSandbox.pid(), startOf(othersSandbox.toHandle())).withSession("s-1", Instant.now(), null));

    backend();

    assertThat(othersSandbox.isAlive()).isTrue();
    assertThat(dir.resolve("sandbox.log")).exists();
  }

  @Test
  void create_leftoverWhosePidWasReused_removesDirectoryButSparesTheProcess() throws Exception {
    Process deadOwner = sleep();
    long deadOwnerPid = deadOwner.pid();
    Instant deadOwnerStart = startOf(deadOwner.toHandle());
    deadOwner.destroyForcibly().waitFor();
    Process unrelated = sleep();
    // The marker names the pid of a process that started at another time: a recycled pid.
    Path leftover = sandboxDir("demo-v1-recycled", marker(deadOwnerPid, deadOwnerStart,
        unrelated.pid(), Instant.parse("2001-01-01T00:00:00Z")).withSession("s-1", Instant.now(), null));

    backend();

    assertThat(leftover).doesNotExist();
    assertThat(unrelated.isAlive()).isTrue();
  }

  /** A marker of a previous run, owned by {@code ownerPid}, for process {@code pid}. */
  private static SandboxMarker marker(long ownerPid, Instant ownerStart, long pid, Instant start) {
    return new SandboxMarker(ownerPid, ownerStart, pid, start, "sbx-old", "demo-v1-old", envServer(),
        List.of(1), null, null, null, null);
  }

  // ---- restore: a proxy restart on the same state directory keeps bound sandboxes

  @Test
  void restore_boundSandboxOfPreviousRun_isAdoptedWithItsSessionAndTimes() throws Exception {
    ProcessBackend first = keepingBackend();
    Sandbox s = done(first.start(envServer()));
    Instant created = Instant.parse("2026-12-01T10:00:00Z");
    Instant active = Instant.parse("2026-12-01T10:05:00Z");
    done(first.claim(s, "session-1", created, "alice"));
    done(first.recordActivity(s, active));
    long pid = pidOf(s);
    done(first.close());
    assertThat(running(pid)).as("kept for the next start").isTrue();

    ProcessBackend second = backend();
    List<SandboxRecord> found = done(second.sandboxes());

    assertThat(found).hasSize(1);
    SandboxRecord r = found.get(0);
    assertThat(r.sessionId()).isEqualTo("session-1");
    assertThat(r.sandbox().owner()).as("the owner survives the restart").isEqualTo("alice");
    assertThat(r.createdAt()).isEqualTo(created);
    assertThat(r.lastActivity()).isEqualTo(active);
    assertThat(r.sandbox().alive()).isTrue();
    assertThat(r.sandbox().id()).isEqualTo(s.id());
    assertThat(r.sandbox().sessionId()).isEqualTo("session-1");
    assertThat(r.sandbox().address(0)).isEqualTo(s.address(0));
    assertThat(r.sandbox().definition().ref()).isEqualTo(s.definition().ref());
    assertThat(r.sandbox().definition().ports()).isEqualTo(s.definition().ports());
    assertThat(new JsonObject(get(r.sandbox(), 0, "/env.json")).getJsonObject("env")
        .getString("AGENTCUBE_SANDBOX_ID")).as("the same process serves").isEqualTo(s.id());

    done(second.stop(r.sandbox()));
    assertThat(running(pid)).isFalse();
    assertThat(sandboxDirs()).isEmpty();
  }

  @Test
  void restore_boundSandboxDiedWhileNoProxyRan_isListedAsLost() throws Exception {
    ProcessBackend first = keepingBackend();
    Sandbox s = done(first.start(envServer()));
    done(first.claim(s, "session-2", Instant.parse("2026-12-01T10:00:00Z")));
    done(first.close());
    ProcessHandle.of(pidOf(s)).orElseThrow().destroyForcibly();
    await().atMost(10, TimeUnit.SECONDS).until(() -> !running(pidOf(s)));

    ProcessBackend second = backend();
    List<SandboxRecord> found = done(second.sandboxes());

    assertThat(found).singleElement().satisfies(r -> {
      assertThat(r.sessionId()).isEqualTo("session-2");
      assertThat(r.sandbox()).isNull();
    });
    assertThat(sandboxDirs()).isEmpty();
  }

  @Test
  void restore_unboundLeftover_isStoppedAndNotListed() throws Exception {
    ProcessBackend first = keepingBackend();
    Sandbox warm = done(first.start(envServer()));
    done(first.close());

    ProcessBackend second = backend();

    assertThat(done(second.sandboxes())).isEmpty();
    await().atMost(10, TimeUnit.SECONDS).until(() -> !running(pidOf(warm)));
    assertThat(sandboxDirs()).isEmpty();
  }

  @Test
  void restore_adoptedSandboxDies_isReportedLost() throws Exception {
    ProcessBackend first = keepingBackend();
    Sandbox s = done(first.start(envServer()));
    done(first.claim(s, "session-3", Instant.now()));
    done(first.close());
    ProcessBackend second = backend();
    Sandbox adopted = done(second.sandboxes()).get(0).sandbox();

    ProcessHandle.of(pidOf(s)).orElseThrow().destroyForcibly();

    // Not a child of this proxy: the JDK notices its exit by polling, within a few seconds.
    await().atMost(20, TimeUnit.SECONDS).until(() -> lost.contains(adopted));
    assertThat(adopted.alive()).isFalse();
  }

  @Test
  void close_keepSandboxesOnStop_leavesThemRunning() throws Exception {
    ProcessBackend backend = keepingBackend();
    Sandbox s = done(backend.start(envServer()));

    done(backend.close());

    assertThat(backend.keepsSandboxesOnClose()).isTrue();
    assertThat(running(pidOf(s))).isTrue();
    assertThat(get(s, 0, "/env.json")).as("still serving after close").contains("AGENTCUBE_SANDBOX_ID");
    ProcessHandle.of(pidOf(s)).orElseThrow().destroyForcibly();
  }
}
