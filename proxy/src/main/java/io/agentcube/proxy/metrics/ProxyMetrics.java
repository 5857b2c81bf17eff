package io.agentcube.proxy.metrics;

import io.agentcube.sandbox.LaunchType;
import io.agentcube.sandbox.SandboxPools;
import io.agentcube.sandbox.SandboxPools.PoolView;
import io.agentcube.session.EndReason;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;

/**
 * The proxy's Prometheus metrics (design.md §10), all prefixed {@code agentcube_} and tagged only
 * with low-cardinality values: route, status code, launch type, end reason, runtime.
 *
 * <p>Request meters are looked up once per (route, status) and cached in an array, so recording
 * a request is two array reads and two lock-free increments. Thread-safe.
 */
public final class ProxyMetrics implements SandboxPools.Listener {

  private final MeterRegistry registry;
  private final EnumMap<Route, AtomicReferenceArray<Counter>> requests = new EnumMap<>(Route.class);
  private final EnumMap<Route, Timer> durations = new EnumMap<>(Route.class);
  private final AtomicInteger inFlight = new AtomicInteger();
  private final EnumMap<LaunchType, Counter> created = new EnumMap<>(LaunchType.class);
  private final EnumMap<LaunchType, Timer> startDurations = new EnumMap<>(LaunchType.class);
  private final EnumMap<EndReason, Counter> ended = new EnumMap<>(EndReason.class);
  private final Map<String, Counter> upstreamErrors = new ConcurrentHashMap<>();
  private final Map<PoolView, List<Meter>> poolMeters = new ConcurrentHashMap<>();

  public ProxyMetrics(MeterRegistry registry) {
    this.registry = registry;
    for (Route r : Route.values()) {
      requests.put(r, new AtomicReferenceArray<>(600));
      durations.put(r, Timer.builder("agentcube.request.duration")
          .description("Time from request start to the end of its response, by route")
          .tag("route", r.tag())
          .publishPercentileHistogram()
          .minimumExpectedValue(Duration.ofNanos(100_000))
          .maximumExpectedValue(Duration.ofMinutes(10))
          .register(registry));
    }
    Gauge.builder("agentcube.requests.in.flight", inFlight, AtomicInteger::get)
        .description("Requests being served now").register(registry);
    Duration[] startBuckets = startBuckets();
    for (LaunchType t : LaunchType.values()) {
      created.put(t, Counter.builder("agentcube.sessions.launched")
          .description("Sessions created, by how their sandbox was obtained (named launched:"
              + " OpenMetrics reserves the _created suffix)")
          .tag("launch_type", t.tag()).register(registry));
      startDurations.put(t, Timer.builder("agentcube.session.start.duration")
          .description("Time a new session waited for its sandbox")
          .tag("launch_type", t.tag())
          .serviceLevelObjectives(startBuckets)
          .register(registry));
    }
    for (EndReason r : EndReason.values()) {
      ended.put(r, Counter.builder("agentcube.sessions.ended")
          .description("Sessions ended, by reason").tag("reason", r.tag()).register(registry));
    }
  }

  /** Buckets from 1 ms to 240 s, roughly ×2.5 apart. */
  private static Duration[] startBuckets() {
    long[] ms = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000,
        120_000, 240_000};
    Duration[] d = new Duration[ms.length];
    for (int i = 0; i < ms.length; i++) {
      d[i] = Duration.ofMillis(ms[i]);
    }
    return d;
  }

  /** Gauges read from live state at scrape time. */
  public void bind(Supplier<Number> sessionsActive, Supplier<Number> coldStartQueue) {
    Gauge.builder("agentcube.sessions.active", sessionsActive)
        .description("Live sessions").register(registry);
    Gauge.builder("agentcube.cold.start.queue.depth", coldStartQueue)
        .description("Requests waiting for a cold start").register(registry);
  }

  public void requestStarted() {
    inFlight.incrementAndGet();
  }

  public void requestEnded(Route route, int status, long nanos) {
    inFlight.decrementAndGet();
    AtomicReferenceArray<Counter> byStatus = requests.get(route);
    int idx = status >= 100 && status < 600 ? status : 599;
    Counter c = byStatus.get(idx);
    if (c == null) {
      c = Counter.builder("agentcube.requests")
          .description("Requests served, by route and status code")
          .tag("route", route.tag()).tag("code", Integer.toString(status))
          .register(registry);
      byStatus.set(idx, c);
    }
    c.increment();
    durations.get(route).record(nanos, TimeUnit.NANOSECONDS);
  }

  public void sessionCreated(LaunchType type, long waitNanos) {
    created.get(type).increment();
    startDurations.get(type).record(waitNanos, TimeUnit.NANOSECONDS);
  }

  public void sessionEnded(EndReason reason) {
    ended.get(reason).increment();
  }

  public void upstreamError(String reason) {
    upstreamErrors.computeIfAbsent(reason, r -> Counter.builder("agentcube.upstream.errors")
        .description("Failed forwards to sandboxes, by reason").tag("reason", r).register(registry))
        .increment();
  }

  @Override
  public void poolOpened(PoolView pool) {
    String runtime = pool.definition().label();
    String version = pool.definition().version();
    String kind = pool.definition().ref().kind().kind();
    Meter ready = Gauge.builder("agentcube.warm.pool.ready", pool, PoolView::ready)
        .description("Ready, unbound sandboxes in the warm pool")
        .tags("runtime", runtime, "version", version, "kind", kind).register(registry);
    Meter desired = Gauge.builder("agentcube.warm.pool.desired", pool, PoolView::desired)
        .description("warmPoolSize of the runtime version")
        .tags("runtime", runtime, "version", version, "kind", kind).register(registry);
    poolMeters.put(pool, List.of(ready, desired));
  }

  @Override
  public void poolClosed(PoolView pool) {
    List<Meter> meters = poolMeters.remove(pool);
    if (meters != null) {
      meters.forEach(registry::remove);
    }
  }
}
