package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11: ~20 000 half-sent requests once exhausted the proxy's descriptors; new clients timed
 * out, the runtime reload removed every runtime and failed stops leaked sandboxes. Here the shipped
 * jar runs under {@code prlimit --nofile=1024} (cap (1024 - 256) / 2 = 384 connections) and takes a
 * flood of 3 000 connections, each with an unfinished head. During it, a client already connected
 * is served, opens a new session (a sandbox start), sees a runtime file change applied (a reload)
 * and ends a session (a sandbox stop); afterwards new clients are served, no runtime changed version,
 * and after SIGTERM no sandbox process is left.
 */
class FloodIT {

  private static final Path JAR = Path.of("target", "agentcube-proxy.jar").toAbsolutePath();
  private static final Pattern LISTENING = Pattern.compile("listening on http://[^:]+:(\\d+)");
  private static final int FLOOD = 3_000;

  @TempDir
  Path tmp;
  private Process proxy;
  private final List<Socket> flood = new ArrayList<>();

  @AfterEach
  void cleanUp() throws IOException {
    for (Socket s : flood) {
      s.close();
    }
    if (proxy != null) {
      proxy.descendants().forEach(ProcessHandle::destroyForcibly);
      proxy.destroyForcibly();
    }
  }

  @Test
  void flood_goodClientServedThroughout_nothingLostAfter() throws Exception {
    Path runtimes = tmp.resolve("runtimes");
    TestRuntimes.write(runtimes, "echo.yaml", TestRuntimes.echo("echo", 1, "2m", "8h"));
    Path log = tmp.resolve("proxy.log");
    List<String> cmd = List.of("prlimit", "--nofile=1024:1024",
        ProcessHandle.current().info().command().orElse("java"), "-Xmx256m", "-jar", JAR.toString(),
        "--server.port=0", "--server.headerReadTimeout=5s", "--runtimes.reloadInterval=300ms", "--shutdown.drainGrace=0s",
        "--runtimes.dirs=" + runtimes, "--process.stateDir=" + tmp.resolve("state"));
    proxy = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    int[] port = new int[1];
    await().atMost(Duration.ofSeconds(90)).until(() -> {
      assertThat(proxy.isAlive()).as("proxy running: %s", Files.readString(log)).isTrue();
      Matcher m = LISTENING.matcher(Files.readString(log));
      return m.find() && (port[0] = Integer.parseInt(m.group(1))) > 0;
    });
    assertThat(Files.readString(log)).contains("client connections max=384").contains("fdLimit=1024");

    Socket good = new Socket("127.0.0.1", port[0]);
    good.setSoTimeout(30_000);
    String firstSession = sessionOf(exchange(good, "GET " + ProxyFixture.invoke("echo", "/a") + " HTTP/1.1"));
    JsonObject before = runtime(exchange(good, "GET /v1/namespaces/default/runtimes HTTP/1.1"), "echo");

    // The flood: connections that send half a head and wait.
    byte[] half = "GET /health/live HTTP/1.1\r\nHost: x\r\nX-Wait: ".getBytes(StandardCharsets.US_ASCII);
    int refusedOnConnect = 0;
    for (int i = 0; i < FLOOD; i++) {
      try {
        Socket s = new Socket("127.0.0.1", port[0]);
        flood.add(s);
        s.getOutputStream().write(half);
      } catch (IOException closedAtOnce) {
        refusedOnConnect++;
      }
    }
    long heldByProxy = ProcessHandle.of(proxy.pid()).isPresent() ? openFds(proxy) : -1;

    // Throughout: the good client's connection is served, a sandbox starts and one stops ...
    long t0 = System.nanoTime();
    String second = sessionOf(exchange(good, "GET " + ProxyFixture.invoke("echo", "/b") + " HTTP/1.1"));
    assertThat(second).isNotEqualTo(firstSession);
    assertThat(status(exchange(good, "DELETE /v1/sessions/" + firstSession + " HTTP/1.1"))).isEqualTo(200);
    // ... and a runtime file change is applied (a reload) without touching the other runtime.
    TestRuntimes.write(runtimes, "echo2.yaml", TestRuntimes.echo("echo2", 0, "2m", "8h"));
    await().atMost(Duration.ofSeconds(20)).until(() ->
        runtimeOrNull(exchange(good, "GET /v1/namespaces/default/runtimes HTTP/1.1"), "echo2") != null);
    long duringMs = (System.nanoTime() - t0) / 1_000_000;
    JsonObject during = runtime(exchange(good, "GET /v1/namespaces/default/runtimes HTTP/1.1"), "echo");
    assertThat(during.getJsonObject("status").getString("defaultVersion")).as("no new version")
        .isEqualTo(before.getJsonObject("status").getString("defaultVersion"));

    for (Socket s : flood) {
      s.close();
    }
    flood.clear();
    // Afterwards, once the proxy has seen the flood's connections close: new clients are served,
    // sessions go on.
    long closedAt = System.nanoTime();
    await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> {
      try (Socket fresh = new Socket("127.0.0.1", port[0])) {
        fresh.setSoTimeout(30_000);
        int st = status(exchange(fresh, "GET " + ProxyFixture.invoke("echo", "/c") + " HTTP/1.1\r\n"
            + "x-agentcube-session-id: " + second));
        assertThat(st).as("served, or refused while the flood's connections are still open").isIn(200, 503);
        return st == 200;
      } catch (IOException closedAtOnce) {
        return false; // still over maxConnections + 64: closed at accept, as designed
      }
    });
    long recoveredMs = (System.nanoTime() - closedAt) / 1_000_000;
    String proxyLog = Files.readString(log);
    assertThat(proxyLog).doesNotContain("runtime removed").doesNotContain("runtime file problem")
        .doesNotContain("sandbox start failed").doesNotContain("stopping sandbox");
    // Bursts of accepts can still outrun the event loops that close what is over the cap: the
    // accept then fails with EMFILE and Netty accepts again later. Counted, not hidden.
    long acceptEmfile = proxyLog.lines().filter(l -> l.contains("accept(..) failed") && l.contains("Too many open files")).count();

