package io.agentcube.sandboxd;

import static io.agentcube.sandboxd.ExecuteApiTest.assertError;
import static io.agentcube.sandboxd.ExecuteApiTest.cmd;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The concurrency cap and the default timeout, on a server configured for them. */
class ExecuteLimitsTest {

  @TempDir Path workspace;

  @Test
  void execute_overConcurrencyCap_returns429WithoutQueueing() {
    try (TestServer server = TestServer.start(workspace, o -> o.maxExecutions(1))) {
      TestClient client = server.authorized();
      Map<String, Object> slow = cmd("bash", "-c", "touch started; sleep 60");
      CompletableFuture.runAsync(() -> client.execute(slow)); // ended by server.close()
      await().until(() -> Files.exists(workspace.resolve("started")));

      assertError(client.execute(cmd("true")), 429, "SERVER_OVERLOADED");
    }
  }

  @Test
  void execute_noTimeoutInRequest_usesConfiguredDefault() {
    try (TestServer server = TestServer.start(workspace,
        o -> o.defaultTimeout(java.time.Duration.ofMillis(500)))) {
      Map<String, Object> body = server.authorized().execute(cmd("sleep", "30")).json();

      assertThat(body).containsEntry("exit_code", 124);
      assertThat((String) body.get("stderr")).contains("Command timed out after 0.5 seconds");
    }
  }
}
