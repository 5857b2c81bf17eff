package io.agentcube.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

class DurationsTest {

  @ParameterizedTest
  @CsvSource({
      "90s, PT1M30S",
      "15m, PT15M",
      "8h, PT8H",
      "1h30m, PT1H30M",
      "2h45m30s, PT2H45M30S",
      "500ms, PT0.5S",
      "1.5s, PT1.5S",
      "0.25h, PT15M",
      "100us, PT0.0001S",
      "100µs, PT0.0001S",
      "10ns, PT0.00000001S",
      "1m0.5s, PT1M0.5S",
      "0s, PT0S"})
  void parse_goSyntax_returnsDuration(String text, Duration expected) {
    assertThat(Durations.parse(text)).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "15", "m", "1d", "-1s", "1.s", ".5s", " 1s", "1s ", "1 s", "1S", "1h-30m",
      "PT1M", "1m30"})
  void parse_notAGoDuration_failsNamingText(String text) {
    assertThatThrownBy(() -> Durations.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("not a duration: '" + text + "'");
  }

  @ParameterizedTest
  @NullSource
  void parse_null_failsAsNotADuration(String text) {
    assertThatThrownBy(() -> Durations.parse(text)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a duration");
  }

  @ParameterizedTest
  @CsvSource({
      "PT0S, 0s",
      "PT0.5S, 500ms",
      "PT0.00125S, 1.25ms",
      "PT1S, 1s",
      "PT1.5S, 1.5s",
      "PT1M30S, 1m30s",
      "PT15M, 15m0s",
      "PT1H30M, 1h30m0s",
      "PT8H, 8h0m0s",
      "PT26H0.1S, 26h0m0.1s"})
  void format_duration_printsLikeGo(Duration d, String expected) {
    assertThat(Durations.format(d)).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(strings = {"0s", "1ms", "750ms", "1.5s", "59s", "90s", "15m", "1h30m", "8h", "49h0m0.001s"})
  void format_thenParse_givesSameDuration(String text) {
    Duration d = Durations.parse(text);

    assertThat(Durations.parse(Durations.format(d))).isEqualTo(d);
  }
}