    Set<Long> sandboxes = sandboxPids(proxy);
    assertThat(sandboxes).as("the session's and the warm pool's sandboxes").isNotEmpty();
    good.close();
    proxy.destroy(); // SIGTERM
    assertThat(proxy.waitFor(60, TimeUnit.SECONDS)).isTrue();
    await().atMost(Duration.ofSeconds(20)).until(() -> sandboxes.stream().noneMatch(FloodIT::alive));
    System.out.printf("FloodIT: %d connections, %d failed at connect, proxy held %d fds under the flood,"
        + " %d accepts failed with EMFILE, good client's start+stop+reload took %d ms, new clients served %d ms after the flood closed, exit %d%n",
        FLOOD, refusedOnConnect, heldByProxy, acceptEmfile, duringMs, recoveredMs, proxy.exitValue());
    assertThat(proxy.exitValue()).as("SIGTERM: a normal stop").isZero();
  }

  private static long openFds(Process p) {
    try (var list = Files.list(Path.of("/proc", Long.toString(p.pid()), "fd"))) {
      return list.count();
    } catch (IOException e) {
      return -1;
    }
  }

  private static Set<Long> sandboxPids(Process proxy) {
    Set<Long> out = new TreeSet<>();
    proxy.descendants().filter(h -> h.info().commandLine().orElse("").contains("echo_agent.py"))
        .forEach(h -> out.add(h.pid()));
    return out;
  }

  private static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  /** One request on a keep-alive connection; the response with its Content-Length body. */
  private static String exchange(Socket s, String requestLine) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write((requestLine + "\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    out.flush();
    InputStream in = s.getInputStream();
    StringBuilder head = new StringBuilder();
    while (head.indexOf("\r\n\r\n") < 0) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed after: " + head);
      }
      head.append((char) b);
    }
    Matcher m = Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
    int length = m.find() ? Integer.parseInt(m.group(1)) : 0;
    return head + new String(in.readNBytes(length), StandardCharsets.UTF_8);
  }

  private static int status(String response) {
    return Integer.parseInt(response.substring(9, 12));
  }

  private static String sessionOf(String response) {
    assertThat(status(response)).as(response).isEqualTo(200);
    Matcher m = Pattern.compile("(?i)x-agentcube-session-id: *(\\S+)").matcher(response);
    assertThat(m.find()).as(response).isTrue();
    return m.group(1);
  }

  private static String body(String response) {
    return response.substring(response.indexOf("\r\n\r\n") + 4);
  }

  private static JsonObject runtimeOrNull(String response, String name) {
    JsonObject listing = new JsonObject(body(response));
    JsonArray items = listing.getJsonArray("items");
    for (Object o : items) {
      JsonObject r = (JsonObject) o;
      if (name.equals(r.getString("name"))) {
        return r;
      }
    }
    return null;
  }

  private static JsonObject runtime(String response, String name) {
    JsonObject r = runtimeOrNull(response, name);
    assertThat(r).as("runtime %s in %s", name, response).isNotNull();
    return r;
  }
}
