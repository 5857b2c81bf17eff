package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.json;
import static io.agentcube.proxy.ProxyFixture.sessionId;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.agentcube.session.SessionIds;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Issue 11 item 7: a session id is a bearer credential (with {@code auth.mode: none}), so logs at
 * INFO and above show only its prefix, through a whole session's life.
 */
class LogRedactionIT {

  @TempDir
  Path tmp;

  @Test
  void sessionLife_infoLogsShowOnlyTheIdsPrefix() throws Exception {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    root.addAppender(logs);
    Logger ours = (Logger) LoggerFactory.getLogger("io.agentcube");
    Level before = ours.getLevel();
    ours.setLevel(Level.DEBUG); // the tests' logback config says WARN; production says INFO
    Path runtimes = tmp.resolve("runtimes");
    TestRuntimes.write(runtimes, "echo.yaml", TestRuntimes.echo("echo", 0, "15m", "8h"));
    String id;
    try (ProxyFixture f = ProxyFixture.start(runtimes, tmp.resolve("state"), false, Map.of())) {
      var first = f.get(ProxyFixture.invoke("echo", "/hello"), null);
      json(first, 200);
      id = sessionId(first);
      json(f.get(ProxyFixture.invoke("echo", "/again"), id), 200);
      assertThat(f.send("DELETE", "/v1/sessions/" + id, null, null).statusCode()).isIn(200, 204);
    } finally {
      root.detachAppender(logs);
      ours.setLevel(before);
    }

    assertThat(id).hasSizeGreaterThanOrEqualTo(22); // 136 random bits
    List<String> visible = logs.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.INFO))
        .map(ILoggingEvent::getFormattedMessage).toList();
    assertThat(visible).noneMatch(m -> m.contains(id));
    // It was logged, as its prefix: created and ended.
    assertThat(visible).filteredOn(m -> m.contains(SessionIds.redact(id)))
        .anyMatch(m -> m.startsWith("session created")).anyMatch(m -> m.startsWith("session ended"));
  }
}
