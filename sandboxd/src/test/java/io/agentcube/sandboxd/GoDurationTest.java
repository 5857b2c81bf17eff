package io.agentcube.sandboxd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class GoDurationTest {

  @ParameterizedTest
  @CsvSource({
    "90s, 90000", "1m30s, 90000", "500ms, 500", "1.5s, 1500", "1h, 3600000", "2h45m, 9900000",
    "0, 0", "2, 2000", "0.25, 250", "1500us, 1", "+3s, 3000", "30.5s, 30500"
  })
  void parse_goSyntaxAndBareSeconds(String text, long millis) {
    assertThat(GoDuration.parse(text).toMillis()).isEqualTo(millis);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "abc", "10", "s", "1x", "1..5s", "1s2", "-"})
  void parse_garbage_throwsNamingInput(String text) {
    if (text.equals("10")) {
      assertThat(GoDuration.parse(text)).isEqualTo(Duration.ofSeconds(10)); // bare number is ok
      return;
    }
    assertThatThrownBy(() -> GoDuration.parse(text)).isInstanceOf(IllegalArgumentException.class);
  }

  @ParameterizedTest
  @CsvSource({"0, 0s", "1500, 1.5s", "90000, 1m30s", "3723000, 1h2m3s", "250, 250ms"})
  void format_likeGo(long millis, String expected) {
    assertThat(GoDuration.format(Duration.ofMillis(millis))).isEqualTo(expected);
  }
}
