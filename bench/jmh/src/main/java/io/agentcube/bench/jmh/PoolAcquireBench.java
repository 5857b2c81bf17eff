package io.agentcube.bench.jmh;

import io.agentcube.runtime.AuthMode;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeKind;
import io.agentcube.runtime.RuntimeRef;
import io.agentcube.runtime.SandboxTemplate;
import io.agentcube.runtime.TargetPort;
import io.agentcube.sandbox.Acquired;
import io.agentcube.sandbox.LaunchType;
import io.agentcube.sandbox.LocalSandboxPools;
import io.agentcube.sandbox.PoolOptions;
import io.agentcube.sandbox.Sandbox;
import io.agentcube.sandbox.SandboxBackend;
import io.agentcube.sandbox.SandboxPools;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * A warm-pool hit: {@code SandboxPools.acquire} takes a ready sandbox and asks for its
 * replacement, which an in-memory backend "starts" at once, so every acquire is a hit and the pool
 * stays full. This is the pool's share of a new session's first request (the process spawn of
 * the real backend happens off the request path and is not measured here).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PoolAcquireBench {

  private Vertx vertx;
  private SandboxPools pools;
  private RuntimeDefinition definition;
  private long misses;

  @Setup
  public void setUp() throws Exception {
    vertx = Vertx.vertx();
    definition = new RuntimeDefinition(new RuntimeRef(RuntimeKind.AGENT_RUNTIME, "default", "bench"),
        "v1", "bench0", List.of(new TargetPort("http", 8080, TargetPort.Protocol.HTTP, "/")),
        new SandboxTemplate(null, List.of("true"), List.of(), Map.of(), null),
        Duration.ofMinutes(15), Duration.ofHours(8), 4, AuthMode.NONE, List.of(), "jmh");
    pools = new LocalSandboxPools(new InMemoryBackend(), vertx,
        new PoolOptions(4, 256, Duration.ofSeconds(60), Duration.ofSeconds(1), Duration.ofSeconds(30)),
        new SandboxPools.Listener() {
          @Override
          public void poolOpened(SandboxPools.PoolView pool) { }

          @Override
          public void poolClosed(SandboxPools.PoolView pool) { }
        });
    pools.sync(List.of(definition)).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @TearDown
  public void tearDown() throws Exception {
    if (misses > 0) {
      throw new IllegalStateException(misses + " acquires were not warm hits");
    }
    pools.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Benchmark
  public Acquired acquireWarm() {
    Future<Acquired> f = pools.acquire(definition, "bench-session");
    Acquired a = f.result();
    if (a == null || a.launchType() != LaunchType.WARM) {
      misses++;
    }
    return a;
  }

  /** Sandboxes that start synchronously and never die. */
  static final class InMemoryBackend implements SandboxBackend {
    private final AtomicLong ids = new AtomicLong();
    private final SocketAddress address = SocketAddress.inetSocketAddress(8080, "127.0.0.1");

    @Override
    public String name() {
      return "in-memory";
    }

    @Override
    public List<String> problems(RuntimeDefinition definition) {
      return List.of();
    }

    @Override
    public Future<Sandbox> start(RuntimeDefinition definition) {
      String id = "sbx-" + ids.incrementAndGet();
      return Future.succeededFuture(new Sandbox() {
        @Override
        public String id() {
          return id;
        }

        @Override
        public String name() {
          return id;
        }

        @Override
        public RuntimeDefinition definition() {
          return definition;
        }

        @Override
        public SocketAddress address(int portIndex) {
          return address;
        }

        @Override
        public boolean alive() {
          return true;
        }

        @Override
        public String sessionId() {
          return null;
        }
      });
    }

    @Override
    public Future<Void> stop(Sandbox sandbox) {
      return Future.succeededFuture();
    }

    @Override
    public Future<Sandbox> claim(Sandbox sandbox, String sessionId, java.time.Instant createdAt) {
      return Future.succeededFuture(sandbox);
    }

    @Override
    public Future<java.util.List<io.agentcube.sandbox.SandboxRecord>> sandboxes() {
      return Future.succeededFuture(java.util.List.of());
    }

    @Override
    public Future<Void> recordActivity(Sandbox sandbox, java.time.Instant lastActivity) {
      return Future.succeededFuture();
    }

    @Override
    public void addListener(io.agentcube.sandbox.SandboxListener listener) { }

    @Override
    public boolean keepsSandboxesOnClose() {
      return false;
    }

    @Override
    public Future<Void> close() {
      return Future.succeededFuture();
    }
  }
}
