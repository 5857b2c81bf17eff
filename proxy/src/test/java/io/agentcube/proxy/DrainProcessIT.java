package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The graceful drain of issue 11, on the shipped jar as a real process stopped by SIGTERM
 * ({@link Process#destroy}): steady load on existing sessions, slow requests, an SSE stream, a
 * WebSocket and a cold start in flight when the signal arrives; none of them may fail.
 */
class DrainProcessIT {

  private static final Path JAR = Path.of("target", "agentcube-proxy.jar").toAbsolutePath();
  private static final Pattern LISTENING = Pattern.compile("listening on http://[^:]+:(\\d+)");
  private static final Pattern DRAINED = Pattern.compile("drain finished durationMs=(\\d+)");
  private static final String SESSION = "x-agentcube-session-id";
  /** The cold runtime's sandbox: the echo agent after a 5 s nap (a slow image pull, say). */
  private static final String COLD_MARK = "time.sleep(5)";

  @TempDir
  Path tmp;
  private final List<Process> started = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @AfterEach
  void killLeftovers() {
    for (Process p : started) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  private record Running(Process process, int port, Path log) {
    String output() throws IOException {
      return Files.readString(log);
    }

    URI uri(String path) {
      return URI.create("http://127.0.0.1:" + port + path);
    }
  }

  private Running start(String... flags) throws Exception {
    TestRuntimes.write(tmp.resolve("runtimes"), "echo.yaml", TestRuntimes.echo("echo", 4, "2m", "8h"));
    TestRuntimes.write(tmp.resolve("runtimes"), "cold.yaml", TestRuntimes.agent("cold", 0, "2m", "8h",
        List.of("python3", "-S", "-u", "-c", "import sys, time; " + COLD_MARK
            + "; exec(open(sys.argv[1]).read())", TestRuntimes.ECHO_AGENT.toString())));
    List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
        "-Xmx128m", "-jar", JAR.toString(),
        "--server.port=0",
        "--runtimes.dirs=" + tmp.resolve("runtimes"),
        "--process.stateDir=" + tmp.resolve("state")));
    cmd.addAll(List.of(flags));
    Path log = Files.createTempFile(tmp, "proxy", ".log");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    started.add(p);
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

  private static String invoke(String runtime, String rest) {
    return "/v1/namespaces/default/agent-runtimes/" + runtime + "/invocations" + rest;
  }

  private HttpRequest.Builder request(Running proxy, String path, String session) {
    HttpRequest.Builder b = HttpRequest.newBuilder(proxy.uri(path)).timeout(Duration.ofSeconds(60));
    return session == null ? b : b.header(SESSION, session);
  }

  private String newSession(Running proxy) throws Exception {
    HttpResponse<String> r = http.send(request(proxy, invoke("echo", "/open"), null).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return r.headers().firstValue(SESSION).orElseThrow();
  }

  private int inFlight(Running proxy, String session) throws Exception {
    HttpResponse<String> r = http.send(request(proxy, "/v1/sessions/" + session, null).build(),
        HttpResponse.BodyHandlers.ofString());
    return new JsonObject(r.body()).getInteger("inFlight");
  }

  /** The echo agent's answer to {@code GET path?query}, checked whole: else an AssertionError. */
  private static void assertEcho(HttpResponse<String> r, String session, String path, String query) {
    assertThat(r.statusCode()).as("status of %s?%s: %s", path, query, r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue(SESSION)).contains(session);
    JsonObject echo = new JsonObject(r.body());
    assertThat(echo.getString("path")).isEqualTo(path);
    assertThat(echo.getString("rawQuery")).isEqualTo(query);
  }

  private static Set<Long> sandboxPids(Process proxy) {
    return proxy.descendants().filter(h -> h.info().command().orElse("").contains("python"))
        .map(ProcessHandle::pid).collect(Collectors.toSet());
  }

  private static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  /** One request of a load loop: when it started and ended, and how it went. */
  private record Outcome(long startNanos, long endNanos, String failure, boolean connectFailed) {}

  /**
   * Requests of one existing session back to back on one keep-alive client, each answer checked,
   * until the proxy stops accepting connections.
   */
  private Thread loop(Running proxy, String session, ConcurrentLinkedQueue<Outcome> out, AtomicBoolean stop) {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    Thread t = new Thread(() -> {
      for (int i = 0; !stop.get(); i++) {
        long t0 = System.nanoTime();
        try {
          HttpResponse<String> r = client.send(request(proxy, invoke("echo", "/loop?i=" + i), session).build(),
              HttpResponse.BodyHandlers.ofString());
          assertEcho(r, session, "/loop", "i=" + i);
          out.add(new Outcome(t0, System.nanoTime(), null, false));
        } catch (IOException e) {
          // Refused or closed before an answer: only expected once the listener has closed.
          out.add(new Outcome(t0, System.nanoTime(), e.toString(), true));
          return;
        } catch (AssertionError | RuntimeException e) {
          out.add(new Outcome(t0, System.nanoTime(), e.toString(), false));
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "load-" + session.substring(0, 6));
    t.setDaemon(true);
    t.start();
    return t;
  }

  @Test
  void sigterm_underLoad_everyInFlightRequestStreamAndColdStartCompletes() throws Exception {
    Duration grace = Duration.ofSeconds(3);
    Duration drainTimeout = Duration.ofSeconds(20);
    Duration stopTimeout = Duration.ofSeconds(30);
    Running proxy = start("--shutdown.drainGrace=3s", "--shutdown.drainTimeout=20s", "--shutdown.timeout=30s");

    List<String> loopSessions = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      loopSessions.add(newSession(proxy));
    }
    List<String> slowSessions = List.of(newSession(proxy), newSession(proxy));
    String sseSession = newSession(proxy);
    String wsSession = newSession(proxy);

    // Steady load first.
    ConcurrentLinkedQueue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> loops = new ArrayList<>();
    for (String s : loopSessions) {
      loops.add(loop(proxy, s, outcomes, stop));
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> outcomes.size() >= 40);

    // A keep-alive connection with one request answered: its next one comes during the drain.
    Socket keptAlive = new Socket("127.0.0.1", proxy.port());
    keptAlive.setSoTimeout(15_000);
    String head = rawGet(keptAlive, invoke("echo", "/kept"), loopSessions.get(0));
    assertThat(head).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("connection: close");

    // Slow requests (two per session: one ends within the grace, one after the listener closed),
    // an SSE stream of ~6 s, a WebSocket, a cold start of 5 s: the last three outlive the grace.
    List<CompletableFuture<HttpResponse<String>>> slow = new ArrayList<>();
    for (String s : slowSessions) {
      for (String seconds : List.of("2.5", "5")) {
        slow.add(http.sendAsync(request(proxy, invoke("echo", "/slow?seconds=" + seconds), s).build(),
            HttpResponse.BodyHandlers.ofString()));
      }
    }
    CompletableFuture<HttpResponse<java.util.stream.Stream<String>>> sse = http.sendAsync(
        request(proxy, invoke("echo", "/sse?n=40&interval=0.15"), sseSession).build(),
        HttpResponse.BodyHandlers.ofLines());
    ConcurrentLinkedQueue<String> wsReceived = new ConcurrentLinkedQueue<>();
    WebSocket ws = http.newWebSocketBuilder().header(SESSION, wsSession)
        .buildAsync(URI.create("ws://127.0.0.1:" + proxy.port() + invoke("echo", "/ws")), new WebSocket.Listener() {
          @Override
          public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
            wsReceived.add(data.toString());
            socket.request(1);
            return null;
          }
        }).get(30, TimeUnit.SECONDS);
    ws.sendText("before", true).get(10, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(10)).until(() -> wsReceived.contains("before"));
    long coldStarted = System.nanoTime();
    CompletableFuture<HttpResponse<String>> cold = http.sendAsync(
        request(proxy, invoke("cold", "/first"), null).build(), HttpResponse.BodyHandlers.ofString());

    // All of them inside the proxy before the signal: the sessions count their requests, the
    // SSE stream has begun, the cold sandbox is being started.
    for (String s : slowSessions) {
      await().atMost(Duration.ofSeconds(10)).until(() -> inFlight(proxy, s) == 2);
    }
    HttpResponse<java.util.stream.Stream<String>> sseResponse = sse.get(10, TimeUnit.SECONDS);
    assertThat(sseResponse.statusCode()).isEqualTo(200);
    java.util.Iterator<String> sseLines = sseResponse.body().iterator();
    assertThat(sseLines.next()).isEqualTo("data: {\"seq\": 0}");
    await().atMost(Duration.ofSeconds(10)).until(() -> proxy.process().descendants()
        .anyMatch(h -> h.info().commandLine().orElse("").contains(COLD_MARK)));
    assertThat(cold).isNotDone();
    Set<Long> sandboxes = sandboxPids(proxy.process());

    long sigterm = System.nanoTime();
    proxy.process().destroy(); // SIGTERM

    // Readiness goes false while the listener still answers.
    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(20)).until(() ->
        http.send(request(proxy, "/health/ready", null).build(), HttpResponse.BodyHandlers.ofString())
            .statusCode() == 503);
    long readyFalseMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
    // The kept-alive connection's next answer says Connection: close, and the proxy closes it.
    String drainHead = rawGet(keptAlive, invoke("echo", "/kept"), loopSessions.get(0));
    assertThat(drainHead).startsWith("HTTP/1.1 200").containsIgnoringCase("connection: close");
    assertThat(readToEnd(keptAlive)).as("closed by the proxy after that response").isTrue();
    keptAlive.close();

    HttpResponse<String> ready = http.send(request(proxy, "/health/ready", null).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(new JsonObject(ready.body()).getString("code")).isEqualTo("SHUTTING_DOWN");
    assertThat(http.send(request(proxy, "/health/live", null).build(), HttpResponse.BodyHandlers.ofString())
        .statusCode()).as("still live while draining").isEqualTo(200);

    // A new session during the grace: 503 SHUTTING_DOWN with Retry-After, and no session header.
    HttpResponse<String> refused = http.send(request(proxy, invoke("echo", "/new"), null).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
    assertThat(new JsonObject(refused.body()).getString("code")).isEqualTo("SHUTTING_DOWN");
    assertThat(new JsonObject(refused.body()).getString("error")).isNotBlank();
    assertThat(refused.headers().firstValue("retry-after")).contains("1");
    assertThat(refused.headers().firstValue(SESSION)).isEmpty();
    HttpResponse<String> refusedControl = http.send(request(proxy, "/v1/agent-runtime", null)
        .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"echo\"}")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(refusedControl.statusCode()).as(refusedControl.body()).isEqualTo(503);
    assertThat(new JsonObject(refusedControl.body()).getString("code")).isEqualTo("SHUTTING_DOWN");
    assertThat(System.nanoTime() - sigterm).as("checked within the grace").isLessThan(grace.toNanos());

    // Once the grace is over the listener closes; the WebSocket is still served, then ends.
    await().atMost(grace.plusSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() -> refusesConnections(proxy));
    long listenerClosedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
    ws.sendText("during", true).get(10, TimeUnit.SECONDS);
    await().atMost(Duration.ofSeconds(10)).until(() -> wsReceived.contains("during"));
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(10, TimeUnit.SECONDS);

    // Every request that was in flight at the signal got its whole, correct answer.
    for (CompletableFuture<HttpResponse<String>> f : slow) {
      HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(new JsonObject(r.body()).getString("path")).isEqualTo("/slow");
    }
    List<String> events = new ArrayList<>();
    sseLines.forEachRemaining(l -> {
      if (!l.isEmpty()) {
        events.add(l);
      }
    });
    long sseEndedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
    assertThat(events).as("the rest of the SSE stream").hasSize(39)
        .last().isEqualTo("data: {\"seq\": 39}");
    assertThat(sseEndedMs).as("the stream outlived the grace").isGreaterThan(listenerClosedMs);
    HttpResponse<String> coldAnswer = cold.get(30, TimeUnit.SECONDS);
    long coldMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - coldStarted);
    long coldAnsweredMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
    assertThat(coldAnsweredMs).as("the cold start outlived the grace").isGreaterThan(listenerClosedMs);
    assertThat(coldAnswer.statusCode()).as(coldAnswer.body()).isEqualTo(200);
    assertThat(new JsonObject(coldAnswer.body()).getString("path")).isEqualTo("/first");
    assertThat(coldAnswer.headers().firstValue(SESSION)).isPresent();

    // The process exits 0 within the bounds, and no sandbox outlives it.
    assertThat(proxy.process().waitFor(grace.plus(drainTimeout).plus(stopTimeout).toSeconds() + 10,
        TimeUnit.SECONDS)).isTrue();
    long exitMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
    stop.set(true);
    for (Thread t : loops) {
      t.join(10_000);
    }
    String log = proxy.output();
    assertThat(proxy.process().exitValue()).as(log).isEqualTo(0);
    assertThat(exitMs).isLessThan(grace.plus(drainTimeout).plus(stopTimeout).toMillis());
    await().atMost(Duration.ofSeconds(10)).until(() -> sandboxes.stream().noneMatch(DrainProcessIT::alive));
    try (var dirs = Files.list(tmp.resolve("state").resolve("sandboxes"))) {
      assertThat(dirs.toList()).as("sandbox directories removed").isEmpty();
    }
    Matcher drained = DRAINED.matcher(log);
    assertThat(drained.find()).as(log).isTrue();
    long drainMs = Long.parseLong(drained.group(1));

    List<Outcome> all = new ArrayList<>(outcomes);
    List<Outcome> before = all.stream().filter(o -> o.startNanos() < sigterm).toList();
    List<Outcome> after = all.stream().filter(o -> o.startNanos() >= sigterm).toList();
    long completedDuringDrain = all.stream().filter(o -> o.failure() == null && o.endNanos() >= sigterm).count()
        + slow.size() + 1 /* sse */ + 1 /* cold */ + 1 /* kept-alive */;
    List<Outcome> failedBefore = before.stream().filter(o -> o.failure() != null).toList();
    List<Outcome> wrongAfter = after.stream().filter(o -> o.failure() != null && !o.connectFailed()).toList();
    long cutAfter = after.stream().filter(Outcome::connectFailed).count();
    System.out.printf("DRAIN NUMBERS: loops=%d requestsStartedBeforeSigterm=%d failedOfThose=%d"
            + " requestsStartedDuringDrain=%d servedOfThose=%d refusedOrClosedAfterListenerClosed=%d"
            + " wrongAnswers=%d completedDuringDrain=%d (loops + %d slow + 1 sse + 1 cold start + 1 keep-alive)"
            + " websocketServedAfterListenerClosed=1 readinessFalseAfterMs=%d listenerClosedAfterMs=%d"
            + " sseEndedAfterMs=%d coldStartTookMs=%d drainDurationMs=%d exitAfterMs=%d exitCode=%d%n",
        loops.size(), before.size(), failedBefore.size(), after.size(),
        after.stream().filter(o -> o.failure() == null).count(), cutAfter, wrongAfter.size(),
        completedDuringDrain, slow.size(), readyFalseMs, listenerClosedMs, sseEndedMs, coldMs, drainMs, exitMs,
        proxy.process().exitValue());
    assertThat(failedBefore).as("requests started before SIGTERM that failed").isEmpty();
    assertThat(wrongAfter).as("requests during the drain answered wrongly").isEmpty();
    assertThat(after.stream().filter(o -> o.failure() == null).count())
        .as("existing sessions served during the grace").isPositive();
    for (Outcome o : after) {
      if (o.connectFailed()) {
        assertThat(TimeUnit.NANOSECONDS.toMillis(o.endNanos() - sigterm))
            .as("only refused once the grace is over: %s", o.failure()).isGreaterThanOrEqualTo(grace.toMillis() - 100);
      }
    }
  }

  @Test
  void sigterm_requestThatNeverEnds_isCutAtTheDrainTimeout_exitStillZero() throws Exception {
    Running proxy = start("--shutdown.drainGrace=1s", "--shutdown.drainTimeout=3s", "--shutdown.timeout=10s");
    String session = newSession(proxy);
    CompletableFuture<HttpResponse<String>> endless = http.sendAsync(
        request(proxy, invoke("echo", "/slow?seconds=600"), session).build(), HttpResponse.BodyHandlers.ofString());
    await().atMost(Duration.ofSeconds(10)).until(() -> inFlight(proxy, session) == 1);
    Set<Long> sandboxes = sandboxPids(proxy.process());

    long sigterm = System.nanoTime();
    proxy.process().destroy();

    long cutMs;
    try {
      HttpResponse<String> r = endless.get(30, TimeUnit.SECONDS);
      throw new AssertionError("the endless request got an answer: " + r.statusCode() + " " + r.body() + "\n" + proxy.output());
    } catch (java.util.concurrent.ExecutionException e) {
      cutMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
      assertThat(e.getCause()).isInstanceOf(IOException.class);
    }
    assertThat(proxy.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
    long exitMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sigterm);
    String log = proxy.output();
    System.out.printf("DRAIN TIMEOUT NUMBERS: grace=1000ms drainTimeout=3000ms cutAfterMs=%d exitAfterMs=%d exitCode=%d%n",
        cutMs, exitMs, proxy.process().exitValue());
    assertThat(proxy.process().exitValue()).as(log).isEqualTo(0);
    assertThat(cutMs).as("cut at grace + drainTimeout").isBetween(4000L - 300, 4000L + 2000);
    assertThat(exitMs).as("within grace + drainTimeout + shutdown.timeout").isLessThan(1000 + 3000 + 10_000);
    assertThat(log).contains("drain timeout: closing connections still open count=1");
    await().atMost(Duration.ofSeconds(10)).until(() -> sandboxes.stream().noneMatch(DrainProcessIT::alive));
  }

  /** Whether a new TCP connection to the proxy is refused (its listener has closed). */
  private static boolean refusesConnections(Running proxy) {
    try (Socket s = new Socket("127.0.0.1", proxy.port())) {
      return false;
    } catch (ConnectException e) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Sends a GET on {@code socket} and returns the response head; reads the body by its length. */
  private static String rawGet(Socket socket, String path, String session) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + SESSION + ": " + session + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    out.flush();
    InputStream in = socket.getInputStream();
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed in the response head: " + head);
      }
      head.append((char) b);
    }
    Matcher length = Pattern.compile("(?i)content-length:\\s*(\\d+)").matcher(head);
    assertThat(length.find()).as(head.toString()).isTrue();
    byte[] body = in.readNBytes(Integer.parseInt(length.group(1)));
    assertThat(new JsonObject(new String(body, StandardCharsets.UTF_8)).getString("path")).isEqualTo("/kept");
    return head.toString();
  }

  /** Whether the peer closes {@code socket} (end of stream) with nothing more sent. */
  private static boolean readToEnd(Socket socket) throws IOException {
    return socket.getInputStream().read() == -1;
  }
}
