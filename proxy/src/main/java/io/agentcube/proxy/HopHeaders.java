package io.agentcube.proxy;

import io.netty.util.AsciiString;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Copies a message head from one side of the proxy to the other without the headers that belong
 * to one connection (RFC 9110 §7.6.1): the fixed hop-by-hop set, plus every name the message's own
 * {@code Connection} header lists. Names and values are copied as the decoder produced them
 * ({@link CharSequence}s, no {@code String} per header); comparisons ignore case.
 */
final class HopHeaders {

  private static final AsciiString[] ALWAYS = {
      AsciiString.cached("connection"), AsciiString.cached("keep-alive"),
      AsciiString.cached("proxy-connection"), AsciiString.cached("proxy-authenticate"),
      AsciiString.cached("proxy-authorization"), AsciiString.cached("te"),
      AsciiString.cached("trailer"), AsciiString.cached("transfer-encoding"),
      AsciiString.cached("upgrade")};
  /** Also not forwarded on requests: the sandbox gets its own Host; 100-continue is answered here. */
  private static final AsciiString HOST = AsciiString.cached("host");
  private static final AsciiString EXPECT = AsciiString.cached("expect");

  private HopHeaders() {}

  /** Request head: everything end-to-end except {@code Host} and {@code Expect}. */
  static void copyRequest(MultiMap from, MultiMap to) {
    copy(from, to, true);
  }

  /** Response head: everything end-to-end. */
  static void copyResponse(MultiMap from, MultiMap to) {
    copy(from, to, false);
  }

  private static void copy(MultiMap from, MultiMap to, boolean request) {
    List<String> listed = listedInConnection(from.get(HttpHeaders.CONNECTION));
    if (from instanceof io.netty.handler.codec.http.HttpHeaders netty) {
      // Vert.x's headers are Netty's: iterate without converting every name and value to String.
      Iterator<Map.Entry<CharSequence, CharSequence>> it = netty.iteratorCharSequence();
      while (it.hasNext()) {
        Map.Entry<CharSequence, CharSequence> h = it.next();
        if (forwarded(h.getKey(), request, listed)) {
          to.add(h.getKey(), h.getValue());
        }
      }
    } else {
      for (Map.Entry<String, String> h : from) {
        if (forwarded(h.getKey(), request, listed)) {
          to.add(h.getKey(), h.getValue());
        }
      }
    }
  }

  private static boolean forwarded(CharSequence name, boolean request, List<String> listed) {
    for (AsciiString hop : ALWAYS) {
      if (hop.length() == name.length() && hop.contentEqualsIgnoreCase(name)) {
        return false;
      }
    }
    if (request && (HOST.contentEqualsIgnoreCase(name) || EXPECT.contentEqualsIgnoreCase(name))) {
      return false;
    }
    if (listed != null) {
      for (String extra : listed) {
        if (AsciiString.contentEqualsIgnoreCase(extra, name)) {
          return false;
        }
      }
    }
    return true;
  }

  /** Names a {@code Connection} header lists beyond the usual keep-alive/close/upgrade; null if none. */
  private static List<String> listedInConnection(String connection) {
    if (connection == null) {
      return null;
    }
    List<String> listed = null;
    for (String token : connection.split(",")) {
      String name = token.trim();
      if (name.isEmpty() || name.equalsIgnoreCase("keep-alive") || name.equalsIgnoreCase("close")
          || name.equalsIgnoreCase("upgrade")) {
        continue;
      }
      if (listed == null) {
        listed = new ArrayList<>(2);
      }
      listed.add(name);
    }
    return listed;
  }
}
