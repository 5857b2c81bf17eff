package io.agentcube.proxy.logs;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AccessLogTest {

  private static final String ID = "AbCdEfGhIjKlMnOpQrStUvW";

  @Test
  void redactPath_sessionSegments_showOnlyThePrefix() {
    assertThat(AccessLog.redactPath("/v1/sessions/" + ID)).isEqualTo("/v1/sessions/AbCdEf…");
    assertThat(AccessLog.redactPath("/v1/sessions/" + ID + "/keepalive")).isEqualTo("/v1/sessions/AbCdEf…/keepalive");
    assertThat(AccessLog.redactPath("/v1/code-interpreter/sessions/" + ID)).isEqualTo("/v1/code-interpreter/sessions/AbCdEf…");
    assertThat(AccessLog.redactPath("/v1/sessions")).isEqualTo("/v1/sessions");
    assertThat(AccessLog.redactPath("/v1/sessions/")).isEqualTo("/v1/sessions/");
    assertThat(AccessLog.redactPath("/a/sessions/" + ID + "/sessions/" + ID)).isEqualTo("/a/sessions/AbCdEf…/sessions/AbCdEf…");
    assertThat(AccessLog.redactPath("/health/ready")).isEqualTo("/health/ready");
  }

  @Test
  void printable_controlAndNonAsciiCharacters_becomeQuestionMarks() {
    assertThat(AccessLog.printable("/a\u0000b\nc\u001bd é/sessions/AbCdEf…")).isEqualTo("/a?b?c?d??/sessions/AbCdEf…");
    assertThat(AccessLog.printable("/plain/path?x")).isEqualTo("/plain/path?x");
  }

  @Test
  void requestId_wellFormedFromClient_kept_elseMadeHere() {
    AccessLog log = new AccessLog();

    assertThat(log.requestId("3f2a-9b/x:y=z@w+v.u_t")).isEqualTo("3f2a-9b/x:y=z@w+v.u_t");
    String made1 = log.requestId(null);
    String made2 = log.requestId("has space");
    String made3 = log.requestId("x".repeat(129));
    String made4 = log.requestId("quote\"");
    assertThat(made1).matches("[0-9a-f]+-[0-9a-f]+");
    assertThat(java.util.Set.of(made1, made2, made3, made4)).hasSize(4);
  }
}
