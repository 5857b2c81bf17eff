package io.agentcube.bench.loadgen;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;

/**
 * Cold start, interleaved pair by pair so that background load hits both sides alike:
 * <ol>
 *   <li><b>raw</b>: this program starts {@code --raw-command} itself (env {@code PORT} and
 *       {@code AGENTCUBE_SANDBOX_DIR}, as the process backend gives them) and polls the port with
 *       a TCP connect every 100 µs until it accepts: the floor any proxy could reach;</li>
 *   <li><b>proxy</b>: the first request of a new session of a runtime whose warm pool is empty
 *       ({@code --new-url}), timed until its response body ended; the session is then deleted.</li>
 * </ol>
 * Sequential; every wait is bounded.
 */
final class ColdStart {

  private ColdStart() {}

  static JsonObject run(Vertx vertx, Args args) throws Exception {
    String newUrl = args.string("new-url");
    String deletePrefix = args.string("delete-prefix");
    List<String> command = Arrays.asList(args.string("raw-command").trim().split("\\s+"));
    int count = args.integer("count", 20);
    int pauseMs = args.integer("pause-ms", 200);
    Path scratch = Files.createTempDirectory("agentcube-bench-raw");

    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true)
        .setTcpNoDelay(true), new PoolOptions().setHttp1MaxSize(4));
    Histogram raw = new Histogram(3);
    Histogram proxy = new Histogram(3);
    JsonArray pairs = new JsonArray();
    int errors = 0;
    String lastError = null;
    try {
      for (int i = 0; i < count; i++) {
        long rawUs = rawStart(command, scratch.resolve("s" + i));
        raw.recordValue(Math.max(1, rawUs));
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(pauseMs));

        long t0 = System.nanoTime();
        Object[] answer = Main.await(client.request(new RequestOptions().setMethod(HttpMethod.GET)
                .setAbsoluteURI(newUrl).setIdleTimeout(90_000))
            .compose(req -> req.send().compose(resp -> resp.body().map(b -> new Object[] {
                resp.statusCode(), resp.getHeader(OpenLoop.SESSION_HEADER), b.toString()}))), 100);
        long proxyUs = (System.nanoTime() - t0) / 1000;
        int status = (Integer) answer[0];
        if (status / 100 == 2) {
          proxy.recordValue(Math.max(1, proxyUs));
        } else {
          errors++;
          lastError = "status " + status + ": " + answer[2];
        }
        pairs.add(new JsonArray().add(rawUs).add(proxyUs));
        if (answer[1] != null) {
          Main.await(client.request(new RequestOptions().setMethod(HttpMethod.DELETE)
                  .setAbsoluteURI(deletePrefix + answer[1]).setIdleTimeout(30_000))
              .compose(req -> req.send().compose(resp -> resp.body())), 40);
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(pauseMs));
      }
    } finally {
      deleteTree(scratch);
    }
    return new JsonObject().put("count", count).put("errors", errors).put("lastError", lastError)
        .put("raw_start_us", OpenLoop.summary(raw))
        .put("proxy_first_request_us", OpenLoop.summary(proxy))
        .put("pairs_us", pairs);
  }

  /** Starts the command, waits until its port accepts, stops it; @return microseconds to ready. */
  private static long rawStart(List<String> command, Path dir) throws Exception {
    Files.createDirectories(dir);
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("out.log").toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().put("PORT", Integer.toString(port));
    pb.environment().put("AGENTCUBE_SANDBOX_DIR", dir.toString());
    long t0 = System.nanoTime();
    Process p = pb.start();
    try {
      long deadline = t0 + TimeUnit.SECONDS.toNanos(20);
      while (true) {
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
          return (System.nanoTime() - t0) / 1000;
        } catch (IOException notYet) {
          if (!p.isAlive()) {
            throw new IllegalStateException("raw command exited with " + p.exitValue()
                + " before its port accepted; see " + dir.resolve("out.log"));
          }
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("raw command not ready within 20 s");
          }
          LockSupport.parkNanos(100_000);
        }
      }
    } finally {
      p.descendants().forEach(ProcessHandle::destroy);
      p.destroy();
      if (!p.waitFor(5, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    }
  }

  private static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
