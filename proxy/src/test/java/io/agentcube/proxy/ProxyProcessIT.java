package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped jar as a real process: shutdown, crash recovery, configuration errors. */
class ProxyProcessIT {

  private static final Path JAR = Path.of("target", "agentcube-proxy.jar").toAbsolutePath();
  private static final Pattern LISTENING = Pattern.compile("listening on http://[^:]+:(\\d+)");

  @TempDir
  Path tmp;
  private final List<Process> started = new ArrayList<>();
  private final java.util.Map<Process, Path> logs = new java.util.HashMap<>();

  @AfterEach
  void killLeftovers() {
    for (Process p : started) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  /** A running proxy process, its port, and its output so far. */
  record Running(Process process, int port, Path log) {
    String output() throws java.io.IOException {
      return Files.readString(log);
    }
  }

  private Process launch(List<String> flags) throws Exception {
    TestRuntimes.write(tmp.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", 2, "2m", "8h"));
    List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
        "-Xmx128m", "-jar", JAR.toString(),
        "--server.port=0",
        "--runtimes.dirs=" + tmp.resolve("runtimes"),
        "--process.stateDir=" + tmp.resolve("state")));
    cmd.addAll(flags);
    Path log = Files.createTempFile(tmp, "proxy", ".log");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
    logs.put(p, log);
    started.add(p);
    return p;
  }

  private Running start() throws Exception {
    Process p = launch(List.of());
    Path log = logs.get(p);
    int[] port = new int[1];
    await().atMost(Duration.ofSeconds(60)).until(() -> {
      if (!p.isAlive()) {
        throw new IllegalStateException("proxy exited: " + Files.readString(log));
      }
      Matcher m = LISTENING.matcher(Files.readString(log));
      if (m.find()) {
        port[0] = Integer.parseInt(m.group(1));
        return true;
      }
      return false;
    });
    return new Running(p, port[0], log);
  }

  private static Set<Long> sandboxPids(Process proxy) {
    // The python process itself (a jailed one is below bwrap, whose command line names it too).
    return proxy.descendants().filter(h -> h.info().command().orElse("").contains("python")
            && h.info().commandLine().orElse("").contains("echo_agent.py"))
        .map(ProcessHandle::pid).collect(Collectors.toSet());
  }

  private static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  private static int newSession(int port) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
            "http://127.0.0.1:" + port + "/v1/namespaces/default/agent-runtimes/echo/invocations/x"))
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    return r.statusCode();
  }

  @Test
  void sigterm_stopsEverySandboxItStarted() throws Exception {
    Running proxy = start();
    assertThat(newSession(proxy.port())).isEqualTo(200);
    await().atMost(Duration.ofSeconds(20)).until(() -> sandboxPids(proxy.process()).size() == 3);
    Set<Long> pids = sandboxPids(proxy.process());

    proxy.process().destroy(); // SIGTERM

    assertThat(proxy.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
    await().atMost(Duration.ofSeconds(10)).until(() -> pids.stream().noneMatch(ProxyProcessIT::alive));
    try (var dirs = Files.list(tmp.resolve("state").resolve("sandboxes"))) {
      assertThat(dirs.toList()).as("sandbox directories removed").isEmpty();
    }
    assertThat(proxy.output()).as("exit %d", proxy.process().exitValue())
        .contains("session ended").contains("reason=shutdown");
  }

  @Test
  void crash_leftoversAreRemovedByTheNextStart() throws Exception {
    Running first = start();
    await().atMost(Duration.ofSeconds(20)).until(() -> sandboxPids(first.process()).size() == 2);
    Set<Long> orphans = sandboxPids(first.process());

    first.process().destroyForcibly(); // SIGKILL: no shutdown hook runs
    assertThat(first.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(orphans).as("a killed proxy leaves its sandboxes behind").allMatch(ProxyProcessIT::alive);

    Running second = start();
    await().atMost(Duration.ofSeconds(20)).until(() -> orphans.stream().noneMatch(ProxyProcessIT::alive));
    assertThat(second.output()).contains("previous run's sandboxes adopted=0 lost=0 removed=2");
    assertThat(newSession(second.port())).isEqualTo(200);
  }

  private static HttpResponse<String> invoke(int port, String sessionId) throws Exception {
    HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(
            "http://127.0.0.1:" + port + "/v1/namespaces/default/agent-runtimes/echo/invocations/x"))
        .timeout(Duration.ofSeconds(30));
    if (sessionId != null) {
      r.header("x-agentcube-session-id", sessionId);
    }
    return HttpClient.newHttpClient().send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The "a proxy restart on the same state dir keeps every live session", after SIGKILL. */
  @Test
  void crash_boundSessionsAreAdoptedByTheNextStart_warmOnesRemoved() throws Exception {
    Running first = start();
    HttpResponse<String> opened = invoke(first.port(), null);
    assertThat(opened.statusCode()).isEqualTo(200);
    String id = opened.headers().firstValue("x-agentcube-session-id").orElseThrow();
    long sandboxPid = ProxyFixture.pid(opened);
    await().atMost(Duration.ofSeconds(20)).until(() -> sandboxPids(first.process()).size() == 3);
    Set<Long> warm = new java.util.HashSet<>(sandboxPids(first.process()));
    warm.remove(sandboxPid);

    first.process().destroyForcibly(); // SIGKILL: no shutdown hook runs
    assertThat(first.process().waitFor(30, TimeUnit.SECONDS)).isTrue();

    Running second = start();
    HttpResponse<String> again = invoke(second.port(), id);
    assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
    assertThat(ProxyFixture.pid(again)).isEqualTo(sandboxPid);
    assertThat(second.output()).contains("previous run's sandboxes adopted=1 lost=0 removed=2");
    await().atMost(Duration.ofSeconds(20)).until(() -> warm.stream().noneMatch(ProxyProcessIT::alive));

    // A graceful stop of the second proxy stops the adopted sandbox too: nothing is left running.
    second.process().destroy();
    assertThat(second.process().waitFor(60, TimeUnit.SECONDS)).isTrue();
    await().atMost(Duration.ofSeconds(10)).until(() -> !alive(sandboxPid));
  }

  @Test
  void crash_sessionWhoseSandboxDiedWhileDown_answers410() throws Exception {
    Running first = start();
    HttpResponse<String> opened = invoke(first.port(), null);
    String id = opened.headers().firstValue("x-agentcube-session-id").orElseThrow();
    // The whole sandbox dies, jail included: the proxy's child and everything below it.
    List<ProcessHandle> sandbox = ProxyFixture.sandboxTree(first.process().pid(), ProxyFixture.pid(opened));
    first.process().destroyForcibly();
    assertThat(first.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    sandbox.forEach(ProcessHandle::destroyForcibly);
    await().atMost(Duration.ofSeconds(10)).until(() -> sandbox.stream().noneMatch(ProcessHandle::isAlive));

    Running second = start();
    HttpResponse<String> r = invoke(second.port(), id);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(410);
    assertThat(r.body()).contains("SANDBOX_LOST");
  }

  @Test
  void badConfigValue_exitsWithCode2NamingTheKey() throws Exception {
    Process p = launch(List.of("--pool.startTimeout=soon"));
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String out = Files.readString(logs.get(p));
    assertThat(p.exitValue()).isEqualTo(2);
    assertThat(out).contains("pool.startTimeout").contains("soon");
  }
}
