package io.agentcube.proxy.metrics;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;

/**
 * The meters of one runtime ({@code runtime="namespace/name"}, every version together): sandbox
 * starts, their failures and durations, and, for code interpreters, the executions forwarded to
 * {@code /api/execute}. Registered all at once when the runtime's first pool opens, so that every
 * series exists (at zero) before its first event. Thread-safe.
 */
final class RuntimeMeters {

  private final Counter starts;
  private final Counter startTimeouts;
  private final Counter startErrors;
  private final Timer startDuration;
  // null for agent runtimes
  private final Counter executionsOk;
  private final Counter executionsRejected;
  private final Counter executionsFailed;
  private final Timer executionDuration;

  RuntimeMeters(MeterRegistry registry, String runtime, boolean codeInterpreter) {
    starts = Counter.builder("agentcube.sandbox.starts")
        .description("Sandbox starts that ended (ready or failed), warm refills and cold starts")
        .tag("runtime", runtime).register(registry);
    startTimeouts = failures(registry, runtime, "timeout");
    startErrors = failures(registry, runtime, "error");
    startDuration = Timer.builder("agentcube.sandbox.start.duration")
        .description("Time from a sandbox start to its being ready (successful starts)")
        .tag("runtime", runtime).serviceLevelObjectives(ProxyMetrics.START_BUCKETS)
        .register(registry);
    if (codeInterpreter) {
      executionsOk = executions(registry, runtime, "ok");
      executionsRejected = executions(registry, runtime, "rejected");
      executionsFailed = executions(registry, runtime, "failed");
      executionDuration = Timer.builder("agentcube.execution.duration")
          .description("Time of executions forwarded to code interpreters, to the end of the answer")
          .tag("runtime", runtime).serviceLevelObjectives(ProxyMetrics.EXECUTION_BUCKETS)
          .register(registry);
    } else {
      executionsOk = executionsRejected = executionsFailed = null;
      executionDuration = null;
    }
  }

  private static Counter failures(MeterRegistry registry, String runtime, String reason) {
    return Counter.builder("agentcube.sandbox.start.failures")
        .description("Sandbox starts that failed: timeout (not ready in time) or error")
        .tags("runtime", runtime, "reason", reason).register(registry);
  }

  private static Counter executions(MeterRegistry registry, String runtime, String outcome) {
    return Counter.builder("agentcube.executions")
        .description("Executions forwarded to code interpreters (POST /api/execute), by outcome:"
            + " ok (2xx), rejected (4xx), failed (5xx or no answer)")
        .tags("runtime", runtime, "outcome", outcome).register(registry);
  }

  void sandboxStarted(long nanos, Throwable failure) {
    starts.increment();
    if (failure == null) {
      startDuration.record(nanos, TimeUnit.NANOSECONDS);
    } else if (failure instanceof AgentCubeException a && a.code() == ErrorCode.COLD_START_TIMEOUT) {
      startTimeouts.increment();
    } else {
      startErrors.increment();
    }
  }

  void executionEnded(int status, long nanos) {
    if (executionDuration == null) {
      return; // not a code interpreter
    }
    (status >= 200 && status < 300 ? executionsOk
        : status >= 400 && status < 500 ? executionsRejected : executionsFailed).increment();
    executionDuration.record(nanos, TimeUnit.NANOSECONDS);
  }
}
