package io.agentcube.sandbox.process;

import io.agentcube.jail.Jail;
import io.agentcube.jail.JailSpec;
import io.agentcube.jail.Limits;
import io.agentcube.jail.UidPool;
import io.agentcube.runtime.Durations;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeKind;
import io.agentcube.runtime.TargetPort;
import io.agentcube.sandbox.BackendCalls;
import io.agentcube.sandbox.Sandbox;
import io.agentcube.sandbox.SandboxBackend;
import io.agentcube.sandbox.SandboxListener;
import io.agentcube.sandbox.SandboxRecord;
import io.agentcube.sandbox.StopRetry;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.SocketAddress;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded backend: each sandbox is an OS process tree in its own working directory.
 *
 * <h2>Lifecycle of one sandbox</h2>
 * <ol>
 *   <li><b>spawn</b> (worker thread): make {@code stateDir/sandboxes/<name>}, write the
 *       {@link SandboxMarker}, pick a free loopback port per target port, build the environment
 *       (the proxy's own, the template's {@code env} with {@code $(VAR)} expanded, then
 *       {@code PORT}, {@code AGENTCUBE_PORT_<NAME>} and friends, which win), expand
 *       {@code $(VAR)} in command and args, start the process with output to
 *       {@code sandbox.log}.</li>
 *   <li><b>ready</b>: connect attempts to the first port with a short backoff (2 ms growing to
 *       50 ms); the process's exit fails the start at once, with the tail of its log.</li>
 *   <li><b>stop</b>: SIGTERM to the process and every descendant (and, where there is a
 *       {@code /proc}, every process with the sandbox's {@code AGENTCUBE_SANDBOX_ID} in its
 *       environment: children whose parent already died), SIGKILL to what is left after the
 *       grace period, then the directory is removed. Idempotent.</li>
 *   <li><b>lost</b>: a ready sandbox whose process exits without {@link #stop} is cleaned up and
 *       reported to the lost handler once.</li>
 * </ol>
 * <h2>Restore</h2>
 * Each sandbox directory holds a {@link SandboxMarker}: owner, process, what serving needs of the
 * runtime version and, once claimed, the session's id and times ({@link #claim},
 * {@link #recordActivity}). On {@link #create}, the sandboxes of a previous run (owner dead: a
 * crash, or a stop that kept them) are sorted: a bound one whose process still runs is adopted and
 * listed by {@link #sandboxes()} so its session lives on; a bound one whose process died is listed
 * as lost (its session answers {@code 410 SANDBOX_LOST}); an unbound one is killed and removed.
 * Sandboxes of another live proxy on the same state directory are left alone.
 *
 * <p>{@link #close} stops every live sandbox unless {@code keepSandboxesOnStop} is set, in which
 * case they run on for the next start.
 *
 * <p>Thread-safe. Blocking work (spawn, /proc walks, file deletion) runs on worker threads.
 */
public final class ProcessBackend implements SandboxBackend {

  private static final Logger log = LoggerFactory.getLogger(ProcessBackend.class);
  private static final String LOG_FILE = "sandbox.log";

  private final Vertx vertx;
  private final ProcessBackendOptions options;
  private final Path sandboxesDir;
  private final NetClient probe;
  private final PortAllocator ports = new PortAllocator();
  /** Uids of jailed agent processes (as root); a uid is back once its sandbox is gone. */
  /** Agents' uids when each has its own: reserved machine-wide at start (see UidPool). */
  private volatile UidPool uids = new UidPool(AGENT_UID_BASE, AGENT_UIDS);
  private static final int AGENT_UID_BASE = 300_000;
  private static final int AGENT_UIDS = 8_192;
  /** Whether agent processes get a uid each: root, and a state directory they can traverse. */
  private volatile boolean separateUids;
  /** Live sandboxes: an entry from spawn until stopped or lost (bounded by pools + sessions). */
  private final Map<String, ProcessSandbox> live = new ConcurrentHashMap<>();
  private final List<SandboxListener> listeners = new CopyOnWriteArrayList<>();
  /** What {@link #create} found of a previous run; written once before the backend is returned. */
  private volatile List<SandboxRecord> found = List.of();
  /** The sandbox host of hosted code interpreters; null when every sandbox is its own process. */
  private final SandboxHost host;
  /** Hosted sandboxes from start until stopped or lost (bounded by pools + sessions). */
  private final Map<String, HostedSandbox> hosted = new ConcurrentHashMap<>();
  /** The definition whose environment the host is started with (its key, AGENTCUBE_HOME). */
  private volatile RuntimeDefinition hostDefinition;
  /** Set by a {@link #close} that kept the sandboxes: they are the next run's business then. */
  private volatile boolean released;
  /** Told of the sandbox host's admin calls (metrics). */
  private volatile BackendCalls calls = BackendCalls.NONE;

  private ProcessBackend(Vertx vertx, ProcessBackendOptions options) {
    this.vertx = vertx;
    this.options = options;
    this.sandboxesDir = options.stateDir().resolve("sandboxes");
    this.probe = vertx.createNetClient(new NetClientOptions().setConnectTimeout(1000));
    this.host = options.host() == null || options.sandboxdCommand().isEmpty() ? null
        : new SandboxHost(vertx, options.stateDir().resolve("host"), this::hostCommand,
            this::hostEnvironment, options.host().authorization(), options.readyTimeout(), ports,
            this::hostLost);
  }

  /** Whether {@code d} is served by the sandbox host: a code interpreter of the bundled sandboxd. */
  boolean hosted(RuntimeDefinition d) {
    return host != null && d.ref().kind() == RuntimeKind.CODE_INTERPRETER
        && d.template().command().isEmpty() && d.template().args().isEmpty();
  }

  private List<String> hostCommand() {
    Map<String, String> env = hostEnvironment();
    List<String> argv = new ArrayList<>();
    for (String s : options.sandboxdCommand()) {
      argv.add(EnvExpander.expand(s, env));
    }
    argv.addAll(List.of("--isolation", options.host().isolation(),
        "--max-sandboxes", Integer.toString(options.host().maxSandboxes())));
    return argv;
  }

  /** The host's whole environment: what it needs to run, and the platform's variables. */
  private Map<String, String> hostEnvironment() {
    Map<String, String> env = new HashMap<>();
    for (String name : List.of("PATH", "JAVA_HOME", "TZ")) {
      String v = System.getenv(name);
      if (v != null) {
        env.put(name, v);
      }
    }
    env.put("LANG", "C.UTF-8");
    env.put("HOME", options.stateDir().resolve("host").toString());
    RuntimeDefinition d = hostDefinition;
    if (d != null) {
      env.putAll(options.extraEnv().apply(d));
    }
    // The host verifies HS256 under this key alone (it needs no public key).
    env.remove("PICOD_AUTH_PUBLIC_KEY");
    env.put("AGENTCUBE_HOST_TOKEN_KEY", options.host().tokenKey().get());
    return env;
  }

  private void hostLost(SandboxHost.Instance instance) {
    for (HostedSandbox s : List.copyOf(hosted.values())) {
      if (s.host == instance && s.end()) {
        hosted.remove(s.id());
        s.stopped.tryComplete(); // nothing of it is left with its host
        for (SandboxListener l : listeners) {
          try {
            l.lost(s);
          } catch (RuntimeException e) {
            log.warn("sandbox listener failed sandbox={}", s.id(), e);
          }
        }
      }
    }
  }

  private Future<Sandbox> startHosted(RuntimeDefinition d) {
    hostDefinition = d;
    String id = "sbx-" + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
    Map<String, String> platform = new HashMap<>();
    platform.put("AGENTCUBE_SANDBOX_ID", id);
    platform.put("AGENTCUBE_NAMESPACE", d.ref().namespace());
    platform.put("AGENTCUBE_RUNTIME", d.ref().name());
    platform.put("AGENTCUBE_RUNTIME_VERSION", d.version());
    Map<String, String> env = new HashMap<>(platform);
    for (Map.Entry<String, String> e : d.template().env().entrySet()) {
      if (!platform.containsKey(e.getKey())) {
        env.put(e.getKey(), EnvExpander.expand(e.getValue(), env));
      }
    }
    boolean network = options.host().network().test(d);
    return host.running().compose(instance -> calls.time("host_create",
            () -> host.create(instance, id, env, network))
        .map(v -> {
          HostedSandbox s = new HostedSandbox(id, d, instance);
          hosted.put(id, s);
          if (!instance.alive()) {
            hostLost(instance); // died between create and here: report it like any loss
          }
          return (Sandbox) s;
        }));
  }

  /**
   * Creates the backend: prepares the state directory, adopts the bound sandboxes of a previous
   * run and removes the rest of its leftovers (see "Restore").
   */
  public static Future<ProcessBackend> create(Vertx vertx, ProcessBackendOptions options) {
    ProcessBackend backend = new ProcessBackend(vertx, options);
    return vertx.executeBlocking(() -> {
      Files.createDirectories(backend.sandboxesDir);
      backend.separateUids = options.jail().separateUids() && backend.traversable();
      if (backend.separateUids) {
        try {
          backend.uids = UidPool.reserve(AGENT_UID_BASE, AGENT_UIDS, UidPool.LOCK_DIR);
        } catch (IllegalStateException e) {
          if (options.jail().required()) {
            throw new IllegalStateException("isolation: required, but no uids for agent"
                + " processes (they would run as root): " + e.getMessage(), e);
          }
          log.warn("jailed agent processes share this process's uid: {}", e.getMessage());
          backend.separateUids = false;
        }
      }
      backend.found = backend.recover();
      return backend;
    });
  }

  @Override
  public String name() {
    return "process";
  }

  /**
   * Makes the state directory traversable (not listable) by sandbox uids, which bubblewrap needs
   * to bind a sandbox's directory; false, with a warning, when a parent is not traversable (then
   * jailed agents share the proxy's uid).
   */
  private boolean traversable() throws IOException {
    var x = java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x");
    Files.setPosixFilePermissions(options.stateDir(), x);
    Files.setPosixFilePermissions(sandboxesDir, x);
    Path closed = Jail.closedDirectory(options.stateDir().toAbsolutePath().getParent());
    if (closed != null) {
      if (options.jail().required()) {
        throw new IllegalStateException("isolation: required, but " + closed + " is not traversable"
            + " by others, so agent processes would run as root: chmod o+x " + closed
            + ", or pick another process.stateDir");
      }
      log.warn("jailed agent processes share this process's uid: {} is not traversable by"
          + " others (chmod o+x, or pick another process.stateDir)", closed);
      return false;
    }
    return true;
  }

  @Override
  public List<String> problems(RuntimeDefinition d) {
    List<String> problems = new ArrayList<>();
    if (d.template().command().isEmpty() && d.template().args().isEmpty()) {
      boolean agent = d.ref().kind() == RuntimeKind.AGENT_RUNTIME;
      if (agent) {
        problems.add("spec.podTemplate.spec.containers[0].command: required by the process backend"
            + " (it runs the command as a local process; an image alone cannot be run)");
      } else if (options.sandboxdCommand().isEmpty()) {
        problems.add("spec.template.command: required: no bundled sandboxd is configured"
            + " (process.sandboxdCommand)");
      }
    }
    return problems;
  }

  @Override
  public void observeCalls(BackendCalls calls) {
    this.calls = calls;
  }

  @Override
  public void addListener(SandboxListener listener) {
    listeners.add(listener);
  }

  @Override
  public boolean keepsSandboxesOnClose() {
    return options.keepSandboxesOnStop();
  }

  @Override
  public Future<List<SandboxRecord>> sandboxes() {
    return Future.succeededFuture(found);
  }

  @Override
  public Future<Sandbox> claim(Sandbox s, String sessionId, Instant createdAt) {
    return claim(s, sessionId, createdAt, null);
  }

  @Override
  public Future<Sandbox> claim(Sandbox s, String sessionId, Instant createdAt, String owner) {
    if (s instanceof HostedSandbox h) {
      h.bind(sessionId, owner);
      return Future.succeededFuture(h);
    }
    ProcessSandbox sandbox = (ProcessSandbox) s;
    return vertx.executeBlocking(() -> {
      sandbox.updateMarker(m -> m.withSession(sessionId, createdAt, owner));
      return sandbox;
    }, false);
  }

  @Override
  public Future<Void> recordActivity(Sandbox s, Instant lastActivity) {
    if (s instanceof HostedSandbox) {
      return Future.succeededFuture(); // hosted sessions do not outlive the proxy (docs/isolation.md)
    }
    ProcessSandbox sandbox = (ProcessSandbox) s;
    return vertx.executeBlocking(() -> {
      if (sandbox.alive()) {
        sandbox.updateMarker(m -> m.withActivity(lastActivity));
      }
      return null;
    }, false);
  }

  /** Sandboxes running now. */
  public int size() {
    return live.size() + hosted.size();
  }

  /** For tests: the sandbox host's process, or null when none runs. */
  public ProcessHandle hostProcess() {
    return host == null ? null : host.process();
  }

  @Override
  public Future<Sandbox> start(RuntimeDefinition definition) {
    if (hosted(definition)) {
      return startHosted(definition);
    }
    return vertx.executeBlocking(() -> spawn(definition), false)
        .compose(sandbox -> awaitReady(sandbox)
            .recover(err -> stop(sandbox).transform(x -> Future.failedFuture(err))));
  }

  private ProcessSandbox spawn(RuntimeDefinition d) throws IOException {
    String suffix = Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
    String id = "sbx-" + suffix;
    String name = d.ref().name() + "-" + d.version() + "-" + suffix;
    Path dir = Files.createDirectories(sandboxesDir.resolve(name));
    // The program's own files live in work/; the marker and the log stay outside its view.
    Path work = Files.createDirectories(dir.resolve("work"));

    List<TargetPort> targetPorts = d.ports();
    SocketAddress[] addresses = new SocketAddress[targetPorts.size()];
    List<Integer> portNumbers = new ArrayList<>();
    Map<String, String> platform = new HashMap<>();
    for (int i = 0; i < targetPorts.size(); i++) {
      int port = ports.allocate();
      portNumbers.add(port);
      addresses[i] = SocketAddress.inetSocketAddress(port, "127.0.0.1");
      if (i == 0) {
        platform.put("PORT", Integer.toString(port));
      }
      String portName = targetPorts.get(i).name();
      if (portName != null) {
        platform.put("AGENTCUBE_PORT_" + portName.toUpperCase(Locale.ROOT).replace('-', '_'),
            Integer.toString(port));
      }
    }
    platform.put("AGENTCUBE_SANDBOX_ID", id);
    platform.put("AGENTCUBE_SANDBOX_NAME", name);
    platform.put("AGENTCUBE_NAMESPACE", d.ref().namespace());
    platform.put("AGENTCUBE_RUNTIME", d.ref().name());
    platform.put("AGENTCUBE_RUNTIME_VERSION", d.version());
    platform.put("AGENTCUBE_SANDBOX_DIR", work.toString());
    if (d.source() != null && Files.exists(Path.of(d.source()))) {
      platform.put("AGENTCUBE_RUNTIME_DIR", Path.of(d.source()).toAbsolutePath().getParent().toString());
    }
    platform.putAll(options.extraEnv().apply(d));

    // Built from nothing: a sandbox never sees the proxy's environment.
    Jail jail = options.jail();
    Map<String, String> env = new HashMap<>(Jail.baseEnvironment(work.toString()));
    if (!jail.enabled()) {
      String path = System.getenv("PATH");
      if (path != null) {
        env.put("PATH", path); // unjailed, it runs in this machine's layout
      }
    }
    env.putAll(platform);
    // Template variables may refer to the platform ones and to earlier template ones.
    for (Map.Entry<String, String> e : d.template().env().entrySet()) {
      if (!platform.containsKey(e.getKey())) {
        env.put(e.getKey(), EnvExpander.expand(e.getValue(), env));
      }
    }
    List<String> command = new ArrayList<>();
    List<String> base = d.template().command().isEmpty() && d.ref().kind() == RuntimeKind.CODE_INTERPRETER
        ? options.sandboxdCommand() : d.template().command();
    for (String s : base) {
      command.add(EnvExpander.expand(s, env));
    }
    for (String s : d.template().args()) {
      command.add(EnvExpander.expand(s, env));
    }

    Path workDir = work;
    if (d.template().workingDir() != null && !d.template().workingDir().startsWith("/")) {
      workDir = Files.createDirectories(work.resolve(d.template().workingDir()).normalize());
    }
    int uid = -1;
    List<String> argv = command;
    if (jail.enabled()) {
      try {
        if (separateUids) {
          uid = uids.acquire();
          chown(work, uid);
        }
        argv = jail.command(jailSpec(d, work, workDir, command, uid), resolve(command));
      } catch (IOException | RuntimeException e) {
        deleteTree(dir);
        uids.release(uid);
        throw e;
      }
    }
    ProcessBuilder pb = new ProcessBuilder(argv).directory(workDir.toFile())
        // Both streams append to the log. Not redirectErrorStream(true): on JDK 17 that still
        // gives the Process an stderr pipe stream holding an 8 KB buffer per sandbox (bench T6).
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(LOG_FILE).toFile()))
        .redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve(LOG_FILE).toFile()))
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().clear();
    pb.environment().putAll(env);
    SandboxMarker marker = SandboxMarker.owned(id, name, d, portNumbers);
    Process process;
    try {
      marker.write(dir);
      process = pb.start();
    } catch (IOException e) {
      deleteTree(dir);
      uids.release(uid);
      throw new IOException("cannot run " + command + ": " + e.getMessage(), e);
    }
    ProcessSandbox sandbox = new ProcessSandbox(marker, addresses, dir, process.toHandle(), process);
    sandbox.uid = uid;
    try {
      sandbox.updateMarker(m -> m.withProcess(process.toHandle()));
    } catch (IOException | RuntimeException e) {
      // Without its process in the marker a crash would leave it unknown: it must not run on.
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      deleteTree(dir);
      throw new IOException("cannot record sandbox " + id + ": " + e.getMessage(), e);
    }
    live.put(id, sandbox);
    log.debug("sandbox spawned runtime={} sandbox={} pid={} port={}", d.label(), id, process.pid(),
        addresses[0].port());
    return sandbox;
  }

  /** Completes when the first port accepts a connection; fails at once if the process exits. */
  private Future<Sandbox> awaitReady(ProcessSandbox sandbox) {
    Promise<Sandbox> ready = Promise.promise();
    long deadline = System.nanoTime() + options.readyTimeout().toNanos();
    sandbox.process.onExit().thenRun(() -> {
      if (ready.tryFail("sandbox process exited with code " + sandbox.exitCode()
          + " before it was ready; its output ends with: " + tail(sandbox.dir().resolve(LOG_FILE)))) {
        return;
      }
      if (!sandbox.stopping.getAndSet(true)) {
        lost(sandbox);
      }
    });
    connectOnce(sandbox, ready, deadline, 2);
    return ready.future();
  }

  private void connectOnce(ProcessSandbox sandbox, Promise<Sandbox> ready, long deadline, long delayMs) {
    if (ready.future().isComplete()) {
      return;
    }
    probe.connect(sandbox.address(0)).onComplete(ar -> {
      if (ar.succeeded()) {
        ar.result().close();
        ready.tryComplete(sandbox);
      } else if (System.nanoTime() - deadline > 0) {
        ready.tryFail("sandbox did not accept connections on " + sandbox.address(0) + " within "
            + Durations.format(options.readyTimeout()));
      } else if (!ready.future().isComplete()) {
        vertx.setTimer(delayMs, id -> connectOnce(sandbox, ready, deadline,
            Math.min(50, delayMs + delayMs / 2 + 1)));
      }
    });
  }

  private void lost(ProcessSandbox sandbox) {
    if (released) {
      return; // handed over to the next run, which finds it dead
    }
    live.remove(sandbox.id());
    log.warn("sandbox exited by itself sandbox={} runtime={} exit={}", sandbox.id(),
        sandbox.definition().label(), sandbox.exitCode());
    stopUntilDone(sandbox).onComplete(sandbox.stopped);
    for (SandboxListener l : listeners) {
      try {
        l.lost(sandbox);
      } catch (RuntimeException e) {
        log.warn("sandbox listener failed sandbox={}", sandbox.id(), e);
      }
    }
  }

  @Override
  public Future<Void> stop(Sandbox s) {
    if (s instanceof HostedSandbox h) {
      if (h.end()) {
        StopRetry.untilDone(vertx, "sandbox " + h.id(),
                () -> calls.time("host_delete", () -> host.delete(h.host, h.id())), RETRY_FIRST_MS, RETRY_MAX_MS)
            .andThen(x -> hosted.remove(h.id()))
            .onComplete(h.stopped);
      }
      return h.stopped.future();
    }
    ProcessSandbox sandbox = (ProcessSandbox) s;
    if (!sandbox.stopping.getAndSet(true)) {
      log.debug("sandbox stopping sandbox={} pid={}", sandbox.id(), sandbox.pid());
      // Stays in `live` until it is gone, so that close() waits for stops already under way.
      stopUntilDone(sandbox).andThen(x -> live.remove(sandbox.id())).onComplete(sandbox.stopped);
    }
    return sandbox.stopped.future();
  }

  /** Pauses between attempts of a failed stop: 0.5 s doubling to 30 s. */
  private static final long RETRY_FIRST_MS = 500;
  private static final long RETRY_MAX_MS = 30_000;

  private Future<Void> stopUntilDone(ProcessSandbox sandbox) {
    return StopRetry.untilDone(vertx, "sandbox " + sandbox.id(), () -> killTree(sandbox),
        RETRY_FIRST_MS, RETRY_MAX_MS);
  }

  /** SIGTERM to the tree, SIGKILL after the grace period, then the directory goes. */
  private Future<Void> killTree(ProcessSandbox sandbox) {
    return vertx.executeBlocking(() -> {
      Map<Long, ProcessHandle> members = new LinkedHashMap<>();
      members.put(sandbox.pid(), sandbox.process);
      try (Stream<ProcessHandle> d = sandbox.process.descendants()) {
        d.forEach(h -> members.put(h.pid(), h));
      }
      // A process whose parent already exited (always so for a lost sandbox) is no descendant
      // any more; it still carries the sandbox id in its environment.
      taggedWith(sandbox.id()).forEach(h -> members.putIfAbsent(h.pid(), h));
      List<ProcessHandle> tree = List.copyOf(members.values());
      tree.forEach(ProcessHandle::destroy);
      return tree;
    }, false).compose(tree -> awaitExit(tree, options.stopGracePeriod().toMillis())
        .compose(allGone -> {
          if (allGone) {
            return Future.succeededFuture(true);
          }
          tree.forEach(ProcessHandle::destroyForcibly);
          return awaitExit(tree, 5_000);
        }))
        .compose(x -> vertx.executeBlocking(() -> {
          removeTree(sandbox.dir()); // throws: the stop is tried again (StopRetry)
          uids.release(sandbox.uid); // every process of it is dead: the uid may serve another
          return null;
        }, false));
  }

  /** What an agent process may see: its directory, its runtime's files and its program. */
  private JailSpec jailSpec(RuntimeDefinition d, Path work, Path workDir, List<String> command,
      int uid) throws IOException {
    JailSpec.Builder spec = JailSpec.builder()
        .bind(work, work.toString(), true)
        .workdir(workDir.toString())
        .network(true) // the proxy reaches it on loopback
        .limits(Limits.agentDefaults())
        .dieWithParent(false) // a restarted proxy adopts it
        .uid(uid);
    java.util.Set<Path> readOnly = new java.util.LinkedHashSet<>();
    if (d.source() != null && Files.exists(Path.of(d.source()))) {
      readOnly.add(Path.of(d.source()).toAbsolutePath().getParent());
    }
    List<String> resolved = resolve(command);
    if (!resolved.isEmpty() && resolved.get(0).startsWith("/")) {
      Path program = Path.of(resolved.get(0));
      try {
        Path real = program.toRealPath();
        if (!real.startsWith("/usr") && real.getParent() != null && real.getParent().getParent() != null) {
          readOnly.add(real.getParent().getParent()); // e.g. /opt/jdk of /opt/jdk/bin/java
        }
      } catch (IOException e) {
        // not there: the start fails and says so
      }
    }
    // Files the command names by absolute path (a jar, a script) are visible, read-only.
    for (String arg : command.subList(Math.min(1, command.size()), command.size())) {
      if (arg.startsWith("/") && !arg.startsWith("/usr/") && !arg.startsWith("/etc/")) {
        Path p = Path.of(arg).normalize();
        if (Files.exists(p) && !p.startsWith(work)) {
          readOnly.add(p);
        }
      }
    }
    readOnly.removeIf(p -> p.startsWith(work) || p.startsWith(sandboxesDir) || sandboxesDir.startsWith(p));
    if (uid >= 0) {
      for (Path p : readOnly) {
        Path closed = Jail.closedDirectory(p);
        if (closed != null) {
          // bubblewrap mounts it as the sandbox's uid: say why it cannot, not bwrap's "Permission denied".
          throw new IOException(p + " is not reachable by sandbox uids: " + closed + " is not"
              + " traversable by others (install the program in a system directory such as"
              + " /usr/local or /opt, or chmod o+x " + closed + ")");
        }
      }
    }
    readOnly.forEach(spec::readOnly);
    return spec.build();
  }

  /**
   * {@code command} with its program found first where the jail's {@code PATH} looks (the
   * system's {@code /usr/local/bin:/usr/bin:/bin}, mounted in every jail), then on this process's
   * {@code PATH} (its directory is then mounted read-only). So {@code python3} is the system's
   * even when the proxy runs from a pyenv or venv that sandbox uids could not reach.
   */
  private static List<String> resolve(List<String> command) {
    if (command.isEmpty() || command.get(0).contains("/")) {
      return command;
    }
    String path = Jail.baseEnvironment("/").get("PATH") + ":"
        + System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    for (String dir : path.split(":")) {
      Path p = Path.of(dir.isEmpty() ? "." : dir, command.get(0));
      if (Files.isExecutable(p) && !Files.isDirectory(p)) {
        List<String> out = new ArrayList<>(command);
        out.set(0, p.toAbsolutePath().toString());
        return out;
      }
    }
    return command;
  }

  private static void chown(Path dir, int uid) throws IOException {
    Files.setAttribute(dir, "unix:uid", uid);
    Files.setAttribute(dir, "unix:gid", uid);
  }

  /**
   * The processes whose environment holds {@code AGENTCUBE_SANDBOX_ID=<sandboxId>}, read from
   * {@code /proc}; empty where there is no {@code /proc}. Blocking.
   */
  private static List<ProcessHandle> taggedWith(String sandboxId) {
    Path proc = Path.of("/proc");
    if (!Files.isDirectory(proc)) {
      return List.of();
    }
    byte[] entry = ("AGENTCUBE_SANDBOX_ID=" + sandboxId).getBytes(StandardCharsets.UTF_8);
    List<ProcessHandle> found = new ArrayList<>();
    try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
      all.forEach(h -> {
        byte[] env;
        try {
          env = Files.readAllBytes(proc.resolve(Long.toString(h.pid())).resolve("environ"));
        } catch (IOException | SecurityException e) {
          return; // exited meanwhile, or another user's process: not one of ours either way
        }
        if (hasEntry(env, entry)) {
          found.add(h);
        }
      });
    }
    return found;
  }

  /** Whether the NUL-separated {@code env} holds exactly {@code entry}. */
  private static boolean hasEntry(byte[] env, byte[] entry) {
    int start = 0;
    while (start < env.length) {
      int end = start;
      while (end < env.length && env[end] != 0) {
        end++;
      }
      if (Arrays.equals(env, start, end, entry, 0, entry.length)) {
        return true;
      }
      start = end + 1;
    }
    return false;
  }

  /** Completes with whether every process in {@code tree} exited within {@code timeoutMs}. */
  private Future<Boolean> awaitExit(List<ProcessHandle> tree, long timeoutMs) {
    Promise<Boolean> done = Promise.promise();
    long timer = vertx.setTimer(Math.max(1, timeoutMs), id -> done.tryComplete(false));
    java.util.concurrent.CompletableFuture
        .allOf(tree.stream().map(ProcessHandle::onExit).toArray(java.util.concurrent.CompletableFuture[]::new))
        .thenRun(() -> {
          vertx.cancelTimer(timer);
          done.tryComplete(true);
        });
    return done.future();
  }

  @Override
  public Future<Void> close() {
    if (host != null) {
      // Hosted workspaces never outlive the proxy: the host goes with it (docs/isolation.md).
      List<Future<Void>> stops = new ArrayList<>();
      for (HostedSandbox s : List.copyOf(hosted.values())) {
        stops.add(stop(s));
      }
      return Future.join(stops).eventually(() -> host.close(options.stopGracePeriod()))
          .eventually(this::closeProcesses).mapEmpty();
    }
    return closeProcesses();
  }

  private Future<Void> closeProcesses() {
    if (options.keepSandboxesOnStop()) {
      released = true;
      log.info("sandboxes kept running for the next start count={} dir={}", live.size(), sandboxesDir);
      uids.close(); // the next start on this state dir takes the range again and adopts them
      return probe.close();
    }
    List<Future<Void>> stops = new ArrayList<>();
    for (ProcessSandbox s : List.copyOf(live.values())) {
      stops.add(stop(s));
    }
    return Future.join(stops).eventually(() -> {
      uids.close();
      return probe.close();
    }).mapEmpty();
  }

  /**
   * Sorts what a previous run left in the state directory (see "Restore"): adopts bound sandboxes
   * whose process runs, lists bound ones whose process died as lost, kills and removes the rest.
   * Blocking.
   */
  private List<SandboxRecord> recover() throws IOException {
    List<Path> dirs;
    try (Stream<Path> list = Files.list(sandboxesDir)) {
      dirs = list.filter(Files::isDirectory).toList();
    }
    List<SandboxRecord> records = new ArrayList<>();
    int removed = 0;
    int lost = 0;
    for (Path dir : dirs) {
      Optional<SandboxMarker> marker = SandboxMarker.read(dir);
      if (marker.isPresent() && marker.get().ownedByAnotherLiveProxy()) {
        continue; // another running proxy's sandbox
      }
      Optional<ProcessHandle> process = marker.flatMap(SandboxMarker::process);
      SandboxMarker m = marker.orElse(null);
      if (m != null && m.sessionId() != null) {
        if (process.isPresent() && m.ports().size() == m.definition().ports().size()) {
          ProcessSandbox adopted = adopt(m, dir, process.get());
          records.add(new SandboxRecord(adopted, m.sessionId(), m.sessionCreated(), m.lastActivity()));
          continue;
        }
        records.add(new SandboxRecord(null, m.sessionId(), m.sessionCreated(), m.lastActivity()));
        lost++;
      }
      process.ifPresent(p -> {
        List<ProcessHandle> tree = new ArrayList<>(p.descendants().toList());
        tree.add(p);
        tree.forEach(ProcessHandle::destroyForcibly);
      });
      deleteTree(dir);
      removed++;
    }
    if (!dirs.isEmpty()) {
      log.info("previous run's sandboxes adopted={} lost={} removed={} dir={}",
          records.size() - lost, lost, removed - lost, sandboxesDir);
    }
    return List.copyOf(records);
  }

  /** Takes over a running sandbox of a previous run. Blocking. */
  private ProcessSandbox adopt(SandboxMarker marker, Path dir, ProcessHandle process) throws IOException {
    SocketAddress[] addresses = new SocketAddress[marker.ports().size()];
    for (int i = 0; i < addresses.length; i++) {
      addresses[i] = SocketAddress.inetSocketAddress(marker.ports().get(i), "127.0.0.1");
    }
    ProcessSandbox sandbox = new ProcessSandbox(marker, addresses, dir, process, null);
    Object owner = Files.getAttribute(dir.resolve("work"), "unix:uid");
    if (owner instanceof Integer uid && uids.claim(uid)) {
      sandbox.uid = uid; // a jailed one keeps its uid until it is stopped
    }
    sandbox.updateMarker(SandboxMarker::adopted);
    live.put(sandbox.id(), sandbox);
    process.onExit().thenRun(() -> {
      if (!sandbox.stopping.getAndSet(true)) {
        lost(sandbox);
      }
    });
    log.info("sandbox adopted sandbox={} runtime={} pid={}", sandbox.id(),
        marker.definition().label(), process.pid());
    return sandbox;
  }

  /** Removes {@code dir} and everything in it, or logs why not (best effort). */
  static void deleteTree(Path dir) {
    try {
      removeTree(dir);
    } catch (IOException e) {
      log.warn("could not remove sandbox directory dir={} cause={}", dir, e.getMessage());
    }
  }

  /** Removes {@code dir} and everything in it; nothing to do when it is gone. */
  static void removeTree(Path dir) throws IOException {
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
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private static String tail(Path file) {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      long len = f.length();
      int n = (int) Math.min(len, 600);
      byte[] buf = new byte[n];
      f.seek(len - n);
      f.readFully(buf);
      return new String(buf, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      return "(no output)";
    }
  }
}
