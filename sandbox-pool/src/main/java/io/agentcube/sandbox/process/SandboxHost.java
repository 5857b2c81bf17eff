package io.agentcube.sandbox.process;

import io.agentcube.runtime.Durations;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one long-lived sandboxd ({@code --mode host}) that holds every code-interpreter sandbox of
 * this proxy as a workspace: starting a sandbox is one {@code POST /host/v1/sandboxes} (a mkdir on
 * the host), stopping it one {@code DELETE} (its executions killed, its directory removed). Every
 * execution on the host runs in its own jail (docs/isolation.md).
 *
 * <h2>Life of the host</h2>
 * Started on the first sandbox it is asked for, with an explicit environment (the public key of
 * the proxy's tokens, {@code PATH}, {@code LANG}; never the proxy's own) and a stdin pipe the
 * proxy never writes: the host exits when that pipe closes ({@code --exit-on-stdin-eof}), so it
 * dies with the proxy, crash or not. When it exits by itself every sandbox on it is lost
 * ({@code 410 SANDBOX_LOST} for their sessions) and the next start starts a new host.
 *
 * <p>The proxy's calls carry an RS256 token with audience {@code agentcube-sandbox-host}, which
 * session tokens never have: code in a sandbox cannot manage the host, nor can a session's token.
 *
 * <p>Thread-safe; never blocks an event loop (spawning runs on a worker).
 */
final class SandboxHost {

  private static final Logger log = LoggerFactory.getLogger(SandboxHost.class);

  /** One host process. */
  final class Instance {
    final Process process;
    final int port;
    private final SocketAddress address;
    /** Held, never written: closing it tells the host to exit. */
    final OutputStream stdin;

    Instance(Process process, int port) {
      this.process = process;
      this.port = port;
      this.address = SocketAddress.inetSocketAddress(port, "127.0.0.1");
      this.stdin = process.getOutputStream();
    }

    SocketAddress address() {
      return address;
    }

    boolean alive() {
      return process.isAlive();
    }
  }

  private final Vertx vertx;
  private final Path dir;
  private final Supplier<List<String>> command;
  private final Supplier<Map<String, String>> environment;
  private final Supplier<String> authorization;
  private final Duration readyTimeout;
  private final PortAllocator ports;
  private final Consumer<Instance> onExit;
  private final HttpClient http;
  private Future<Instance> current;
  private boolean closed;

