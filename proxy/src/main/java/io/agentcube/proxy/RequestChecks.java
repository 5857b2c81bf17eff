package io.agentcube.proxy;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import java.util.List;

/**
 * The RFC 9112 rules on a request head that Netty's decoder does not enforce itself, checked once
 * per request before anything is routed or forwarded: a message whose framing or target could be
 * read two ways is refused (and its connection closed), never passed on with a guess that a
 * sandbox might not share (request smuggling).
 *
 * <ul>
 *   <li>Transfer-Encoding: chunked must be the final coding, once (else 400: the body length is
 *       unknown, §6.3); any other coding is 501 (only chunked is implemented); with
 *       Content-Length as well, 400 (§6.1: a sender must not, and it is the classic desync).
 *   <li>Content-Length: one value of digits only (Netty rejects most other forms first).
 *   <li>Host: exactly one in HTTP/1.1, at most one in HTTP/1.0 (§3.2), of the characters an
 *       authority may have (an obs-folded {@code Host: x\r\n y} is {@code "x y"}).
 *   <li>Request target: visible ASCII only; no {@code #} (a fragment is never sent, §3.2), no
 *       NUL or other control character, and every {@code %} followed by two hex digits.
 * </ul>
 *
 * <p>Hand-written because no library offers these checks on a Vert.x request; each rule has a
 * test in {@code ProtocolStrictnessIT} and {@code RequestChecksTest}.
 */
final class RequestChecks {

  private RequestChecks() {}

  /** What is wrong with {@code req}'s head, or null when nothing is. */
  static AgentCubeException violation(HttpServerRequest req) {
    return violation(req.version(), req.uri(), req.headers());
  }

  static AgentCubeException violation(HttpVersion version, String uri, MultiMap headers) {
    AgentCubeException form = target(uri);
    if (form != null) {
      return form;
    }
    List<String> hosts = headers.getAll(HttpHeaders.HOST);
    if (hosts.size() > 1) {
      return bad("more than one Host header");
    }
    if (hosts.isEmpty() && version == HttpVersion.HTTP_1_1) {
      return bad("an HTTP/1.1 request needs a Host header");
    }
    if (hosts.size() == 1 && !hostChars(hosts.get(0))) {
      return bad("invalid Host header");
    }
    List<String> codings = headers.getAll(HttpHeaders.TRANSFER_ENCODING);
    if (!codings.isEmpty()) {
      if (headers.contains(HttpHeaders.CONTENT_LENGTH)) {
        return bad("both Content-Length and Transfer-Encoding: the body length is ambiguous");
      }
      AgentCubeException e = transferCodings(codings);
      if (e != null) {
        return e;
      }
    }
    List<String> lengths = headers.getAll(HttpHeaders.CONTENT_LENGTH);
    if (lengths.size() > 1) {
      return bad("more than one Content-Length header");
    }
    if (lengths.size() == 1 && !digits(lengths.get(0))) {
      return bad("Content-Length is not a number of bytes");
    }
    return null;
  }

  /** The request target's form and characters, percent-encoding included; null when valid. */
  static AgentCubeException target(String uri) {
    AgentCubeException form = targetForm(uri);
    if (form != null) {
      return form;
    }
    for (int i = 0; i < uri.length(); i++) {
      char c = uri.charAt(i);
      if (c <= 0x20 || c >= 0x7f || c == '#') {
        return bad("invalid character in the request target at index " + i
            + (c == '#' ? " ('#': a fragment is never sent)" : ""));
      }
      if (c == '%' && (i + 2 >= uri.length() || !hex(uri.charAt(i + 1)) || !hex(uri.charAt(i + 2)))) {
        return bad("invalid percent-encoding in the request target at index " + i);
      }
    }
    return null;
  }

