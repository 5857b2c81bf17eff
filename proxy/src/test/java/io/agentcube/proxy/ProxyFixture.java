package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.agentcube.proxy.config.ProxyConfig;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An in-process proxy on port 0 with its own runtime directory and state directory, plus a JDK
 * HTTP client to call it. Deadlines follow a fake ticker unless {@code realTime}.
 */
final class ProxyFixture implements AutoCloseable {

  static final String SESSION = "x-agentcube-session-id";

  final AgentCubeProxy proxy;
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  final FakeTicker ticker;

  private ProxyFixture(AgentCubeProxy proxy, FakeTicker ticker) {
    this.proxy = proxy;
    this.ticker = ticker;
  }

  /**
   * A proxy serving one runtime, {@code echo} (the echo agent, a warm pool of 1), from files under
   * {@code dir}, on a fake clock, with extra config {@code overrides}: what most ITs need.
   */
  static ProxyFixture echo(Path dir, Map<String, Object> overrides) throws Exception {
    TestRuntimes.write(dir.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", 1, "2m", "8h"));
    return start(dir.resolve("runtimes"), dir.resolve("state"), false, overrides);
  }

  /** A proxy serving the runtime files in {@code runtimes}, with extra config {@code overrides}. */
  static ProxyFixture start(Path runtimes, Path state, boolean realTime, Map<String, Object> overrides)
      throws Exception {
    ProxyConfig.Builder b = ProxyConfig.builder()
        .set("server.port", 0)
        .set("server.eventLoops", 2)
        .set("runtimes.dirs", runtimes.toString())
        .set("process.stateDir", state.toString())
        .set("process.stopGracePeriod", "2s")
        .set("pool.startTimeout", "30s");
    overrides.forEach(b::set);
    FakeTicker ticker = realTime ? null : new FakeTicker();
    AgentCubeProxy proxy = AgentCubeProxy.start(b.build(),
            realTime ? Ticker.systemTicker() : ticker,
            realTime ? Scheduler.systemScheduler() : Scheduler.disabledScheduler())
        .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    return new ProxyFixture(proxy, ticker);
  }

  URI uri(String path) {
    return URI.create("http://127.0.0.1:" + proxy.port() + path);
  }

  static String invoke(String runtime, String rest) {
    return "/v1/namespaces/default/agent-runtimes/" + runtime + "/invocations" + rest;
  }

  HttpResponse<String> get(String path, String sessionId) throws Exception {
    HttpRequest.Builder r = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60));
    if (sessionId != null) {
      r.header(SESSION, sessionId);
    }
    return http.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> send(String method, String path, String body, String sessionId) throws Exception {
    HttpRequest.Builder r = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (sessionId != null) {
      r.header(SESSION, sessionId);
    }
    return http.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The JSON body, asserting the status first. */
  static JsonObject json(HttpResponse<String> r, int status) {
    assertThat(r.statusCode()).as("status of %s: %s", r.uri(), r.body()).isEqualTo(status);
    return new JsonObject(r.body());
  }

  /** The pid of the sandbox process that answered an echo request. */
  /**
   * The machine-wide pid of the echo sandbox that answered {@code r}. Not the {@code pid} it
   * reports: a jailed sandbox has its own PID namespace, where it is 2 or so. Found by its
   * {@code PORT} in {@code /proc/<pid>/environ}, which is unique among live sandboxes.
   */
  static long pid(HttpResponse<String> r) {
    int port = json(r, 200).getInteger("port");
    byte[] needle = ("PORT=" + port).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    try (var all = ProcessHandle.allProcesses()) {
      return all.filter(h -> h.info().command().orElse("").contains("python"))
          .filter(h -> environHas(h.pid(), needle)).mapToLong(ProcessHandle::pid).findFirst()
          .orElseThrow(() -> new AssertionError("no sandbox process with PORT=" + port));
    }
  }

  /**
   * A jailed sandbox whole: the child of {@code parentPid} (the proxy) that is an ancestor of
   * {@code pid} (the jail's outer process), and every process below it.
   */
  static List<ProcessHandle> sandboxTree(long parentPid, long pid) {
    ProcessHandle h = ProcessHandle.of(pid).orElseThrow();
    while (h.parent().map(p -> p.pid() != parentPid).orElse(false)) {
      h = h.parent().orElseThrow();
    }
    assertThat(h.parent().map(ProcessHandle::pid)).as("sandbox %d is below %d", pid, parentPid)
        .contains(parentPid);
    List<ProcessHandle> tree = new java.util.ArrayList<>(List.of(h));
    h.descendants().forEach(tree::add);
    return tree;
  }

  private static boolean environHas(long pid, byte[] entry) {
    byte[] env;
    try {
      env = java.nio.file.Files.readAllBytes(java.nio.file.Path.of("/proc/" + pid + "/environ"));
    } catch (java.io.IOException e) {
      return false;
    }
    int start = 0;
    for (int i = 0; i <= env.length; i++) {
      if (i == env.length || env[i] == 0) {
        if (java.util.Arrays.equals(env, start, i, entry, 0, entry.length)) {
          return true;
        }
        start = i + 1;
      }
    }
    return false;
  }

  static String sessionId(HttpResponse<?> r) {
    return r.headers().firstValue(SESSION).orElse(null);
  }

  /**
   * Moves the fake clock and runs expiry. First waits until no request is in flight: a response
   * reaches the client a moment before the proxy marks the request finished.
   */
  void advance(Duration d) {
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() ->
        proxy.sessions().list(s -> s.inFlight() > 0).isEmpty());
    ticker.advance(d);
    proxy.reap();
  }

  @Override
  public void close() throws Exception {
    proxy.close().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  /** A ticker tests move by hand. */
  static final class FakeTicker implements Ticker {
    private final AtomicLong nanos = new AtomicLong(System.nanoTime());

    @Override
    public long read() {
      return nanos.get();
    }

    void advance(Duration d) {
      nanos.addAndGet(d.toNanos());
    }
  }
}
