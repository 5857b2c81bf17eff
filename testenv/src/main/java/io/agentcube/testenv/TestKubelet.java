package io.agentcube.testenv;

import static io.agentcube.testenv.Models.orEmpty;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A stand-in kubelet for tests against a real API server: it turns pods into local processes,
 * each on its own loopback address, and writes their status, so code that watches pods and
 * routes to {@code status.podIP} works unchanged.
 *
 * <h2>What it does</h2>
 * It watches (informer) the pods of the given namespaces that carry the selector labels (default
 * {@code app.kubernetes.io/managed-by=agentcube-proxy}). For each new pod without a
 * {@code status.podIP} it assigns a free address from 127.0.0.2 upwards (never one another live
 * pod holds), starts the caller's command for the pod as an OS process in a fresh working
 * directory, with an environment made of: {@code PATH} and {@code LANG} of this JVM, {@code HOME}
 * = the working directory, the first container's literal {@code env} values, and the caller's
 * injected variables (by default {@link #defaultEnv}: {@code PORT} = the first containerPort,
 * {@code ECHO_HOST} and {@code POD_IP} = the address, {@code POD_NAME}, {@code POD_NAMESPACE}).
 * Then, through the status subresource: phase Running with podIP/podIPs at once, condition
 * Ready=True once ip:port accepts a TCP connection (polled with backoff, for at most
 * {@link Options#readyTimeout}). A process that exits by itself makes the pod Failed (Ready
 * False, container terminated with its exit code), as with {@code restartPolicy: Never}. When
 * the pod is deleted, or gets a deletionTimestamp (then the pod is removed with grace period 0,
 * as a kubelet confirms), the process tree gets SIGTERM and SIGKILL after
 * {@link Options#terminationGrace}; its address is free again once the process is gone.
 *
 * <h2>What it does not</h2>
 * No scheduling ({@code spec.nodeName} stays unset), no images or pulls (the command mapping
 * replaces image, command, args and workingDir), no probes beyond the TCP check, no restarts, no
 * volumes, no {@code valueFrom} env, no containers but the first, no resource limits, no
 * isolation: processes run as this user on the host. Pods that already have a podIP when first
 * seen (e.g. from an earlier kubelet) are left alone. {@link #close()} and a shutdown hook kill
 * the processes on every JVM exit but SIGKILL; a JVM killed that way leaves them running (the
 * cluster itself is then stopped by start.sh's watchdog).
 *
 * <h2>Concurrency</h2>
 * Every state change (informer events, process exits, test actions, status writes, readiness
 * polls) runs on one control thread, so per-pod state needs no locks; the query methods read
 * volatile fields from any thread. Status writes are JSON merge patches without a
 * resourceVersion: the kubelet owns {@code status} and never conflicts with spec writers.
 */
public final class TestKubelet implements AutoCloseable {

  public static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
  public static final String MANAGED_BY = "agentcube-proxy";

  private static final Logger log = LoggerFactory.getLogger(TestKubelet.class);
  private static final Duration INFORMER_SYNC_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(15);
  private static final Duration CONNECT_TIMEOUT = Duration.ofMillis(200);
  private static final long FIRST_POLL_MS = 10;
  private static final long MAX_POLL_MS = 200;

  /** Where a pod's process listens: its loopback address and first containerPort (0 if none). */
  public record PodAddress(String ip, int port) {
  }

  /** What the kubelet runs and how; {@link #command} is required, the rest has defaults. */
  public static final class Options {
    private Set<String> namespaces = Set.of("default");
    private Map<String, String> selector = Map.of(MANAGED_BY_LABEL, MANAGED_BY);
    private Function<Pod, List<String>> command;
    private BiFunction<Pod, PodAddress, Map<String, String>> env = TestKubelet::defaultEnv;
    private Set<String> inheritedEnv = Set.of("PATH", "LANG");
    private Duration readyTimeout = Duration.ofSeconds(30);
    private Duration terminationGrace = Duration.ofSeconds(2);
    private Clock clock = Clock.systemUTC();

    /** Namespaces to watch (default {@code default}); empty means all namespaces. */
    public Options namespaces(Set<String> namespaces) {
      this.namespaces = Set.copyOf(namespaces);
      return this;
    }

    /** Labels a pod must carry (default {@code app.kubernetes.io/managed-by=agentcube-proxy}). */
    public Options selector(Map<String, String> selector) {
      this.selector = Map.copyOf(selector);
      return this;
    }

    /**
     * The local command (argv) for a pod, typically chosen by its first container's image. An
     * empty list or {@code null} makes the pod Failed with reason {@code NoLocalCommand}.
     */
    public Options command(Function<Pod, List<String>> command) {
      this.command = command;
      return this;
    }

    /** Variables added to each process's environment, overriding the container's (default
     * {@link TestKubelet#defaultEnv}). */
    public Options env(BiFunction<Pod, PodAddress, Map<String, String>> env) {
      this.env = env;
      return this;
    }

    /** Variables copied from this JVM's environment (default {@code PATH}, {@code LANG}). */
    public Options inheritedEnv(Set<String> names) {
      this.inheritedEnv = Set.copyOf(names);
      return this;
    }

    /** How long a started process may take to accept TCP on its port (default 30 s). */
    public Options readyTimeout(Duration readyTimeout) {
      this.readyTimeout = readyTimeout;
      return this;
    }

    /** Time between SIGTERM and SIGKILL when a pod is deleted (default 2 s). */
    public Options terminationGrace(Duration terminationGrace) {
      this.terminationGrace = terminationGrace;
      return this;
    }

    /** The clock for status timestamps (default UTC system clock). */
    public Options clock(Clock clock) {
      this.clock = clock;
      return this;
    }

    void validate() {
      Objects.requireNonNull(command, "TestKubelet.Options.command is required");
      Objects.requireNonNull(env, "TestKubelet.Options.env");
      Objects.requireNonNull(clock, "TestKubelet.Options.clock");
      if (readyTimeout.isNegative() || readyTimeout.isZero()) {
        throw new IllegalArgumentException("TestKubelet.Options.readyTimeout must be > 0: " + readyTimeout);
      }
      if (terminationGrace.isNegative()) {
        throw new IllegalArgumentException("TestKubelet.Options.terminationGrace must be >= 0: "
            + terminationGrace);
      }
    }
  }

  /**
   * The default injected environment: {@code PORT} (if the container declares a port),
   * {@code ECHO_HOST} and {@code POD_IP} (the pod's address), {@code POD_NAME},
   * {@code POD_NAMESPACE}. Callers adding their own host variable (e.g. a sandbox daemon's bind
   * address) can start from this map.
   */
  public static Map<String, String> defaultEnv(Pod pod, PodAddress address) {
    Map<String, String> env = new LinkedHashMap<>();
    if (address.port() > 0) {
      env.put("PORT", Integer.toString(address.port()));
    }
    env.put("ECHO_HOST", address.ip());
    env.put("POD_IP", address.ip());
    env.put("POD_NAME", pod.getMetadata().getName());
    env.put("POD_NAMESPACE", pod.getMetadata().getNamespace());
    return env;
  }

  private final KubernetesClient client;
  private final Options options;
  private final Path root;
  private final ScheduledExecutorService control;
  private final LoopbackAddresses addresses = new LoopbackAddresses();
  /** Keyed by namespace/name; an entry is removed when its pod is deleted. */
  private final Map<String, LocalPod> pods = new ConcurrentHashMap<>();
  private final List<SharedIndexInformer<Pod>> informers = new ArrayList<>();
  private final Thread shutdownHook;
  private volatile boolean closed;

  private TestKubelet(KubernetesClient client, Options options, Path root) {
    this.client = client;
    this.options = options;
    this.root = root;
    this.control = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "test-kubelet");
      t.setDaemon(true);
      return t;
    });
    // A JVM that exits without close() must not leave sandbox processes behind.
    this.shutdownHook = new Thread(() -> pods.values().forEach(p -> p.kill(true)),
        "test-kubelet-shutdown");
  }

  /**
   * Starts watching and returns once every informer has its initial list (at most 30 s); pods
   * that already exist are handled like new ones.
   *
   * @param client an admin client (the kubelet writes pod status and deletes pods)
   */
  public static TestKubelet start(KubernetesClient client, Options options) {
    options.validate();
    Path root;
    try {
      root = Files.createTempDirectory("agentcube-kubelet-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    TestKubelet kubelet = new TestKubelet(client, options, root);
    Runtime.getRuntime().addShutdownHook(kubelet.shutdownHook);
    try {
      kubelet.watch();
    } catch (RuntimeException e) {
      kubelet.close();
      throw e;
    }
    return kubelet;
  }

  private void watch() {
    ResourceEventHandler<Pod> handler = new ResourceEventHandler<>() {
      @Override
      public void onAdd(Pod pod) {
        submit(() -> admit(pod));
      }

      @Override
      public void onUpdate(Pod oldPod, Pod pod) {
        submit(() -> updated(pod));
      }

      @Override
      public void onDelete(Pod pod, boolean deletedFinalStateUnknown) {
        submit(() -> deleted(pod));
      }
    };
    List<SharedIndexInformer<Pod>> created = new ArrayList<>();
    if (options.namespaces.isEmpty()) {
      created.add(client.pods().inAnyNamespace().withLabels(options.selector).runnableInformer(0));
    } else {
      for (String ns : options.namespaces) {
        created.add(client.pods().inNamespace(ns).withLabels(options.selector).runnableInformer(0));
      }
    }
    for (SharedIndexInformer<Pod> informer : created) {
      informer.addEventHandler(handler);
      informers.add(informer);
      try {
        informer.start().toCompletableFuture()
            .get(INFORMER_SYNC_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while starting the pod informer", e);
      } catch (ExecutionException | TimeoutException e) {
        throw new IllegalStateException("pod informer did not start within " + INFORMER_SYNC_TIMEOUT, e);
      }
    }
    log.info("test kubelet started namespaces={} selector={} root={}", options.namespaces,
        options.selector, root);
  }

  // ---- queries (any thread) --------------------------------------------------------------------

  /** The loopback address the kubelet gave the pod, if it runs it. */
  public Optional<String> podIp(String namespace, String name) {
    return Optional.ofNullable(pods.get(key(namespace, name))).map(p -> p.ip);
  }

  /** The pod's current process, if it runs it (alive or not). */
  public Optional<ProcessHandle> process(String namespace, String name) {
    return Optional.ofNullable(pods.get(key(namespace, name)))
        .map(p -> p.process)
        .map(Process::toHandle);
  }

  /** The file that collects the pod's stdout and stderr (across restarts), if it runs it. */
  public Optional<Path> logFile(String namespace, String name) {
    return Optional.ofNullable(pods.get(key(namespace, name))).map(p -> p.logFile);
  }

  // ---- test actions ----------------------------------------------------------------------------

  /**
   * Simulates a crash: SIGKILLs the pod's process tree. The future completes (on the control
   * thread) once the pod's Failed status is written.
   *
   * @throws IllegalArgumentException (in the future) when the kubelet runs no such pod
   */
  public CompletableFuture<Void> crash(String namespace, String name) {
    return onControl(() -> {
      LocalPod pod = require(namespace, name);
      CompletableFuture<Void> handled = pod.exitHandled;
      pod.kill(true);
      return handled;
    }).thenCompose(f -> f);
  }

  /**
   * Simulates a pod IP change: stops the pod's process, starts it again on a new address, and
   * writes the new podIP (Ready False, then True once the port accepts connections; the restart
   * count goes up). The future completes with the new address once the new process runs and
   * its status is written.
   */
  public CompletableFuture<String> changeIp(String namespace, String name) {
    return onControl(() -> {
      LocalPod pod = require(namespace, name);
      pod.generation++;                  // the old process's exit is not a failure
      Process old = pod.process;
      pod.kill(true);
      CompletableFuture<?> gone = old == null ? CompletableFuture.completedFuture(null) : old.onExit();
      return gone.thenApplyAsync(x -> {
        String oldIp = pod.ip;
        pod.ip = addresses.allocate();   // allocate before releasing: the new one differs
        addresses.release(oldIp);
        pod.restarts++;
        launch(pod);
        log.info("pod ip changed pod={} from={} to={}", pod.key, oldIp, pod.ip);
        return pod.ip;
      }, control);
    }).thenCompose(f -> f);
  }

  /**
   * Stops watching, kills every process (SIGKILL, waiting at most 15 s for them to end) and
   * deletes the working directories. Does not touch the pods in the API server. Idempotent.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    informers.forEach(SharedIndexInformer::close);
    try {
      // On the control thread, so no launch runs concurrently; launch() starts nothing once closed.
      CompletableFuture.supplyAsync(this::killAll, control)
          .thenCompose(exits -> CompletableFuture.allOf(exits.toArray(CompletableFuture[]::new)))
          .get(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      log.warn("test kubelet close: processes still running after {}", CLOSE_TIMEOUT);
    }
    control.shutdownNow();
    pods.clear();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // The JVM is already shutting down; the hook runs anyway.
    }
    KubeTestCluster.deleteTree(root);
    log.info("test kubelet stopped");
  }

  // ---- control thread --------------------------------------------------------------------------

  private List<CompletableFuture<Process>> killAll() {
    List<CompletableFuture<Process>> exits = new ArrayList<>();
    for (LocalPod pod : pods.values()) {
      pod.deleted = true;
      Process p = pod.process;
      pod.kill(true);
      if (p != null) {
        exits.add(p.onExit());
      }
    }
    return exits;
  }

  private void submit(Runnable task) {
    if (closed) {
      return;
    }
    try {
      control.execute(() -> {
        try {
          task.run();
        } catch (RuntimeException e) {
          log.warn("test kubelet event failed", e);
        }
      });
    } catch (RejectedExecutionException e) {
      // closed meanwhile: the event no longer matters
    }
  }

  private <T> CompletableFuture<T> onControl(Supplier<T> task) {
    return CompletableFuture.supplyAsync(task, control);
  }

  private LocalPod require(String namespace, String name) {
    LocalPod pod = pods.get(key(namespace, name));
    if (pod == null || pod.deleted) {
      throw new IllegalArgumentException("the test kubelet runs no pod " + key(namespace, name));
    }
    return pod;
  }

  private void admit(Pod pod) {
    String key = key(pod.getMetadata().getNamespace(), pod.getMetadata().getName());
    String uid = pod.getMetadata().getUid();
    LocalPod known = pods.get(key);
    if (known != null) {
      if (known.uid.equals(uid)) {
        return;
      }
      // A pod of the same name replaced the one we ran, and its delete event has not come yet.
      pods.remove(key);
      terminate(known);
    }
    if (pod.getMetadata().getDeletionTimestamp() != null) {
      return;
    }
    if (pod.getStatus() != null && pod.getStatus().getPodIP() != null) {
      log.debug("pod already has an IP, left alone pod={}", key);
      return;
    }
    LocalPod local = new LocalPod(key, uid, pod, root.resolve(pod.getMetadata().getNamespace()
        + "." + pod.getMetadata().getName() + "." + uid));
    local.ip = addresses.allocate();
    local.startTime = now();
    pods.put(key, local);
    launch(local);
  }

  private void updated(Pod pod) {
    String key = key(pod.getMetadata().getNamespace(), pod.getMetadata().getName());
    LocalPod local = pods.get(key);
    if (local == null || !local.uid.equals(pod.getMetadata().getUid())) {
      admit(pod);
      return;
    }
    local.pod = pod;
    if (pod.getMetadata().getDeletionTimestamp() != null && !local.deleted) {
      // Graceful deletion waits for the kubelet: stop the process, then confirm with grace 0.
      pods.remove(key);
      terminate(local).thenRunAsync(() -> forceDelete(pod), control);
    }
  }

  private void deleted(Pod pod) {
    String key = key(pod.getMetadata().getNamespace(), pod.getMetadata().getName());
    LocalPod local = pods.get(key);
    if (local != null && local.uid.equals(pod.getMetadata().getUid())) {
      pods.remove(key);
      terminate(local);
    }
  }

  /** Starts (or restarts) the pod's process on {@code pod.ip} and writes Running. */
  private void launch(LocalPod local) {
    if (closed) {
      return;
    }
    Pod pod = local.pod;
    Container container = pod.getSpec().getContainers().get(0);
    local.port = orEmpty(container.getPorts()).stream().map(ContainerPort::getContainerPort)
        .filter(Objects::nonNull).findFirst().orElse(0);
    local.ready = false;
    local.readySince = now();
    int generation = ++local.generation;
    CompletableFuture<Void> exitHandled = new CompletableFuture<>();
    local.exitHandled = exitHandled;

    List<String> argv = options.command.apply(pod);
    if (argv == null || argv.isEmpty()) {
      local.exitCode = null;
      writeStatus(local, "Failed", "NoLocalCommand",
          "the test kubelet has no local command for image " + container.getImage());
      exitHandled.complete(null);
      return;
    }
    ProcessBuilder pb = new ProcessBuilder(argv);
    try {
      Files.createDirectories(local.workDir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    pb.directory(local.workDir.toFile());
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(local.logFile.toFile()));
    Map<String, String> env = pb.environment();
    Map<String, String> inherited = new HashMap<>();
    options.inheritedEnv.forEach(n -> Optional.ofNullable(System.getenv(n)).ifPresent(v -> inherited.put(n, v)));
    env.clear();
    env.putAll(inherited);
    env.put("HOME", local.workDir.toString());
    for (EnvVar var : orEmpty(container.getEnv())) {
      if (var.getValue() != null) {
        env.put(var.getName(), var.getValue());
      }
    }
    env.putAll(options.env.apply(pod, new PodAddress(local.ip, local.port)));

    local.containerStart = now();
    try {
      local.process = pb.start();
    } catch (IOException e) {
      local.process = null;
      local.exitCode = null;
      writeStatus(local, "Failed", "StartError", "cannot start " + argv.get(0) + ": " + e.getMessage());
      exitHandled.complete(null);
      return;
    }
    Process process = local.process;
    log.info("pod process started pod={} ip={} port={} pid={}", local.key, local.ip, local.port,
        process.pid());
    process.onExit().thenAcceptAsync(p -> exited(local, generation, exitHandled, p), control);
    writeStatus(local, "Running", null, null);
    if (local.port > 0) {
      pollReady(local, generation, System.nanoTime() + options.readyTimeout.toNanos(), FIRST_POLL_MS);
    } else {
      markReady(local);
    }
  }

  private void pollReady(LocalPod local, int generation, long deadline, long delayMs) {
    if (closed || local.deleted || local.generation != generation || !local.process.isAlive()) {
      return;
    }
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(local.ip, local.port), (int) CONNECT_TIMEOUT.toMillis());
      markReady(local);
      return;
    } catch (IOException notYet) {
      // not listening yet
    }
    if (System.nanoTime() - deadline > 0) {
      log.warn("pod not ready: nothing accepts TCP pod={} ip={} port={} after={}", local.key,
          local.ip, local.port, options.readyTimeout);
      return;
    }
    control.schedule(() -> pollReady(local, generation, deadline, Math.min(delayMs * 2, MAX_POLL_MS)),
        delayMs, TimeUnit.MILLISECONDS);
  }

  private void markReady(LocalPod local) {
    local.ready = true;
    local.readySince = now();
    writeStatus(local, "Running", null, null);
    log.info("pod ready pod={} ip={} port={}", local.key, local.ip, local.port);
  }

  private void exited(LocalPod local, int generation, CompletableFuture<Void> handled,
      Process process) {
    if (local.generation != generation || local.deleted) {
      handled.complete(null);
      return;
    }
    local.exitCode = process.exitValue();
    local.ready = false;
    local.readySince = now();
    local.finishedAt = now();
    log.info("pod process exited pod={} pid={} exitCode={}", local.key, process.pid(), local.exitCode);
    writeStatus(local, "Failed", "Error", "the process exited with code " + local.exitCode);
    handled.complete(null);
  }

  /** Kills the pod's process tree (SIGTERM, SIGKILL after the grace period); frees its address
   * once the process is gone. The future completes then. */
  private CompletableFuture<Void> terminate(LocalPod local) {
    local.deleted = true;
    local.generation++;
    Process process = local.process;
    String ip = local.ip;
    if (process == null || !process.isAlive()) {
      addresses.release(ip);
      return CompletableFuture.completedFuture(null);
    }
    local.kill(false);
    control.schedule(() -> local.kill(true), options.terminationGrace.toMillis(), TimeUnit.MILLISECONDS);
    log.info("pod deleted, stopping process pod={} pid={}", local.key, process.pid());
    return process.onExit().thenAcceptAsync(p -> addresses.release(ip), control);
  }

  private void forceDelete(Pod pod) {
    try {
      client.pods().inNamespace(pod.getMetadata().getNamespace()).withName(pod.getMetadata().getName())
          .withGracePeriod(0).delete();
    } catch (KubernetesClientException e) {
      log.warn("cannot confirm pod deletion pod={}/{} code={}", pod.getMetadata().getNamespace(),
          pod.getMetadata().getName(), e.getCode());
    }
  }

  private void writeStatus(LocalPod local, String phase, String reason, String message) {
    String patch = PodStatusPatch.of(local, phase, reason, message, now());
    try {
      client.pods().inNamespace(local.pod.getMetadata().getNamespace())
          .withName(local.pod.getMetadata().getName())
          .status()
          .patch(PatchContext.of(PatchType.JSON_MERGE), patch);
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404) {
        log.debug("pod gone before its status was written pod={}", local.key);
      } else {
        log.warn("cannot write pod status pod={} phase={} code={} message={}", local.key, phase,
            e.getCode(), e.getMessage());
      }
    }
  }

  private Instant now() {
    return options.clock.instant();
  }

  private static String key(String namespace, String name) {
    return namespace + "/" + name;
  }
}
