package io.agentcube.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.runtime.AuthMode;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeKind;
import io.agentcube.runtime.RuntimeRef;
import io.agentcube.runtime.SandboxTemplate;
import io.agentcube.runtime.TargetPort;
import io.agentcube.sandbox.FakeBackend.FakeSandbox;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The warm pools against an in-memory backend whose starts land when the test says. Everything
 * but timers runs on the test thread (the fake's promises have no context), so most assertions
 * need no waiting; start timeouts and refill backoff run on Vert.x timers and are awaited.
 */
class WarmPoolTest {

  private static final Duration LONG = Duration.ofSeconds(30);

  private Vertx vertx;
  private final FakeBackend backend = new FakeBackend();
  private final List<String> poolEvents = new CopyOnWriteArrayList<>();
  private final List<String> startEvents = new CopyOnWriteArrayList<>();
  private LocalSandboxPools pools;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void tearDown() throws Exception {
    if (pools != null) {
      pools.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private LocalSandboxPools pools(int maxConcurrentStarts, int maxColdStartQueue, Duration startTimeout,
      Duration refillBackoffMax) {
    pools = new LocalSandboxPools(backend, vertx, new PoolOptions(maxConcurrentStarts, maxColdStartQueue,
        startTimeout, Duration.ofSeconds(3), refillBackoffMax), new SandboxPools.Listener() {
          @Override
          public void poolOpened(SandboxPools.PoolView pool) {
            poolEvents.add("opened " + pool.definition().ref().name() + "#" + pool.definition().templateHash());
          }

          @Override
          public void poolClosed(SandboxPools.PoolView pool) {
            poolEvents.add("closed " + pool.definition().ref().name() + "#" + pool.definition().templateHash());
          }

          @Override
          public void sandboxStarted(RuntimeDefinition d, long nanos, Throwable failure) {
            startEvents.add("started " + d.ref().name() + (failure == null ? " ready" : " failed: " + failure.getMessage()));
          }
        });
    return pools;
  }

  private LocalSandboxPools pools() {
    return pools(10, 100, LONG, LONG);
  }

  private static RuntimeDefinition def(String name, String hash, int warmPoolSize) {
    return new RuntimeDefinition(new RuntimeRef(RuntimeKind.CODE_INTERPRETER, "default", name), "v1",
        hash, List.of(new TargetPort(null, 8080, TargetPort.Protocol.HTTP, "/")),
        new SandboxTemplate(null, List.of("run", hash), List.of(), java.util.Map.of(), null),
        Duration.ofMinutes(15), Duration.ofHours(8), warmPoolSize, AuthMode.NONE, List.of(), "test");
  }

  private static RuntimeDefinition def(String name, int warmPoolSize) {
    return def(name, "h1", warmPoolSize);
  }

  /** A sandbox for a new session with a fresh id, as the session layer asks for one. */
  private Future<Acquired> acquire(RuntimeDefinition d) {
    return pools.acquire(d, io.agentcube.session.SessionIds.generate());
  }

  private static AgentCubeException failure(Future<?> f) {
    assertThat(f.failed()).as("failed: %s", f).isTrue();
    assertThat(f.cause()).isInstanceOf(AgentCubeException.class);
    return (AgentCubeException) f.cause();
  }

  private static Acquired success(Future<Acquired> f) {
    assertThat(f.succeeded()).as("succeeded: %s (%s)", f, f.cause()).isTrue();
    return f.result();
  }

  // ---- prefill and warm hits

  @Test
  void prefill_warmPoolSize3_startsThreeAndKeepsExactlyThreeReady() {
    RuntimeDefinition d = def("python", 3);
    pools().sync(List.of(d));
    WarmPool pool = pools.pool(d);

    assertThat(backend.starts()).isEqualTo(3);
    assertThat(pool.pending()).isEqualTo(3);
    backend.completeNext();
    backend.completeNext();
    backend.completeNext();

    assertThat(pool.ready()).isEqualTo(3);
    assertThat(pool.pending()).isZero();
    assertThat(backend.starts()).as("no start beyond warmPoolSize").isEqualTo(3);
    assertThat(backend.stopped()).isEmpty();
  }

  @Test
  void acquire_claimsTheSandboxForTheSession() {
    RuntimeDefinition d = def("python", 1);
    pools().sync(List.of(d));
    backend.completeNext();

    Acquired a = success(pools.acquire(d, "session-a"));

    assertThat(a.sandbox().sessionId()).isEqualTo("session-a");
  }

  @Test
  void acquire_claimLostToAnotherReplica_takesTheNextCandidate() {
    RuntimeDefinition d = def("python", 2);
    pools().sync(List.of(d));
    FakeSandbox taken = backend.completeNext();
    FakeSandbox free = backend.completeNext();
    taken.sessionId = "bound-elsewhere"; // another replica won this one

    Acquired a = success(acquire(d));

    assertThat(a.sandbox()).isSameAs(free);
    assertThat(a.launchType()).isEqualTo(LaunchType.WARM);
    assertThat(backend.stopped()).as("a lost claim is not ours to stop").isEmpty();
  }

  @Test
  void acquire_claimFails_stopsTheSandboxAndFailsWithoutInternals() {
    RuntimeDefinition d = def("python", 1);
    pools().sync(List.of(d));
    FakeSandbox s = backend.completeNext();
    backend.failEveryClaim(new java.io.IOException("disk full"));

    AgentCubeException e = failure(acquire(d));

    assertThat(e.code()).isEqualTo(ErrorCode.SANDBOX_UNREACHABLE);
    assertThat(e.getMessage()).contains("disk full").doesNotContain("IOException");
    assertThat(backend.stopped()).containsExactly(s);
  }

  @Test
  void acquire_warmPoolHasReady_returnsWarmAndRefillsOnce() {
    RuntimeDefinition d = def("python", 2);
    pools().sync(List.of(d));
    FakeSandbox first = backend.completeNext();
    backend.completeNext();

    Acquired a = success(acquire(d));

    assertThat(a.launchType()).isEqualTo(LaunchType.WARM);
    assertThat(a.sandbox()).isSameAs(first);
    assertThat(backend.starts()).as("exactly one refill").isEqualTo(3);
    assertThat(pools.pool(d).ready()).isEqualTo(1);
    assertThat(pools.coldStartQueueDepth()).isZero();

    backend.completeNext();
    assertThat(pools.pool(d).ready()).isEqualTo(2);
    assertThat(backend.starts()).isEqualTo(3);
  }

  @Test
  void acquire_poolEmpty_waitsAndColdStartsOnce() {
    RuntimeDefinition d = def("python", 0);
    pools().sync(List.of(d));
    assertThat(backend.starts()).isZero();

    Future<Acquired> f = acquire(d);

    assertThat(f.isComplete()).as("waits for its start").isFalse();
    assertThat(backend.starts()).isEqualTo(1);
    assertThat(pools.coldStartQueueDepth()).isEqualTo(1);
    FakeSandbox s = backend.completeNext();

    Acquired a = success(f);
    assertThat(a.launchType()).isEqualTo(LaunchType.COLD);
    assertThat(a.sandbox()).isSameAs(s);
    assertThat(pools.pool(d).ready()).isZero();
    assertThat(pools.coldStartQueueDepth()).isZero();
    assertThat(backend.starts()).as("no refill for a pool of size 0").isEqualTo(1);
  }

  @Test
  void acquire_prefillStillStarting_firstLandingServesWaiterThenPoolFills() {
    RuntimeDefinition d = def("python", 1);
    pools().sync(List.of(d));

    Future<Acquired> f = acquire(d);
    assertThat(backend.starts()).as("prefill plus one for the waiter").isEqualTo(2);
    FakeSandbox firstLanded = backend.completeNext();

    assertThat(success(f).sandbox()).as("the waiter before the pool").isSameAs(firstLanded);
    assertThat(success(f).launchType()).isEqualTo(LaunchType.COLD);
    assertThat(pools.pool(d).ready()).isZero();
    backend.completeNext();
    assertThat(pools.pool(d).ready()).isEqualTo(1);
    assertThat(backend.starts()).isEqualTo(2);
  }

  @Test
  void acquire_severalWaiters_servedOldestFirst() {
    RuntimeDefinition d = def("python", 0);
    pools().sync(List.of(d));
    Future<Acquired> first = acquire(d);
    Future<Acquired> second = acquire(d);

    FakeSandbox a = backend.completeNext();
    assertThat(success(first).sandbox()).isSameAs(a);
    assertThat(second.isComplete()).isFalse();
    FakeSandbox b = backend.completeNext();
    assertThat(success(second).sandbox()).isSameAs(b);
    assertThat(backend.starts()).isEqualTo(2);
  }

  // ---- the start limiter

  @Test
  void start_burstAboveLimit_neverRunsMoreThanMaxConcurrentStarts() {
    RuntimeDefinition a = def("a", 3);
    RuntimeDefinition b = def("b", 3);
    RuntimeDefinition c = def("c", 0);
    pools(2, 100, LONG, LONG).sync(List.of(a, b, c));
    List<Future<Acquired>> cold = List.of(acquire(c), acquire(c));

    assertThat(backend.running()).isEqualTo(2);
    int completed = 0;
    while (backend.running() > 0) {
      backend.completeNext();
      completed++;
      assertThat(backend.running()).isLessThanOrEqualTo(2);
    }

    assertThat(backend.maxRunning()).isEqualTo(2);
    assertThat(completed).isEqualTo(8);
    assertThat(pools.pool(a).ready()).isEqualTo(3);
    assertThat(pools.pool(b).ready()).isEqualTo(3);
    assertThat(cold).allSatisfy(f -> assertThat(success(f).launchType()).isEqualTo(LaunchType.COLD));
  }

  @Test
  void start_coldWaiterQueuedBehindRefills_startsBeforeThem() {
    RuntimeDefinition refilling = def("refilling", 3);
    RuntimeDefinition empty = def("empty", 0);
    pools(1, 100, LONG, LONG).sync(List.of(refilling, empty));
    assertThat(backend.startOrder()).containsExactly(refilling);

    Future<Acquired> waiter = acquire(empty);
    assertThat(backend.starts()).as("the slot is taken").isEqualTo(1);
    backend.completeNext(refilling);

    assertThat(backend.startOrder()).as("the waiting request's start goes first")
        .containsExactly(refilling, empty);
    backend.completeNext(empty);
    assertThat(success(waiter).launchType()).isEqualTo(LaunchType.COLD);
    assertThat(backend.startOrder()).containsExactly(refilling, empty, refilling);
  }

  // ---- the cold-start queue

  @Test
  void acquire_coldStartQueueFull_failsPoolExhaustedWithRetryAfter() {
    RuntimeDefinition a = def("a", 0);
    RuntimeDefinition b = def("b", 0);
    pools(4, 2, LONG, LONG).sync(List.of(a, b));
    Future<Acquired> queuedA = acquire(a);
    acquire(b);

    Future<Acquired> rejected = acquire(a);

    AgentCubeException e = failure(rejected);
    assertThat(e.code()).isEqualTo(ErrorCode.POOL_EXHAUSTED);
    assertThat(e.status()).isEqualTo(503);
    assertThat(e.retryAfter()).isEqualTo(Duration.ofSeconds(3));
    assertThat(e.getMessage()).contains("default/a");
    assertThat(backend.starts()).as("a rejected request starts nothing").isEqualTo(2);
    assertThat(pools.coldStartQueueDepth()).isEqualTo(2);

    backend.completeNext(a);
    assertThat(success(queuedA).launchType()).isEqualTo(LaunchType.COLD);
    assertThat(pools.coldStartQueueDepth()).isEqualTo(1);
    assertThat(acquire(a).isComplete()).as("room again").isFalse();
  }

  @Test
  void acquire_coldStartQueueSizeZero_rejectsEveryMissButServesWarmHits() {
    RuntimeDefinition d = def("python", 1);
    pools(4, 0, LONG, LONG).sync(List.of(d));
    backend.completeNext();

    assertThat(success(acquire(d)).launchType()).isEqualTo(LaunchType.WARM);
    assertThat(failure(acquire(d)).code()).isEqualTo(ErrorCode.POOL_EXHAUSTED);
  }

  // ---- start timeout: the late sandbox is not wasted

  @Test
  void acquire_startOutlastsTimeout_failsColdStartTimeoutAndLateSandboxIsStoppedWhenPoolFull() {
    RuntimeDefinition d = def("python", 0);
    pools(4, 100, Duration.ofMillis(100), LONG).sync(List.of(d));
    long t0 = System.nanoTime();

    Future<Acquired> f = acquire(d);
    await().atMost(5, TimeUnit.SECONDS).until(f::isComplete);

    assertThat(System.nanoTime() - t0).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(100));
    AgentCubeException e = failure(f);
    assertThat(e.code()).isEqualTo(ErrorCode.COLD_START_TIMEOUT);
    assertThat(e.status()).isEqualTo(504);
    assertThat(e.getMessage()).contains("default/python").contains("100ms");
    assertThat(pools.coldStartQueueDepth()).isZero();

    FakeSandbox late = backend.completeNext();
    assertThat(backend.stopped()).containsExactly(late);
    assertThat(pools.pool(d).ready()).isZero();
  }

  @Test
  void acquire_startOutlastsTimeout_lateSandboxJoinsPool() {
    RuntimeDefinition d = def("python", 1);
    pools(4, 100, Duration.ofMillis(100), LONG).sync(List.of(d));
    Future<Acquired> f = acquire(d);
    await().atMost(5, TimeUnit.SECONDS).until(f::isComplete);
    assertThat(failure(f).code()).isEqualTo(ErrorCode.COLD_START_TIMEOUT);

    FakeSandbox joins = backend.completeNext();
    FakeSandbox surplus = backend.completeNext();

    assertThat(pools.pool(d).ready()).isEqualTo(1);
    assertThat(backend.stopped()).as("the pool never holds more than warmPoolSize").containsExactly(surplus);
    Acquired next = success(acquire(d));
    assertThat(next.sandbox()).isSameAs(joins);
    assertThat(next.launchType()).isEqualTo(LaunchType.WARM);
  }

  // ---- failing starts

  @Test
  void start_readyOrFailed_reportedToTheListenerOnce_shutdownNot() throws Exception {
    RuntimeDefinition d = def("python", 0);
    pools().sync(List.of(d));
    acquire(d);
    backend.completeNext();
    acquire(d);
    backend.failNext(new IOException("exec format error"));
    assertThat(startEvents).containsExactly("started python ready", "started python failed: exec format error");

    acquire(d); // a start in flight when the pool closes is not a failure of the runtime
    pools.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    backend.failNext(new IOException("killed by shutdown"));
    assertThat(startEvents).hasSize(2);
  }

  @Test
  void acquire_startFails_failsWaiterWithSandboxUnreachable() {
    RuntimeDefinition d = def("python", 0);
    pools().sync(List.of(d));
    Future<Acquired> f = acquire(d);
    IOException cause = new IOException("cannot run [run]: exec format error");

    backend.failNext(cause);

    AgentCubeException e = failure(f);
    assertThat(e.code()).isEqualTo(ErrorCode.SANDBOX_UNREACHABLE);
    assertThat(e.getMessage()).contains("default/python").contains("exec format error");
    assertThat(e.getCause()).isSameAs(cause);
    assertThat(pools.coldStartQueueDepth()).isZero();
  }

  @Test
  void acquire_startFailsWithAgentCubeException_failsWaiterWithThatException() {
    RuntimeDefinition d = def("python", 0);
    pools().sync(List.of(d));
    Future<Acquired> f = acquire(d);
    AgentCubeException cause = new AgentCubeException(ErrorCode.SANDBOX_TIMEOUT, "pod never ready");

    backend.failNext(cause);

    assertThat(failure(f)).isSameAs(cause);
  }

  @Test
  void prefill_startsKeepFailing_retriesAfterBackoffInsteadOfSpinning() {
    RuntimeDefinition d = def("broken", 1);
    backend.failEveryStart(new IOException("no such file"));
    long t0 = System.nanoTime();

    pools(4, 100, LONG, Duration.ofMillis(100)).sync(List.of(d));
    assertThat(backend.starts()).as("no immediate retry").isEqualTo(1);
    await().atMost(10, TimeUnit.SECONDS).until(() -> backend.starts() >= 4);

    long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    assertThat(elapsedMs).as("three pauses of refillBackoffMax between four starts")
        .isGreaterThanOrEqualTo(300);

    // Once starts work again, the pool fills.
    backend.failEveryStart(null);
    await().atMost(10, TimeUnit.SECONDS).until(() -> backend.running() == 1);
    backend.completeNext();
    assertThat(pools.pool(d).ready()).isEqualTo(1);
  }

  /** A backend that throws instead of failing its future is a failed start: the pool still refills. */
  @Test
  void prefill_startThrowsSynchronously_countsAsAFailureAndThePoolRefills() {
    RuntimeDefinition d = def("python", 1);
    backend.throwOnNextStart(new IllegalStateException("bug in start"));

    pools(4, 100, LONG, Duration.ofMillis(100)).sync(List.of(d));
    WarmPool pool = pools.pool(d);
    assertThat(pool.pending()).as("the thrown start is not left in flight").isZero();

    await().atMost(10, TimeUnit.SECONDS).until(() -> backend.running() == 1);
    backend.completeNext();
    assertThat(pool.ready()).isEqualTo(1);
  }

  @Test
  void acquire_duringRefillBackoff_stillStartsItsOwnSandbox() {
    RuntimeDefinition d = def("flaky", 2);
    backend.failEveryStart(new IOException("boom"));
    pools(4, 100, LONG, LONG).sync(List.of(d));
    backend.failEveryStart(null);
    int before = backend.starts();

    Future<Acquired> f = acquire(d);

    assertThat(backend.starts()).isEqualTo(before + 1);
    backend.completeNext();
    assertThat(success(f).launchType()).isEqualTo(LaunchType.COLD);
  }

  // ---- dead warm sandboxes

  @Test
  void remove_deadWarmSandbox_refillsAndReportsIt() {
    RuntimeDefinition d = def("python", 2);
    pools().sync(List.of(d));
    FakeSandbox dead = backend.completeNext();
    backend.completeNext();
    dead.alive = false;

    assertThat(pools.remove(dead)).isTrue();

    assertThat(pools.pool(d).ready()).isEqualTo(1);
    assertThat(backend.starts()).isEqualTo(3);
    assertThat(pools.remove(dead)).as("only once").isFalse();
    assertThat(backend.starts()).isEqualTo(3);
  }

  @Test
  void remove_boundSandbox_notWarmAndNoRefill() {
    RuntimeDefinition d = def("python", 1);
    pools().sync(List.of(d));
    backend.completeNext();
    Sandbox bound = success(acquire(d)).sandbox();
    backend.completeNext();

    assertThat(pools.remove(bound)).isFalse();
    assertThat(backend.starts()).isEqualTo(2);
  }

  @Test
  void acquire_warmSandboxDiedUnreported_skipsItAndReturnsLiveOne() {
    RuntimeDefinition d = def("python", 2);
    pools().sync(List.of(d));
    FakeSandbox dead = backend.completeNext();
    FakeSandbox live = backend.completeNext();
    dead.alive = false;

    Acquired a = success(acquire(d));

    assertThat(a.sandbox()).isSameAs(live);
    assertThat(a.launchType()).isEqualTo(LaunchType.WARM);
    assertThat(backend.starts()).as("both replaced").isEqualTo(4);
  }

  // ---- close

  @Test
  void close_readyAndWaiting_stopsReadyAndFailsWaitersWithNotReady() throws Exception {
    RuntimeDefinition warm = def("warm", 1);
    RuntimeDefinition cold = def("cold", 0);
    pools().sync(List.of(warm, cold));
    FakeSandbox ready = backend.completeNext(warm);
    Future<Acquired> waiting = acquire(cold);

    pools.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);

    assertThat(backend.stopped()).containsExactly(ready);
    AgentCubeException e = failure(waiting);
    assertThat(e.code()).isEqualTo(ErrorCode.NOT_READY);
    assertThat(e.status()).isEqualTo(503);
    assertThat(pools.coldStartQueueDepth()).isZero();
    assertThat(failure(acquire(warm)).code()).isEqualTo(ErrorCode.NOT_READY);
    assertThat(poolEvents).contains("closed warm#h1", "closed cold#h1");
  }

  @Test
  void close_startsInFlight_sandboxesLandingAfterAreStopped() throws Exception {
    RuntimeDefinition d = def("python", 2);
    pools().sync(List.of(d));
    WarmPool pool = pools.pool(d);

    pool.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    FakeSandbox a = backend.completeNext();
    FakeSandbox b = backend.completeNext();

    assertThat(backend.stopped()).containsExactly(a, b);
    assertThat(pool.ready()).isZero();
    assertThat(backend.starts()).as("a closed pool does not refill").isEqualTo(2);
    assertThat(failure(pool.acquire()).code()).isEqualTo(ErrorCode.NOT_READY);
  }

  @Test
  void close_queuedStartNotRunYet_isDroppedWhenItsTurnComes() throws Exception {
    RuntimeDefinition closing = def("closing", 2);
    RuntimeDefinition other = def("other", 1);
    pools(1, 100, LONG, LONG).sync(List.of(closing));
    pools.sync(List.of(closing, other));
    assertThat(backend.startOrder()).containsExactly(closing);

    pools.sync(List.of(other)).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    FakeSandbox landedAfterClose = backend.completeNext(closing);

    assertThat(backend.stopped()).containsExactly(landedAfterClose);
    assertThat(backend.startOrder()).as("the queued start of the closed pool never runs")
        .containsExactly(closing, other);
  }

  // ---- sync

  @Test
  void sync_changedDefinitions_opensNewPoolsAndClosesDroppedOnes() throws Exception {
    RuntimeDefinition a1 = def("a", "h1", 1);
    RuntimeDefinition b = def("b", "h1", 1);
    RuntimeDefinition a2 = def("a", "h2", 1);
    pools();

    pools.sync(List.of(a1));
    FakeSandbox a1Sandbox = backend.completeNext(a1);
    assertThat(poolEvents).containsExactly("opened a#h1");

    pools.sync(List.of(a1, b));
    assertThat(poolEvents).containsExactly("opened a#h1", "opened b#h1");
    assertThat(backend.startOrder()).as("an open pool is not prefilled again").containsExactly(a1, b);

    pools.sync(List.of(a2, b)).toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertThat(poolEvents).containsExactly("opened a#h1", "opened b#h1", "closed a#h1", "opened a#h2");
    assertThat(backend.stopped()).as("the old version's warm sandbox").containsExactly(a1Sandbox);
    assertThat(backend.startOrder()).containsExactly(a1, b, a2);
    assertThat(pools.pool(a1)).isNull();
    assertThat(pools.pool(a2)).isNotNull();
    assertThat(failure(acquire(a1)).code()).isEqualTo(ErrorCode.NOT_READY);

    pools.sync(new ArrayList<>(List.of(b, a2)));
    assertThat(poolEvents).as("same set again changes nothing").hasSize(4);
    assertThat(backend.starts()).isEqualTo(3);
  }

  @Test
  void acquire_definitionNotServed_failsNotReady() {
    pools().sync(List.of(def("served", 0)));

    AgentCubeException e = failure(acquire(def("unknown", 0)));

    assertThat(e.code()).isEqualTo(ErrorCode.NOT_READY);
    assertThat(e.getMessage()).contains("default/unknown");
    assertThat(backend.starts()).isZero();
  }
}
