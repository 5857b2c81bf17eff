package io.agentcube.sandbox;

import io.agentcube.runtime.RuntimeDefinition;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.net.SocketAddress;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An in-memory backend whose starts complete only when the test says so. It counts starts and
 * stops and tracks how many starts run at once (a start runs from {@link #start} until the test
 * completes or fails it).
 *
 * <p>Thread-safe: the pool may start sandboxes from a timer thread.
 */
final class FakeBackend implements SandboxBackend {

  /** A start the test has not completed yet. */
  record PendingStart(RuntimeDefinition definition, Promise<Sandbox> promise) {}

  private final List<PendingStart> pending = new ArrayList<>();
  private final List<RuntimeDefinition> startOrder = new ArrayList<>();
  private final List<Sandbox> stopped = new ArrayList<>();
  private final AtomicInteger running = new AtomicInteger();
  private final AtomicInteger maxRunning = new AtomicInteger();
  private final AtomicInteger ids = new AtomicInteger();
  /** When set, every start fails at once with it. */
  private volatile Throwable failEveryStart;
  /** When set, every claim fails with it. */
  private volatile Throwable failEveryClaim;
  /** When set, the next start throws it instead of returning a future (a backend bug). */
  private volatile RuntimeException throwOnNextStart;

  @Override
  public String name() {
    return "fake";
  }

  @Override
  public List<String> problems(RuntimeDefinition definition) {
    return List.of();
  }

  @Override
  public Future<Sandbox> start(RuntimeDefinition definition) {
    synchronized (this) {
      startOrder.add(definition);
    }
    RuntimeException thrown = throwOnNextStart;
    if (thrown != null) {
      throwOnNextStart = null;
      throw thrown;
    }
    Throwable fail = failEveryStart;
    if (fail != null) {
      return Future.failedFuture(fail);
    }
    maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
    Promise<Sandbox> promise = Promise.promise();
    synchronized (this) {
      pending.add(new PendingStart(definition, promise));
    }
    return promise.future();
  }

  @Override
  public synchronized Future<Void> stop(Sandbox sandbox) {
    ((FakeSandbox) sandbox).alive = false;
    stopped.add(sandbox);
    return Future.succeededFuture();
  }

  @Override
  public Future<Sandbox> claim(Sandbox sandbox, String sessionId, java.time.Instant createdAt) {
    Throwable fail = failEveryClaim;
    if (fail != null) {
      return Future.failedFuture(fail);
    }
    FakeSandbox fake = (FakeSandbox) sandbox;
    if (fake.sessionId != null) {
      return Future.failedFuture(new SandboxClaimConflict(sandbox.id() + " is bound already"));
    }
    fake.sessionId = sessionId;
    return Future.succeededFuture(sandbox);
  }

  @Override
  public Future<List<SandboxRecord>> sandboxes() {
    return Future.succeededFuture(List.of());
  }

  @Override
  public Future<Void> recordActivity(Sandbox sandbox, java.time.Instant lastActivity) {
    return Future.succeededFuture();
  }

  @Override
  public void addListener(SandboxListener listener) {}

  @Override
  public boolean keepsSandboxesOnClose() {
    return false;
  }

  @Override
  public Future<Void> close() {
    return Future.succeededFuture();
  }

  void failEveryStart(Throwable cause) {
    failEveryStart = cause;
  }

  void throwOnNextStart(RuntimeException e) {
    throwOnNextStart = e;
  }

  void failEveryClaim(Throwable cause) {
    failEveryClaim = cause;
  }

  /** Completes the oldest running start (of {@code definition}, when not null). */
  FakeSandbox completeNext(RuntimeDefinition definition) {
    PendingStart start = take(definition);
    FakeSandbox sandbox = new FakeSandbox("sbx-" + ids.incrementAndGet(), start.definition());
    // Not running any more before the pool hears of it: the pool may start the next one at once.
    running.decrementAndGet();
    start.promise().complete(sandbox);
    return sandbox;
  }

  FakeSandbox completeNext() {
    return completeNext(null);
  }

  /** Fails the oldest running start. */
  void failNext(Throwable cause) {
    PendingStart start = take(null);
    running.decrementAndGet();
    start.promise().fail(cause);
  }

  private synchronized PendingStart take(RuntimeDefinition definition) {
    for (Iterator<PendingStart> it = pending.iterator(); it.hasNext(); ) {
      PendingStart s = it.next();
      if (definition == null || s.definition() == definition) {
        it.remove();
        return s;
      }
    }
    throw new AssertionError("no start " + (definition == null ? "" : "of " + definition.label() + " ")
        + "is running");
  }

  /** Calls to {@link #start} so far. */
  synchronized int starts() {
    return startOrder.size();
  }

  synchronized List<RuntimeDefinition> startOrder() {
    return List.copyOf(startOrder);
  }

  /** Starts running now. */
  int running() {
    return running.get();
  }

  /** The most starts that ever ran at once. */
  int maxRunning() {
    return maxRunning.get();
  }

  synchronized List<Sandbox> stopped() {
    return List.copyOf(stopped);
  }

  /** A sandbox that is only an id and an alive flag. */
  static final class FakeSandbox implements Sandbox {
    private final String id;
    private final RuntimeDefinition definition;
    volatile boolean alive = true;
    volatile String sessionId;

    FakeSandbox(String id, RuntimeDefinition definition) {
      this.id = id;
      this.definition = definition;
    }

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
      return SocketAddress.inetSocketAddress(1, "127.0.0.1");
    }

    @Override
    public boolean alive() {
      return alive;
    }

    @Override
    public String sessionId() {
      return sessionId;
    }

    @Override
    public String toString() {
      return id;
    }
  }
}
