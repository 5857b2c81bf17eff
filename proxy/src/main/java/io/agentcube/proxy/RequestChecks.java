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
 *   <li>Host: exactly one in HTTP/1.1, at most one in HTTP/1.0 (§3.2).
 *   <li>Request target: visible ASCII only; no {@code #} (a fragment is never sent, §3.2) and no
 *       NUL or other control character.
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
    for (int i = 0; i < uri.length(); i++) {
      char c = uri.charAt(i);
      if (c <= 0x20 || c >= 0x7f || c == '#') {
        return bad("invalid character in the request target at index " + i
            + (c == '#' ? " ('#': a fragment is never sent)" : ""));
      }
    }
    List<String> hosts = headers.getAll(HttpHeaders.HOST);
    if (hosts.size() > 1) {
      return bad("more than one Host header");
    }
    if (hosts.isEmpty() && version == HttpVersion.HTTP_1_1) {
      return bad("an HTTP/1.1 request needs a Host header");
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
