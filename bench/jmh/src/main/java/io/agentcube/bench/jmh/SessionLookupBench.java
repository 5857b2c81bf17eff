package io.agentcube.bench.jmh;

import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import io.agentcube.session.Session;
import io.agentcube.session.SessionIds;
import io.agentcube.session.SessionStore;
import io.agentcube.session.SessionStoreOptions;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The per-request session work of the data plane: check the id's shape, {@code begin} (map read,
 * deadline check, one CAS on the session's state word), {@code finish} (one CAS; the idle clock
 * restarts). {@code sessions} live sessions; ids are visited in a fixed scrambled order so the
 * lookups do not walk memory sequentially. {@code getOnly} is the floor: the same map read and
 * deadline check, no write.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SessionLookupBench {

  @Param({"1000", "100000"})
  int sessions;

  private SessionStore<Object> store;
  private String[] ids;
  private int next;

  @Setup
  public void setUp() {
    store = new SessionStore<>(new SessionStoreOptions(sessions + 1, Duration.ofHours(1), 1000),
        Ticker.systemTicker(), Clock.systemUTC(), Scheduler.disabledScheduler(), (s, r) -> { });
    ids = new String[sessions];
    for (int i = 0; i < sessions; i++) {
      ids[i] = store.create(new Object(), Duration.ofHours(1), Duration.ofHours(8)).id();
    }
    java.util.Collections.shuffle(java.util.Arrays.asList(ids), new java.util.Random(42));
  }

  @TearDown
  public void tearDown() {
    store.close();
  }

  /** What one forwarded request costs in the session store. */
  @Benchmark
  public Session<Object> beginFinish() {
    String id = ids[next];
    next = next + 1 == ids.length ? 0 : next + 1;
    if (!SessionIds.isWellFormed(id)) {
      throw new IllegalStateException(id);
    }
    Session<Object> s = store.begin(id);
    store.finish(s);
    return s;
  }

  /** Only the read, for comparison: what a plain lookup costs. */
  @Benchmark
  public Session<Object> getOnly() {
    String id = ids[next];
    next = next + 1 == ids.length ? 0 : next + 1;
    return store.get(id);
  }
}