  /**
   * @param dir the host's directory: {@code workspaces/} and {@code host.log}
   * @param command the sandboxd command (the host flags are appended)
   * @param environment the host's whole environment
   * @param onExit told when a host exits by itself (not at {@link #close})
   */
  SandboxHost(Vertx vertx, Path dir, Supplier<List<String>> command,
      Supplier<Map<String, String>> environment, Supplier<String> authorization,
      Duration readyTimeout, PortAllocator ports, Consumer<Instance> onExit) {
    this.vertx = vertx;
    this.dir = dir;
    this.command = command;
    this.environment = environment;
    this.authorization = authorization;
    this.readyTimeout = readyTimeout;
    this.ports = ports;
    this.onExit = onExit;
    this.http = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true)
        .setTcpNoDelay(true).setConnectTimeout(2_000).setIdleTimeout(60),
        new PoolOptions().setHttp1MaxSize(32).setMaxWaitQueueSize(4096));
  }

  /** The running host, starting one if there is none (or the last one died). */
  synchronized Future<Instance> running() {
    if (closed) {
      return Future.failedFuture("the sandbox host is shutting down");
    }
    if (current != null && !(current.isComplete()
        && (current.failed() || !current.result().alive()))) {
      return current;
    }
    current = vertx.executeBlocking(this::spawn, false).compose(this::awaitReady);
    return current;
  }

  private Instance spawn() throws IOException {
    Path workspaces = Files.createDirectories(dir.resolve("workspaces"));
    int port = ports.allocate();
    List<String> argv = new ArrayList<>(command.get());
    argv.addAll(List.of("--mode", "host", "--workspaces", workspaces.toString(),
        "--port", Integer.toString(port), "--exit-on-stdin-eof"));
    ProcessBuilder pb = new ProcessBuilder(argv).directory(dir.toFile())
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("host.log").toFile()))
        .redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve("host.log").toFile()))
        .redirectInput(ProcessBuilder.Redirect.PIPE);
    pb.environment().clear();
    pb.environment().putAll(environment.get());
    Process process = pb.start();
    Instance instance = new Instance(process, port);
    process.onExit().thenRun(() -> exited(instance));
    log.info("sandbox host starting pid={} port={} log={}", process.pid(), port,
        dir.resolve("host.log"));
    return instance;
  }

  private void exited(Instance instance) {
    synchronized (this) {
      if (closed) {
        return;
      }
    }
    log.warn("sandbox host exited by itself pid={} exit={}: its sandboxes are lost; see {}",
        instance.process.pid(), instance.process.exitValue(), dir.resolve("host.log"));
    onExit.accept(instance);
  }

  /** Completes when {@code /health} answers 200; fails at once if the process exits. */
  private Future<Instance> awaitReady(Instance instance) {
    Promise<Instance> ready = Promise.promise();
    long deadline = System.nanoTime() + readyTimeout.toNanos();
    instance.process.onExit().thenRun(() -> ready.tryFail("the sandbox host exited with code "
        + instance.process.exitValue() + " before it was ready; see " + dir.resolve("host.log")));
    probe(instance, ready, deadline, 5);
    return ready.future().onSuccess(i -> log.info("sandbox host ready pid={} port={}",
        i.process.pid(), i.port));
  }

  private void probe(Instance instance, Promise<Instance> ready, long deadline, long delayMs) {
    call(instance, HttpMethod.GET, "/health", null).onComplete(ar -> {
      if (ready.future().isComplete()) {
        return;
      }
      if (ar.succeeded() && ar.result().statusCode() == 200) {
        ready.tryComplete(instance);
      } else if (System.nanoTime() - deadline > 0) {
        instance.process.destroyForcibly();
        ready.tryFail("the sandbox host did not answer /health within "
            + Durations.format(readyTimeout));
      } else {
        vertx.setTimer(delayMs, t -> probe(instance, ready, deadline, Math.min(50, delayMs * 2)));
      }
    });
  }

  record Reply(int statusCode, JsonObject body) {}

  /** Makes workspace {@code id} on {@code instance}. */
  Future<Void> create(Instance instance, String id, Map<String, String> env, boolean network) {
    JsonObject body = new JsonObject().put("id", id).put("env", new JsonObject(Map.copyOf(env)))
        .put("network", network);
    return call(instance, HttpMethod.POST, "/host/v1/sandboxes", body).compose(r -> r.statusCode() == 201
        ? Future.succeededFuture()
        : Future.failedFuture("the sandbox host refused sandbox " + id + ": " + r.statusCode()
            + " " + r.body().getString("error", "")));
  }

  /** Removes workspace {@code id}; done when it is gone, or the host is. */
  Future<Void> delete(Instance instance, String id) {
    if (!instance.alive()) {
      return Future.succeededFuture();
    }
    return call(instance, HttpMethod.DELETE, "/host/v1/sandboxes/" + id, null)
        .transform(ar -> {
          if (ar.succeeded() && (ar.result().statusCode() == 204 || ar.result().statusCode() == 404)) {
            return Future.succeededFuture();
          }
          if (!instance.alive()) {
            return Future.succeededFuture(); // died meanwhile: nothing of it is left
          }
          return Future.failedFuture("the sandbox host could not stop sandbox " + id + ": "
              + (ar.failed() ? ar.cause().getMessage() : ar.result().statusCode() + " "
                  + ar.result().body().getString("error", "")));
        });
  }

  private Future<Reply> call(Instance instance, HttpMethod method, String path, JsonObject body) {
    RequestOptions options = new RequestOptions().setMethod(method).setHost("127.0.0.1")
        .setPort(instance.port).setURI(path).setIdleTimeout(15_000)
        .putHeader("Authorization", authorization.get());
    return http.request(options)
        .compose(req -> body == null ? req.send()
            : req.putHeader("Content-Type", "application/json").send(Buffer.buffer(body.encode())))
        .compose(resp -> resp.body().map(b -> new Reply(resp.statusCode(),
            b.length() > 0 && b.getByte(0) == '{' ? new JsonObject(b) : new JsonObject())));
  }

  /**
   * Stops the host: its stdin closes, it kills every execution and removes its workspaces, and
   * exits; SIGKILL after {@code grace}.
   */
  Future<Void> close(Duration grace) {
    Future<Instance> last;
    synchronized (this) {
      closed = true;
      last = current;
    }
    if (last == null) {
      return http.close();
    }
    return last.transform(ar -> {
      if (ar.failed() || !ar.result().alive()) {
        return Future.<Void>succeededFuture();
      }
      Instance i = ar.result();
      Promise<Void> gone = Promise.promise();
      vertx.executeBlocking(() -> {
        try {
          i.stdin.close();
        } catch (IOException e) {
          i.process.destroy();
        }
        if (!i.process.waitFor(grace.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
          i.process.destroyForcibly();
          i.process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
        }
        return null;
      }, false).onComplete(x -> gone.complete());
      return gone.future();
    }).eventually(http::close);
  }

  /** For tests: the running host's process, if any. */
  synchronized ProcessHandle process() {
    return current != null && current.succeeded() ? current.result().process.toHandle() : null;
  }
}
