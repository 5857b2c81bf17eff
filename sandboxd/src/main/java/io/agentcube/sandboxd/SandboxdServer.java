package io.agentcube.sandboxd;

import com.sun.net.httpserver.HttpServer;
import io.agentcube.jail.Jail;
import io.agentcube.jail.Limits;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running sandboxd: the JDK's built-in HTTP server with {@link RequestRouter} on {@code /},
 * serving one workspace ({@link SingleWorkspace}) or, in host mode, the workspaces of many
 * sandboxes ({@link SandboxHost}). Every command runs in the {@link Jail} probed at start, when it
 * works (or is required).
 *
 * <p>Why the JDK server and not Vert.x: measured on this project's machine, a bare Vert.x 5
 * server answered its first request after ~1.2 s with ~87 MB resident, the JDK server after
 * ~0.33 s with ~48 MB (docs/sandboxd.md). sandboxd starts once per sandbox, on the path of a
 * session's first request, and a node runs many of them; its work (processes, files) blocks
 * anyway, so thread-per-request is the natural model.
 *
 * <p>Threads: requests run on a bounded pool ({@code maxExecutions + 16} threads, a queue of
 * 256; beyond that the server closes the connection). Each running command also uses two
 * drainer threads from a second pool, bounded at {@code 2 * maxExecutions + 64}: the spare 64
 * cover drainers still reading the pipes of background processes that outlived their command
 * ({@link CommandRunner}). {@link #close()} stops accepting, kills running
 * commands' process trees and removes the staging directory.
 */
public final class SandboxdServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(SandboxdServer.class);

  private final HttpServer http;
  private final ThreadPoolExecutor handlers;
  private final ThreadPoolExecutor drainers;
  private final CommandRunner runner;
  private final Workspaces workspaces;
  private final Path stagingDir; // null when the host owns it
  private final Jail jail;
  private boolean closed; // guarded by this

  private SandboxdServer(
      HttpServer http,
      ThreadPoolExecutor handlers,
      ThreadPoolExecutor drainers,
      CommandRunner runner,
      Workspaces workspaces,
      Path stagingDir,
      Jail jail) {
    this.http = http;
    this.handlers = handlers;
    this.drainers = drainers;
    this.runner = runner;
    this.workspaces = workspaces;
    this.stagingDir = stagingDir;
    this.jail = jail;
  }

  /** Validates {@code options} and starts listening, with the system clock and environment. */
  public static SandboxdServer start(SandboxdOptions options) throws IOException {
    return start(options, Clock.systemUTC(), System.getenv());
  }

  /**
   * Validates {@code options} and starts listening.
   *
   * @param daemonEnv the daemon's environment; single mode hands it to commands without
   *     sandboxd's own variables ({@link SingleWorkspace}), a host to none
   * @throws IllegalStateException or IllegalArgumentException for a bad configuration (missing or
   *     malformed key, isolation required but not working, a workspaces directory not a host's)
   * @throws IOException when the workspace cannot be prepared or the port cannot be bound
   */
  public static SandboxdServer start(SandboxdOptions options, Clock clock,
      Map<String, String> daemonEnv) throws IOException {
    options.validate();
    TokenVerifier verifier = options.noAuth() ? null
        : options.hostTokenKey() != null ? TokenVerifier.hmac(options.hostTokenKey(), clock)
        : TokenVerifier.create(options.publicKeyPem(), clock);
    Jail jail = Jail.probe(options.isolation());
    log.info("isolation {}", jail.describe());

    SandboxHost host = null;
    Workspaces workspaces;
    Path staging;
    Path ownStaging = null;
    if (options.mode() == SandboxdOptions.Mode.HOST) {
      host = SandboxHost.open(options, jail.enabled(), jail.enabled() && jail.separateUids());
      workspaces = host;
      staging = host.staging();
    } else {
      workspaces = SingleWorkspace.open(options, daemonEnv, jail.enabled());
      staging = Files.createTempDirectory("sandboxd-staging-");
      ownStaging = staging;
    }

    ThreadPoolExecutor drainers = new ThreadPoolExecutor(
        0, options.maxExecutions() * 2 + 64, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
        daemonThreads("sandboxd-drain-"));
    CommandRunner runner =
        new CommandRunner(options.maxOutputBytes(), drainers, clock, jail, Limits.defaults());
    SandboxHost hostRef = host;
    Map<String, Object> fixedHealth = new LinkedHashMap<>();
    fixedHealth.put("mode", options.mode().label());
    fixedHealth.put("isolation", host != null && host.sharedUidReason() != null
        ? jail.describe() + "; but sandboxes share one uid: " + host.sharedUidReason()
        : jail.describe());
    RequestRouter router = new RequestRouter(
        verifier,
        workspaces,
        host == null ? null : new HostHandler(host),
        new ExecuteHandler(runner, options),
        new FileHandler(staging),
        options.maxBodyBytes(),
        clock,
        () -> {
          if (hostRef == null) {
            return fixedHealth;
          }
          Map<String, Object> details = new LinkedHashMap<>(fixedHealth);
          details.put("sandboxes", hostRef.count());
          return details;
        });

    int threads = options.maxExecutions() + 16;
    ThreadPoolExecutor handlers = new ThreadPoolExecutor(
        threads, threads, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(256),
        daemonThreads("sandboxd-http-"));
    handlers.allowCoreThreadTimeOut(true);

    // TCP_NODELAY on accepted connections (the JDK server's default is off): with Nagle on, the
    // body written after the head waits for the client's delayed ACK, ~40 ms per response
    // (bench T10 through the proxy: first execute p50 63 ms -> 20 ms). Read once, when the JDK
    // server's configuration class loads, so before the first server is created.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
    HttpServer http;
    try {
      http = HttpServer.create(new InetSocketAddress(options.host(), options.port()), 128);
    } catch (IOException e) {
      handlers.shutdownNow();
      drainers.shutdownNow();
      workspaces.close();
      if (ownStaging != null) {
        deleteTree(ownStaging);
      }
      throw new IOException("cannot listen on " + options.host() + ":" + options.port()
          + ": " + e.getMessage(), e);
    }
    http.createContext("/", router);
    http.setExecutor(handlers);
    http.start();
    if (verifier != null) {
      // Off the start path: "listening" is not delayed, the first request usually finds it done.
      Thread warm = new Thread(verifier::warmUp, "sandboxd-warmup");
      warm.setDaemon(true);
      warm.start();
    }
    SandboxdServer server =
        new SandboxdServer(http, handlers, drainers, runner, workspaces, ownStaging, jail);
    log.info("sandboxd started port={} {}", server.port(), options);
    return server;
  }

  /** The port actually bound (useful with port 0). */
  public int port() {
    return http.getAddress().getPort();
  }

  /** Single mode: the workspace's real path; host mode: the real path of the workspaces root. */
  public Path workspace() {
    return workspaces instanceof SandboxHost
        ? ((SandboxHost) workspaces).root()
        : ((SingleWorkspace) workspaces).workspace().paths().root();
  }

  /** The jail commands run in (possibly disabled). */
  public Jail jail() {
    return jail;
  }

  /** The version from the jar manifest, or {@code "dev"} when run from classes. */
  static String version() {
    String v = SandboxdServer.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  /**
   * Stops the server: no new connections, in-flight exchanges get up to one second, running
   * commands are killed with their process trees, and a host deletes every sandbox (processes,
   * directories). Idempotent; a second call waits for the first to finish (a shutdown hook must
   * not return while another thread is still deleting sandboxes). Blocking for a few seconds at
   * most.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    http.stop(1);
    workspaces.close();
    runner.killAll();
    handlers.shutdownNow();
    drainers.shutdownNow();
    if (stagingDir != null) {
      deleteTree(stagingDir);
    }
    log.info("sandboxd stopped");
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  private static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (IOException | UncheckedIOException e) {
      log.warn("cannot remove staging directory path={} reason={}", dir, e.toString());
    }
  }
}
