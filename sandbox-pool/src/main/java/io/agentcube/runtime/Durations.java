package io.agentcube.runtime;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations in Kubernetes/Go syntax: a sequence of decimal numbers each with a unit, such as
 * {@code 300ms}, {@code 90s}, {@code 15m}, {@code 1h30m}. Units: ns, us (or µs), ms, s, m, h.
 */
public final class Durations {

  /** The pattern CRD validation uses too. */
  public static final String PATTERN = "^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$";

  private static final Pattern WHOLE = Pattern.compile(PATTERN);
  private static final Pattern PART = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)(ns|us|µs|ms|s|m|h)");

  private Durations() {}

  /**
   * Parses {@code text}.
   *
   * @throws IllegalArgumentException naming the text when it is not a duration
   */
  public static Duration parse(String text) {
    if (text == null || !WHOLE.matcher(text).matches()) {
      throw new IllegalArgumentException(
          "not a duration: '" + text + "' (use e.g. 90s, 15m, 1h30m, 500ms)");
    }
    Matcher m = PART.matcher(text);
    double nanos = 0;
    while (m.find()) {
      double value = Double.parseDouble(m.group(1));
      nanos += value * unitNanos(m.group(2));
    }
    if (nanos > Long.MAX_VALUE) {
      throw new IllegalArgumentException("duration too long: '" + text + "'");
    }
    return Duration.ofNanos(Math.round(nanos));
  }

  private static long unitNanos(String unit) {
    return switch (unit) {
      case "ns" -> 1L;
      case "us", "µs" -> 1_000L;
      case "ms" -> 1_000_000L;
      case "s" -> 1_000_000_000L;
      case "m" -> 60_000_000_000L;
      case "h" -> 3_600_000_000_000L;
      default -> throw new IllegalArgumentException("unit " + unit);
    };
  }

  /** Formats {@code d} the way Go prints it, e.g. {@code 1h30m0s}, {@code 1.5s}, {@code 250ms}. */
  public static String format(Duration d) {
    long nanos = d.toNanos();
    if (nanos == 0) {
      return "0s";
    }
    if (nanos < 1_000_000_000L) {
      if (nanos % 1_000_000L == 0) {
        return nanos / 1_000_000L + "ms";
      }
      return trim(nanos / 1_000_000.0) + "ms";
    }
    long hours = d.toHours();
    long minutes = d.toMinutesPart();
    long secondsNanos = nanos - hours * 3_600_000_000_000L - minutes * 60_000_000_000L;
    StringBuilder sb = new StringBuilder();
    if (hours > 0) {
      sb.append(hours).append('h');
    }
    if (hours > 0 || minutes > 0) {
      sb.append(minutes).append('m');
    }
    sb.append(trim(secondsNanos / 1e9)).append('s');
    return sb.toString();
  }

  private static String trim(double v) {
    if (v == Math.rint(v)) {
      return Long.toString((long) v);
    }
    return java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
  }
}
