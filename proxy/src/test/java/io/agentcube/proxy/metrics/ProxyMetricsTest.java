package io.agentcube.proxy.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.runtime.AuthMode;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeKind;
import io.agentcube.runtime.RuntimeRef;
import io.agentcube.runtime.SandboxTemplate;
import io.agentcube.runtime.TargetPort;
import io.agentcube.sandbox.BackendCalls;
import io.agentcube.sandbox.LaunchType;
import io.agentcube.sandbox.SandboxBackend;
import io.agentcube.sandbox.SandboxPools.PoolView;
import io.agentcube.session.EndReason;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The catalogue as the registry exports it: names, labels, values; no live proxy. */
class ProxyMetricsTest {

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final ProxyMetrics metrics = new ProxyMetrics(registry);

  @AfterEach
  void close() {
    metrics.close();
    registry.close();
  }

  static RuntimeDefinition def(RuntimeKind kind, String name, int warm) {
    return new RuntimeDefinition(new RuntimeRef(kind, "default", name), "v1", "h1",
        List.of(new TargetPort(null, 8080, TargetPort.Protocol.HTTP, "/")),
        new SandboxTemplate(null, List.of("run"), List.of(), java.util.Map.of(), null),
        Duration.ofMinutes(15), Duration.ofHours(8), warm, AuthMode.NONE, List.of(), "test");
  }

  static PoolView pool(RuntimeDefinition d, int ready) {
    return new PoolView() {
      @Override
      public RuntimeDefinition definition() {
        return d;
      }

      @Override
      public int desired() {
        return d.warmPoolSize();
      }

      @Override
      public int ready() {
        return ready;
      }

      @Override
      public String lastStartError() {
        return null;
      }
    };
  }

  /** A backend that only names itself and hands out the calls observer it is given. */
  static SandboxBackend backend(String name, AtomicReference<BackendCalls> calls) {
    return (SandboxBackend) Proxy.newProxyInstance(SandboxBackend.class.getClassLoader(),
        new Class<?>[] {SandboxBackend.class}, (p, m, args) -> switch (m.getName()) {
          case "name" -> name;
          case "observeCalls" -> {
            calls.set((BackendCalls) args[0]);
            yield null;
          }
          case "expiryAuthority" -> io.agentcube.session.ExpiryAuthority.LOCAL;
          default -> throw new UnsupportedOperationException(m.getName());
        });
  }

  /** The value of the sample {@code name{labels}}, or null when it is not exported. */
  private Double sample(String sample) {
    return registry.scrape().lines().filter(l -> l.startsWith(sample + " ")).findFirst()
        .map(l -> Double.parseDouble(l.substring(sample.length() + 1).trim())).orElse(null);
  }

  @Test
  void construct_closedLabelSets_exportedAtZeroBeforeAnyEvent() {
    assertThat(sample("agentcube_sessions_launched_total{launch_type=\"cold\"}")).isEqualTo(0.0);
    assertThat(sample("agentcube_sessions_ended_total{reason=\"sandbox_lost\"}")).isEqualTo(0.0);
    assertThat(sample("agentcube_upstream_errors_total{reason=\"timeout\"}")).isEqualTo(0.0);
    assertThat(sample("agentcube_session_start_failures_total{reason=\"pool_exhausted\"}")).isEqualTo(0.0);
    assertThat(sample("agentcube_session_start_duration_seconds_bucket{launch_type=\"warm\",le=\"0.001\"}"))
        .isEqualTo(0.0);
    assertThat(sample("agentcube_session_start_duration_seconds_bucket{launch_type=\"warm\",le=\"240.0\"}"))
        .isEqualTo(0.0);
    assertThat(sample("agentcube_requests_in_flight")).isEqualTo(0.0);
  }

  @Test
  void jvmAndProcessBinders_exported() {
    String text = registry.scrape();
    assertThat(text).contains("jvm_memory_used_bytes{", "jvm_threads_live_threads ",
        "process_cpu_usage ", "process_uptime_seconds ", "process_files_open_files ",
        "jvm_classes_loaded_classes ", "jvm_info{");
  }

  /** Pins the two ProcessorMetrics names that promtool check metrics rejected, and their fix. */
  @Test
  void processorBinder_conventionalNames_cpuSecondsNoAbbreviatedUnitNoCountGauge() {
    String text = registry.scrape();
    assertThat(text).contains("process_cpu_seconds_total ")
        .doesNotContain("process_cpu_time_ns_total").doesNotContain("system_cpu_count");
  }

  @Test
  void sessionStartFailed_byErrorCode_countsLowerCaseReason() {
    metrics.sessionStartFailed(AgentCubeException.stackless(ErrorCode.POOL_EXHAUSTED, "full"));
    metrics.sessionStartFailed(AgentCubeException.stackless(ErrorCode.POOL_EXHAUSTED, "full"));
    metrics.sessionStartFailed(new IllegalStateException("bug"));
    assertThat(sample("agentcube_session_start_failures_total{reason=\"pool_exhausted\"}")).isEqualTo(2.0);
    assertThat(sample("agentcube_session_start_failures_total{reason=\"internal\"}")).isEqualTo(1.0);
  }

