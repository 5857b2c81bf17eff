package io.agentcube.proxy.metrics;

import io.agentcube.sandbox.BackendCalls;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code agentcube_backend_call_duration_seconds} and {@code agentcube_backend_call_errors_total}
 * for one backend, by operation. An operation's two meters are registered at its first call, so
 * its error counter exists (at zero) once it has been called. The operations are the backend's
 * small fixed set, so the map is bounded. Thread-safe.
 */
final class BackendCallMeters implements BackendCalls {

  private record Meters(Timer duration, Counter errors) {}

  private final MeterRegistry registry;
  private final String backend;
  private final Duration[] buckets;
  private final Map<String, Meters> byOperation = new ConcurrentHashMap<>();

  BackendCallMeters(MeterRegistry registry, String backend, Duration[] buckets) {
    this.registry = registry;
    this.backend = backend;
    this.buckets = buckets;
  }

  @Override
  public void completed(String operation, long nanos, Throwable failure) {
    Meters m = byOperation.computeIfAbsent(operation, op -> new Meters(
        Timer.builder("agentcube.backend.call.duration")
            .description("Calls of the backend to what it runs on (Kubernetes API, sandbox host),"
                + " failures included")
            .tags("backend", backend, "operation", op).serviceLevelObjectives(buckets)
            .register(registry),
        Counter.builder("agentcube.backend.call.errors")
            .description("Backend calls that failed")
            .tags("backend", backend, "operation", op).register(registry)));
    m.duration().record(nanos, TimeUnit.NANOSECONDS);
    if (failure != null) {
      m.errors().increment();
    }
  }
}
