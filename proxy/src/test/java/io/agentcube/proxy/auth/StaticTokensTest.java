package io.agentcube.proxy.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.proxy.config.ConfigException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class StaticTokensTest {

  private static final String A = "aaaaaaaaaaaaaaaa-1";
  private static final String B = "bbbbbbbbbbbbbbbb-2";

  @Test
  void parse_commentsBlankLinesAndRoles_areRead() {
    StaticTokens t = StaticTokens.parse(List.of("# comment", "", "  " + A + "\talice   admin,user  ",
        B + " bob"), "test");
    assertThat(t.size()).isEqualTo(2);
    assertThat(t.verify(A).result()).isEqualTo(new Identity("alice", Set.of("admin", "user"), null));
    assertThat(t.verify(B).result().roles()).isEmpty();
  }

  @Test
  void verify_nearMiss_isRejected() {
    StaticTokens t = StaticTokens.parse(List.of(A + " alice"), "test");
    for (String guess : List.of(A.substring(1), A + "x", A.replace('1', '2'), A.toUpperCase(), "")) {
      AgentCubeException e = (AgentCubeException) t.verify(guess).cause();
      assertThat(e.code()).as(guess).isEqualTo(ErrorCode.UNAUTHENTICATED);
    }
  }

  @Test
  void parse_badLines_failNamingFileAndLine() {
    assertThatThrownBy(() -> StaticTokens.parse(List.of("# x", A), "f")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("auth.tokensFile: f line 2");
    assertThatThrownBy(() -> StaticTokens.parse(List.of(A + " a b c"), "f")).hasMessageContaining("4 field(s)");
    assertThatThrownBy(() -> StaticTokens.parse(List.of("short alice"), "f")).hasMessageContaining("shorter than 16");
    assertThatThrownBy(() -> StaticTokens.parse(List.of(A + " a", A + " b"), "f")).hasMessageContaining("twice");
    assertThatThrownBy(() -> StaticTokens.parse(List.of("# only comments"), "f")).hasMessageContaining("no token");
  }

  @Test
  void load_missingFile_failsNamingTheKey() {
    assertThatThrownBy(() -> StaticTokens.load(Path.of("/nonexistent/tokens")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("auth.tokensFile: cannot read /nonexistent/tokens");
  }
}