  @Test
  void poolOpened_runtimeSeriesAtZero_thenStartsCountedByOutcome() {
    RuntimeDefinition python = def(RuntimeKind.CODE_INTERPRETER, "python", 2);
    metrics.poolOpened(pool(python, 1));
    String rt = "runtime=\"default/python\"";
    assertThat(sample("agentcube_warm_pool_ready{kind=\"CodeInterpreter\"," + rt + ",version=\"v1\"}"))
        .isEqualTo(1.0);
    assertThat(sample("agentcube_warm_pool_desired{kind=\"CodeInterpreter\"," + rt + ",version=\"v1\"}"))
        .isEqualTo(2.0);
    assertThat(sample("agentcube_sandbox_starts_total{" + rt + "}")).isEqualTo(0.0);
    assertThat(sample("agentcube_sandbox_start_failures_total{reason=\"timeout\"," + rt + "}")).isEqualTo(0.0);
    assertThat(sample("agentcube_executions_total{outcome=\"failed\"," + rt + "}")).isEqualTo(0.0);

    metrics.sandboxStarted(python, 30_000_000, null);
    metrics.sandboxStarted(python, 60_000_000, AgentCubeException.stackless(ErrorCode.COLD_START_TIMEOUT, "late"));
    metrics.sandboxStarted(python, 1_000_000, new RuntimeException("exec failed"));
    assertThat(sample("agentcube_sandbox_starts_total{" + rt + "}")).isEqualTo(3.0);
    assertThat(sample("agentcube_sandbox_start_failures_total{reason=\"timeout\"," + rt + "}")).isEqualTo(1.0);
    assertThat(sample("agentcube_sandbox_start_failures_total{reason=\"error\"," + rt + "}")).isEqualTo(1.0);
    // Only the successful start is timed: 30 ms is above the 25 ms bucket, within 50 ms.
    assertThat(sample("agentcube_sandbox_start_duration_seconds_count{" + rt + "}")).isEqualTo(1.0);
    assertThat(sample("agentcube_sandbox_start_duration_seconds_bucket{" + rt + ",le=\"0.025\"}")).isEqualTo(0.0);
    assertThat(sample("agentcube_sandbox_start_duration_seconds_bucket{" + rt + ",le=\"0.05\"}")).isEqualTo(1.0);
  }

  @Test
  void poolClosed_removesItsGauges_keepsTheRuntimeCounters() {
    RuntimeDefinition python = def(RuntimeKind.CODE_INTERPRETER, "python", 2);
    PoolView p = pool(python, 1);
    metrics.poolOpened(p);
    metrics.poolClosed(p);
    assertThat(registry.scrape()).doesNotContain("agentcube_warm_pool_ready{")
        .contains("agentcube_sandbox_starts_total{runtime=\"default/python\"}");
  }

  @Test
  void executionEnded_byStatus_okRejectedFailed_onlyForCodeInterpreters() {
    RuntimeDefinition python = def(RuntimeKind.CODE_INTERPRETER, "python", 0);
    RuntimeDefinition echo = def(RuntimeKind.AGENT_RUNTIME, "echo", 0);
    metrics.executionEnded(python, 200, 1_000_000);
    metrics.executionEnded(python, 200, 1_000_000);
    metrics.executionEnded(python, 401, 1_000_000);
    metrics.executionEnded(python, 504, 1_000_000);
    metrics.executionEnded(echo, 200, 1_000_000);
    String rt = "runtime=\"default/python\"";
    assertThat(sample("agentcube_executions_total{outcome=\"ok\"," + rt + "}")).isEqualTo(2.0);
    assertThat(sample("agentcube_executions_total{outcome=\"rejected\"," + rt + "}")).isEqualTo(1.0);
    assertThat(sample("agentcube_executions_total{outcome=\"failed\"," + rt + "}")).isEqualTo(1.0);
    assertThat(sample("agentcube_execution_duration_seconds_count{" + rt + "}")).isEqualTo(4.0);
    assertThat(registry.scrape()).doesNotContain("agentcube_executions_total{outcome=\"ok\",runtime=\"default/echo\"}")
        .doesNotContain("agentcube_execution_duration_seconds_count{runtime=\"default/echo\"}");
  }

  @Test
  void observe_backendCalls_timedByOperation_errorsCounted_leaderExported() {
    AtomicReference<BackendCalls> calls = new AtomicReference<>();
    metrics.observe(backend("kubernetes", calls));
    assertThat(sample("agentcube_leader")).isEqualTo(1.0); // LOCAL: always the one that reaps
    calls.get().completed("pod_create", 20_000_000, null);
    String op = "backend=\"kubernetes\",operation=\"pod_create\"";
    assertThat(sample("agentcube_backend_call_errors_total{" + op + "}")).isEqualTo(0.0);
    calls.get().completed("pod_create", 3_000_000_000L, new RuntimeException("409"));
    assertThat(sample("agentcube_backend_call_errors_total{" + op + "}")).isEqualTo(1.0);
    assertThat(sample("agentcube_backend_call_duration_seconds_count{" + op + "}")).isEqualTo(2.0);
    assertThat(sample("agentcube_backend_call_duration_seconds_bucket{" + op + ",le=\"2.5\"}")).isEqualTo(1.0);
  }

  @Test
  void requestsAndSessions_recorded() {
    metrics.requestStarted();
    assertThat(sample("agentcube_requests_in_flight")).isEqualTo(1.0);
    metrics.requestEnded(Route.INVOKE_CODE_INTERPRETER, 503, 1_000_000);
    assertThat(sample("agentcube_requests_in_flight")).isEqualTo(0.0);
    assertThat(sample("agentcube_requests_total{code=\"503\",route=\"invoke_code_interpreter\"}")).isEqualTo(1.0);
    metrics.sessionCreated(LaunchType.COLD, 2_000_000_000L);
    metrics.sessionEnded(EndReason.IDLE);
    assertThat(sample("agentcube_sessions_launched_total{launch_type=\"cold\"}")).isEqualTo(1.0);
    assertThat(sample("agentcube_session_start_duration_seconds_bucket{launch_type=\"cold\",le=\"2.5\"}"))
        .isEqualTo(1.0);
    assertThat(sample("agentcube_sessions_ended_total{reason=\"idle\"}")).isEqualTo(1.0);
  }
}
