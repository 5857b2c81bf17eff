package io.agentcube.sandboxd;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;

/**
 * Go's {@code time.Duration} text form, which PicoD clients send as the execute timeout
 * ({@code "90s"}, {@code "1m30s"}, {@code "500ms"}, {@code "1.5h"}). As an extension a bare
 * number is read as seconds ({@code "2"}, {@code "0.5"}), because some clients send the number.
 *
 * <p>Pure functions; thread-safe.
 */
final class GoDuration {

  private GoDuration() {}

  /**
   * Parses {@code text}.
   *
   * @throws IllegalArgumentException naming the bad input when it is not a duration
   */
  static Duration parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("empty duration");
    }
    String s = text.strip();
    boolean negative = false;
    if (s.charAt(0) == '-' || s.charAt(0) == '+') {
      negative = s.charAt(0) == '-';
      s = s.substring(1);
    }
    if (isPlainNumber(s)) {
      return sign(toNanos(new BigDecimal(s), 1_000_000_000L), negative, text);
    }
    if (s.equals("0")) {
      return Duration.ZERO;
    }
    BigDecimal totalNanos = BigDecimal.ZERO;
    int i = 0;
    if (s.isEmpty()) {
      throw invalid(text);
    }
    while (i < s.length()) {
      int numStart = i;
      while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) {
        i++;
      }
      String number = s.substring(numStart, i);
      if (number.isEmpty() || number.equals(".") || number.indexOf('.') != number.lastIndexOf('.')) {
        throw invalid(text);
      }
      int unitStart = i;
      while (i < s.length() && !Character.isDigit(s.charAt(i)) && s.charAt(i) != '.') {
        i++;
      }
      long unitNanos = unitNanos(s.substring(unitStart, i), text);
      totalNanos = totalNanos.add(new BigDecimal(number).multiply(BigDecimal.valueOf(unitNanos)));
    }
    return sign(totalNanos.setScale(0, RoundingMode.DOWN), negative, text);
  }

  /**
   * Formats like Go's {@code Duration.String()}: {@code "1h2m3.5s"}, {@code "1.5s"},
   * {@code "250ms"}, {@code "0s"}.
   */
  static String format(Duration d) {
    long nanos = d.toNanos();
    if (nanos == 0) {
      return "0s";
    }
    StringBuilder out = new StringBuilder();
    if (nanos < 0) {
      out.append('-');
      nanos = -nanos;
    }
    if (nanos < 1_000L) {
      return out.append(nanos).append("ns").toString();
    }
    if (nanos < 1_000_000L) {
      return out.append(decimal(nanos, 1_000L)).append("µs").toString();
    }
    if (nanos < 1_000_000_000L) {
      return out.append(decimal(nanos, 1_000_000L)).append("ms").toString();
    }
    long hours = nanos / 3_600_000_000_000L;
    long rest = nanos % 3_600_000_000_000L;
    long minutes = rest / 60_000_000_000L;
    rest = rest % 60_000_000_000L;
    if (hours > 0) {
      out.append(hours).append('h');
    }
    if (hours > 0 || minutes > 0) {
      out.append(minutes).append('m');
    }
    return out.append(decimal(rest, 1_000_000_000L)).append('s').toString();
  }

  private static String decimal(long value, long unit) {
    return BigDecimal.valueOf(value)
        .divide(BigDecimal.valueOf(unit))
        .stripTrailingZeros()
        .toPlainString();
  }

  private static boolean isPlainNumber(String s) {
    if (s.isEmpty()) {
      return false;
    }
    int dots = 0;
    int digits = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '.') {
        dots++;
      } else if (Character.isDigit(c)) {
        digits++;
      } else {
        return false;
      }
    }
    return dots <= 1 && digits > 0;
  }

  private static long unitNanos(String unit, String text) {
    switch (unit) {
      case "ns":
        return 1L;
      case "us":
      case "µs": // U+00B5 micro sign
      case "μs": // U+03BC Greek mu
        return 1_000L;
      case "ms":
        return 1_000_000L;
      case "s":
        return 1_000_000_000L;
      case "m":
        return 60_000_000_000L;
      case "h":
        return 3_600_000_000_000L;
      default:
        throw new IllegalArgumentException(
            unit.isEmpty()
                ? "missing unit in duration \"" + text + "\""
                : "unknown unit \"" + unit + "\" in duration \"" + text + "\"");
    }
  }

  private static BigDecimal toNanos(BigDecimal value, long unitNanos) {
    return value.multiply(BigDecimal.valueOf(unitNanos)).setScale(0, RoundingMode.DOWN);
  }

  private static Duration sign(BigDecimal nanos, boolean negative, String text) {
    if (nanos.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
      throw new IllegalArgumentException("duration out of range: \"" + text + "\"");
    }
    long n = nanos.longValueExact();
    return Duration.ofNanos(negative ? -n : n);
  }

  private static IllegalArgumentException invalid(String text) {
    return new IllegalArgumentException("invalid duration \"" + text + "\"");
  }
}
