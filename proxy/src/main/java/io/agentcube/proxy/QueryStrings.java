package io.agentcube.proxy;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/** Small operations on raw query strings that keep every other parameter byte for byte. */
final class QueryStrings {

  private QueryStrings() {}

  /** The decoded value of the first parameter {@code name}, or {@code null}. */
  static String get(String query, String name) {
    for (String part : query.split("&")) {
      int eq = part.indexOf('=');
      String key = eq < 0 ? part : part.substring(0, eq);
      if (key.equals(name)) {
        return eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8);
      }
    }
    return null;
  }

  /** {@code query} without any {@code name} parameter, in the original order and encoding. */
  static String remove(String query, String name) {
    StringBuilder sb = new StringBuilder(query.length());
    for (String part : query.split("&")) {
      int eq = part.indexOf('=');
      String key = eq < 0 ? part : part.substring(0, eq);
      if (!key.equals(name) && !part.isEmpty()) {
        if (sb.length() > 0) {
          sb.append('&');
        }
        sb.append(part);
      }
    }
    return sb.toString();
  }
}