  /**
   * The request target's form (RFC 9112 §3.2): a path ({@code /...}), an absolute URI
   * ({@code http://authority/...}, whose authority must be a valid host), or {@code *}.
   */
  private static AgentCubeException targetForm(String uri) {
    if (uri.startsWith("/") || uri.equals("*")) {
      return null;
    }
    String lower = uri.length() > 8 ? uri.substring(0, 8).toLowerCase(java.util.Locale.ROOT) : uri.toLowerCase(java.util.Locale.ROOT);
    int scheme = lower.startsWith("http://") ? 7 : lower.startsWith("https://") ? 8 : -1;
    if (scheme < 0) {
      return bad("the request target must be a path starting with '/'");
    }
    int end = uri.length();
    for (int i = scheme; i < uri.length(); i++) {
      char c = uri.charAt(i);
      if (c == '/' || c == '?') {
        end = i;
        break;
      }
    }
    String authority = uri.substring(scheme, end);
    if (authority.isEmpty() || authority.indexOf('@') >= 0 || !hostChars(authority)) {
      return bad("invalid authority in the request target");
    }
    return null;
  }

  /** The codings of every Transfer-Encoding field, in order: chunked once and last, nothing else. */
  private static AgentCubeException transferCodings(List<String> fields) {
    int chunked = 0;
    boolean chunkedLast = false;
    String unknown = null;
    for (String field : fields) {
      for (String raw : field.split(",", -1)) {
        String coding = raw.strip();
        if (coding.isEmpty()) {
          continue; // empty list elements are allowed (RFC 9110 §5.6.1)
        }
        if (coding.equalsIgnoreCase("chunked")) {
          chunked++;
          chunkedLast = true;
        } else {
          chunkedLast = false;
          if (unknown == null) {
            unknown = coding;
          }
        }
      }
    }
    if (!chunkedLast || chunked > 1) {
      return bad("Transfer-Encoding must end with chunked, once: the body length is unknown");
    }
    if (unknown != null) {
      return AgentCubeException.stackless(ErrorCode.NOT_IMPLEMENTED,
          "transfer coding not implemented (only chunked is): " + printable(unknown));
    }
    return null;
  }

  /**
   * Whether {@code host} is {@code uri-host [":" port]} (RFC 9110 §7.2, RFC 3986): a reg-name of
   * unreserved and sub-delims (no percent-encodings: no real host name has one, and Vert.x's
   * authority parser throws on {@code %00}), or a bracketed IP literal, then an optional port
   * of 1 to 5 digits. Empty is allowed (a target without authority). Nothing a later parse of the
   * authority would choke on (a space, a slash, {@code :x}) gets through.
   */
  static boolean hostChars(String host) {
    if (host.isEmpty()) {
      return true;
    }
    int end;
    if (host.charAt(0) == '[') {
      end = host.indexOf(']');
      if (end < 2) {
        return false;
      }
      for (int i = 1; i < end; i++) {
        char c = host.charAt(i);
        if (!(hex(c) || c == ':' || c == '.')) {
          return false;
        }
      }
      end++;
    } else {
      end = host.indexOf(':');
      end = end < 0 ? host.length() : end;
      if (end == 0) {
        return false;
      }
      for (int i = 0; i < end; i++) {
        char c = host.charAt(i);
        boolean ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
            || "-._~!$&'()*+,;=".indexOf(c) >= 0; // no '%': Vert.x's own parse throws on "%00"
        if (!ok) {
          return false;
        }
      }
    }
    if (end == host.length()) {
      return true;
    }
    String port = host.substring(end + 1);
    return host.charAt(end) == ':' && !port.isEmpty() && port.length() <= 5 && digits(port)
        && Integer.parseInt(port) <= 65535;
  }

  private static boolean hex(char c) {
    return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F';
  }

  private static boolean digits(String s) {
    if (s.isEmpty() || s.length() > 18) {
      return false; // 18 digits: below Long.MAX_VALUE
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  /** At most 40 visible ASCII characters of a client's value, for an error message. */
  private static String printable(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && b.length() < 40; i++) {
      char c = s.charAt(i);
      b.append(c > 0x20 && c < 0x7f ? c : '?');
    }
    return b.toString();
  }

  private static AgentCubeException bad(String message) {
    return AgentCubeException.stackless(ErrorCode.BAD_REQUEST, message);
  }
}
