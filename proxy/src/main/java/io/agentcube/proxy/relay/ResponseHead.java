package io.agentcube.proxy.relay;

import static io.agentcube.proxy.relay.HttpBytes.LF;
import static io.agentcube.proxy.relay.HttpBytes.SP;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A strict, incremental parser of one HTTP/1.x response head (RFC 9112 §2-§6, RFC 9110 §5, §8.6)
 * that works in place, the twin of {@link RequestHead}: it records offsets into the caller's
 * buffer and creates no object per header. The sender is a sandbox running untrusted code, so
 * the parser never guesses: whatever it cannot frame exactly is {@link #REJECTED} (the relay
 * answers 502 and closes the sandbox connection).
 *
 * <p><b>Use.</b> One instance per sandbox connection, confined to its event loop. Call {@link
 * #parse} with a buffer whose readable bytes start at the first byte of the response and hold
 * everything received so far; call it again with the same bytes plus more while it answers
 * {@link #NEED_MORE} (it resumes, it does not rescan). {@link #COMPLETE}: the head is the first
 * {@link #headLength()} bytes, every offset is relative to the response's first byte, and
 * {@link #framing(boolean)} says how the body is delimited. {@link #REJECTED}: {@link #reason()}
 * says why. {@link #reset()} before the next response (after a 1xx, or on a kept-alive
 * connection).
 *
 * <p><b>Rules</b> (each has a test named after the case in {@code ResponseHeadTest}):
 *
 * <ul>
 *   <li>Status line: {@code HTTP/1.1} or {@code HTTP/1.0} exactly, one SP, exactly three digits
 *       100-599, then either the line end (a missing reason phrase is accepted) or one SP and a
 *       reason phrase of HTAB / SP / VCHAR / obs-text (possibly empty). Empty lines before it are
 *       refused (a response has no such leniency: they would be bytes of a previous, mis-framed
 *       body). Over {@code maxStatusLine} bytes (CRLF excluded) is refused.
 *   <li>Lines end in CRLF only: a bare LF or a bare CR is refused.
 *   <li>Fields as in {@link RequestHead}: a token name, the colon right after it, optional
 *       whitespace, a value of VCHAR / obs-text / SP / HTAB (NUL, other controls and DEL are
 *       refused); a line starting with whitespace (obs-fold) is refused; the field section, CRLFs
 *       and the final empty line included, over {@code maxHeaderSize} bytes is refused.
 *   <li>Content-Length: every element of every Content-Length field (a comma list) is 1-19
 *       digits fitting a {@code long}; several are accepted only when all are the same digits
 *       (RFC 9110 §8.6; {@code 5} and {@code 05} differ, as they do for Netty), else refused; a
 *       sign, an empty value or element, a non-digit is refused. HTTP/1.0 knows no list (RFC 1945
 *       §10.4: {@code 1*DIGIT}): a comma list in an HTTP/1.0 response is refused, identical
 *       duplicate fields are not.
 *   <li>Transfer-Encoding: refused together with Content-Length, and in an HTTP/1.0 response
 *       (RFC 9112 §6.1: faulty framing). Its codings over all its fields, in order: chunked twice,
 *       or anywhere but last, is refused; chunked last is {@link Framing#CHUNKED}; no chunked is
 *       {@link Framing#UNTIL_CLOSE} (§6.3 rule 4 for a response).
 *   <li>Connection: a comma list of tokens (empty elements allowed, anything else refused); it
 *       must not nominate Content-Length (the relay frames the body by it and forwards it).
 * </ul>
 *
 * <p><b>Framing</b> (RFC 9112 §6.3), see {@link #framing(boolean)}: a 1xx, 204 or 304 response,
 * or any response to HEAD, has no body ({@link Framing#NONE}, whatever its fields say); otherwise
 * chunked, then Content-Length, then read until the sandbox closes.
 *
 * <p><b>Hop-by-hop</b>: {@link #hopByHop(int)} marks Connection, Keep-Alive, Proxy-Connection,
 * Proxy-Authenticate, Proxy-Authorization, TE, Trailer, Transfer-Encoding, Upgrade, and every
 * field a Connection field names (RFC 9110 §7.6.1), names compared case-insensitively.
 *
 * <p>Hand-written for the reason {@link RequestHead} is. {@code ResponseHeadDifferentialTest}
 * checks it against Netty's {@code HttpResponseDecoder}.
 */
public final class ResponseHead {

  /** {@link #parse} result: the bytes so far are a valid prefix of a head. */
  public static final int NEED_MORE = 0;
  /** {@link #parse} result: a complete, valid head. */
  public static final int COMPLETE = 1;
  /** {@link #parse} result: not a valid head; see {@link #reason()}. */
  public static final int REJECTED = 2;

  /** How the body of a complete response is delimited. */
  public enum Framing { NONE, LENGTH, CHUNKED, UNTIL_CLOSE }

  // field names the parser decides on; indices into NAMES, stored per field line in fieldOf
  private static final int F_CONTENT_LENGTH = 0;
  private static final int F_TRANSFER_ENCODING = 1;
  private static final int F_CONNECTION = 2;
  private static final int F_UPGRADE = 3;
  private static final byte[][] NAMES = {
    ascii("content-length"), ascii("transfer-encoding"), ascii("connection"), ascii("upgrade"),
    ascii("keep-alive"), ascii("proxy-connection"), ascii("proxy-authenticate"),
    ascii("proxy-authorization"), ascii("te"), ascii("trailer"),
  };
  private static final byte[] CHUNKED = ascii("chunked");
  private static final byte[] CLOSE = ascii("close");
  private static final byte[] KEEP_ALIVE = ascii("keep-alive");
  private static final byte[] UPGRADE = ascii("upgrade");

  private static final int PHASE_STATUS_LINE = 0;
  private static final int PHASE_FIELDS = 1;
  private static final int PHASE_DONE = 2;
  private static final int PHASE_REJECTED = 3;

  private final int maxStatusLine;
  private final int maxHeaderSize;

  private int phase;
  private int lineStart;
  private int scan;
  private int fieldsStart;
  private int headLength;
  private int status;
  private int versionMinor;

  /** Per field line i: name start, name end, value start, value end at [4i .. 4i+3]. */
  private int[] pos = new int[4 * 32];
  /** Per field line: the index into {@link #NAMES}, or -1. */
  private byte[] fieldOf = new byte[32];
  /** Per field line: not to be forwarded. */
  private boolean[] hop = new boolean[32];
  private int count;
  private final int[] first = new int[NAMES.length];
  private final int[] occurrences = new int[NAMES.length];

  private Framing bodyFraming;
  private long contentLength;
  private boolean close;
  private boolean keepAlive;
  private String reason;

  /**
   * @param maxStatusLine bytes of the status line, CRLF excluded; more is refused
   * @param maxHeaderSize bytes of the field section, its CRLFs and the final empty line included;
   *     more is refused
   */
  public ResponseHead(int maxStatusLine, int maxHeaderSize) {
    if (maxStatusLine < 16 || maxHeaderSize < 16) {
      throw new IllegalArgumentException("limits too small: " + maxStatusLine + ", " + maxHeaderSize);
    }
    this.maxStatusLine = maxStatusLine;
    this.maxHeaderSize = maxHeaderSize;
    reset();
  }

  /** Forgets the previous response; keeps the arrays. */
  public void reset() {
    phase = PHASE_STATUS_LINE;
    lineStart = 0;
    scan = 0;
    fieldsStart = 0;
    headLength = 0;
    status = 0;
    versionMinor = 0;
    count = 0;
    Arrays.fill(first, -1);
    Arrays.fill(occurrences, 0);
    bodyFraming = null;
    contentLength = -1;
    close = false;
    keepAlive = false;
    reason = null;
  }

  /** {@link #parse(ByteBuf)} on {@code len} bytes of {@code bytes} from {@code off}. */
  public int parse(byte[] bytes, int off, int len) {
    return parse(Unpooled.wrappedBuffer(bytes, off, len));
  }

  /**
   * Parses the readable bytes of {@code buf} (not moving its indices), resuming after the bytes
   * of the previous call, which must be the same.
   *
   * @return {@link #NEED_MORE}, {@link #COMPLETE} or {@link #REJECTED}; the same answer again once
   *     complete or rejected, until {@link #reset()}
   */
  public int parse(ByteBuf buf) {
    if (phase == PHASE_DONE) {
      return COMPLETE;
    }
    if (phase == PHASE_REJECTED) {
      return REJECTED;
    }
    final int base = buf.readerIndex();
    final int avail = buf.readableBytes();
    HeadScratch scratch = HeadScratch.get();
    // A message not scanned yet copies from its first byte (so does one whose first byte is a CR
    // waiting for its LF: a copy again, no harm).
    scratch.claim(this, scan == 0);
    while (true) {
      boolean statusLine = phase == PHASE_STATUS_LINE;
      // the furthest a CR may sit and the line still be within its limit
      int limit = statusLine ? maxStatusLine : fieldsStart + maxHeaderSize - 2;
      int searchEnd = Math.min(avail, limit + 1);
      int found = scratch.findCrlf(buf, base, scan, searchEnd);
      if (found < 0) {
        if (avail > limit) {
          return reject(statusLine
              ? "status line longer than the limit" : "header fields larger than the limit");
        }
        scan = avail;
        return NEED_MORE;
      }
      int at = found;
      if (scratch.bytes[at] == LF) {
        return reject("bare LF as a line end (only CRLF ends a line)");
      }
      if (at + 1 >= avail) {
        scan = at; // the CR: look again when its LF may have come
        return NEED_MORE;
      }
      scratch.hold(buf, base, at + 2);
      byte[] a = scratch.bytes;
      if (a[at + 1] != LF) {
        return reject("bare CR in the response head");
      }
      int end = at;
      scan = at + 2;
      int r = line(a, lineStart, end);
      lineStart = scan;
      if (r != NEED_MORE) {
        return r;
      }
    }
  }

  private int line(byte[] a, int start, int end) {
    if (phase == PHASE_STATUS_LINE) {
      int r = statusLine(a, start, end);
      if (r != NEED_MORE) {
        return r;
      }
      phase = PHASE_FIELDS;
      fieldsStart = scan;
      return NEED_MORE;
    }
    if (end == start) {
      headLength = scan;
      return finish(a);
    }
    return fieldLine(a, start, end);
  }

  private int statusLine(byte[] a, int start, int end) {
    if (end == start) {
      return reject("empty line before the status line");
    }
    if (end - start < 12 || !HttpBytes.startsWith(a, start, "HTTP/1.")
        || (a[start + 7] != '0' && a[start + 7] != '1')
        || a[start + 8] != SP) {
      return reject("not an HTTP/1.1 or HTTP/1.0 status line");
    }
    versionMinor = a[start + 7] - '0';
    int c = start + 9;
    byte d0 = a[c];
    byte d1 = a[c + 1];
    byte d2 = a[c + 2];
    if (!digit(d0) || !digit(d1) || !digit(d2)) {
      return reject("the status code is not three digits");
    }
    int code = (d0 - '0') * 100 + (d1 - '0') * 10 + (d2 - '0');
    if (code < 100 || code > 599) {
      return reject("the status code is not in 100-599");
    }
    int i = start + 12;
    if (i < end) {
      if (a[i] != SP) {
        return reject("the status code is not three digits");
      }
      if (HttpBytes.scanTo(a, i + 1, end, HttpBytes.VALUE) < end) {
        return reject("control character in the reason phrase");
      }
    }
    status = code;
    return NEED_MORE;
  }

  private int fieldLine(byte[] a, int start, int end) {
    byte b0 = a[start];
    if (HttpBytes.ows(b0)) {
      return reject(count == 0
          ? "whitespace before the first header field"
          : "obs-fold (a header line starting with whitespace)");
    }
    int i = HttpBytes.scanTo(a, start, end, HttpBytes.TCHAR);
    if (i < end && a[i] != ':') {
      return reject(HttpBytes.ows(a[i])
          ? "whitespace between a header name and its colon"
          : "invalid character in a header name");
    }
    if (i == end) {
      return reject("a header line without a colon");
    }
    if (i == start) {
      return reject("empty header name");
    }
    int nameEnd = i;
    i++;
    while (i < end && HttpBytes.ows(a[i])) {
      i++;
    }
    int valueStart = i;
    int bad = HttpBytes.scanTo(a, i, end, HttpBytes.VALUE);
    if (bad < end) {
      return reject(a[bad] == 0
          ? "NUL in a header value" : "control character in a header value");
    }
    int valueEnd = end;
    while (valueEnd > valueStart && HttpBytes.ows(a[valueEnd - 1])) {
      valueEnd--;
    }
    if (count == fieldOf.length) {
      fieldOf = Arrays.copyOf(fieldOf, count * 2);
      hop = Arrays.copyOf(hop, count * 2);
      pos = Arrays.copyOf(pos, count * 8);
    }
    int p = 4 * count;
    pos[p] = start;
    pos[p + 1] = nameEnd;
    pos[p + 2] = valueStart;
    pos[p + 3] = valueEnd;
    int f = classify(a, start, nameEnd - start);
    fieldOf[count] = (byte) f;
    hop[count] = f > F_CONTENT_LENGTH; // every name the parser knows but Content-Length is hop-by-hop
    if (f >= 0 && occurrences[f]++ == 0) {
      first[f] = count;
    }
    count++;
    return NEED_MORE;
  }

  private static int classify(byte[] a, int at, int len) {
    for (int f = 0; f < NAMES.length; f++) {
      if (NAMES[f].length == len && HttpBytes.equalsLower(a, at, len, NAMES[f])) {
        return f;
      }
    }
    return -1;
  }

  private int finish(byte[] a) {
    if (occurrences[F_TRANSFER_ENCODING] > 0) {
      if (occurrences[F_CONTENT_LENGTH] > 0) {
        return reject("both Content-Length and Transfer-Encoding: the body length is ambiguous");
      }
      if (versionMinor == 0) {
        return reject("Transfer-Encoding in an HTTP/1.0 response");
      }
      int r = codings(a);
      if (r != NEED_MORE) {
        return r;
      }
    } else if (occurrences[F_CONTENT_LENGTH] > 0) {
      int r = lengths(a);
      if (r != NEED_MORE) {
        return r;
      }
      bodyFraming = Framing.LENGTH;
    } else {
      bodyFraming = Framing.UNTIL_CLOSE;
    }
    int r = connection(a);
    if (r != NEED_MORE) {
      return r;
    }
    phase = PHASE_DONE;
    return COMPLETE;
  }

  /** Every element of every Content-Length field: digits, all the same value. */
  private int lengths(byte[] a) {
    long value = -1;
    int firstStart = -1;
    int firstLen = 0;
    for (int h = first[F_CONTENT_LENGTH]; h < count; h++) {
      if (fieldOf[h] != F_CONTENT_LENGTH) {
        continue;
      }
      int e = pos[4 * h + 3];
      int i = pos[4 * h + 2];
      while (i <= e) {
        int elemEnd = i;
        while (elemEnd < e && a[elemEnd] != ',') {
          elemEnd++;
        }
        int s = i;
        int t = elemEnd;
        while (s < t && HttpBytes.ows(a[s])) {
          s++;
        }
        while (t > s && HttpBytes.ows(a[t - 1])) {
          t--;
        }
        if (s == t || t - s > 19) {
          return reject("Content-Length is not a number of bytes");
        }
        if (firstStart >= 0) {
          if (versionMinor == 0 && i > pos[4 * h + 2]) {
            return reject("a Content-Length list in an HTTP/1.0 response");
          }
          if (t - s != firstLen || !equalsIgnoreCase(a, s, firstStart, firstLen)) {
            return reject("Content-Length values differ");
          }
          i = elemEnd + 1;
          continue;
        }
        firstStart = s;
        firstLen = t - s;
        long n = 0;
        for (int k = s; k < t; k++) {
          byte b = a[k];
          if (!digit(b)) {
            return reject("Content-Length is not a number of bytes");
          }
          n = n * 10 + (b - '0');
          if (n < 0) {
            return reject("Content-Length overflows");
          }
        }
        value = n;
        i = elemEnd + 1;
      }
    }
    contentLength = value;
    return NEED_MORE;
  }

  /** The codings of every Transfer-Encoding field, in order: chunked at most once, and last if at all. */
  private int codings(byte[] a) {
    int chunked = 0;
    boolean chunkedLast = false;
    for (int h = first[F_TRANSFER_ENCODING]; h < count; h++) {
      if (fieldOf[h] != F_TRANSFER_ENCODING) {
        continue;
      }
      int e = pos[4 * h + 3];
      int i = pos[4 * h + 2];
      while (i <= e) {
        int elemEnd = i;
        while (elemEnd < e && a[elemEnd] != ',') {
          elemEnd++;
        }
        int s = i;
        while (s < elemEnd && HttpBytes.ows(a[s])) {
          s++;
        }
        int t = s;
        while (t < elemEnd && HttpBytes.tchar(a[t])) {
          t++;
        }
        int rest = t;
        while (rest < elemEnd && HttpBytes.ows(a[rest])) {
          rest++;
        }
        boolean params = rest < elemEnd && a[rest] == ';';
        if (rest < elemEnd && !params || t == s && params) {
          return reject("invalid transfer coding");
        }
        if (t > s) {
          if (HttpBytes.equalsLower(a, s, t - s, CHUNKED)) {
            if (params) {
              return reject("chunked takes no parameters");
            }
            chunked++;
            chunkedLast = true;
          } else {
            chunkedLast = false;
          }
        }
        i = elemEnd + 1;
      }
    }
    if (chunked > 1) {
      return reject("chunked applied twice");
    }
    if (chunked == 1 && !chunkedLast) {
      return reject("chunked is not the last transfer coding: the body length is ambiguous");
    }
    bodyFraming = chunked == 1 ? Framing.CHUNKED : Framing.UNTIL_CLOSE;
    return NEED_MORE;
  }

  /** Connection's tokens: close, keep-alive, and the fields they make hop-by-hop. */
  private int connection(byte[] a) {
    for (int h = first[F_CONNECTION]; h >= 0 && h < count; h++) {
      if (fieldOf[h] != F_CONNECTION) {
        continue;
      }
      int e = pos[4 * h + 3];
      int i = pos[4 * h + 2];
      while (i <= e) {
        int elemEnd = i;
        while (elemEnd < e && a[elemEnd] != ',') {
          elemEnd++;
        }
        int s = i;
        int t = elemEnd;
        while (s < t && HttpBytes.ows(a[s])) {
          s++;
        }
        while (t > s && HttpBytes.ows(a[t - 1])) {
          t--;
        }
        i = elemEnd + 1;
        if (s == t) {
          continue; // an empty list element (RFC 9110 §5.6.1)
        }
        if (HttpBytes.scanTo(a, s, t, HttpBytes.TCHAR) < t) {
          return reject("Connection is not a list of tokens");
        }
        int len = t - s;
        if (HttpBytes.equalsLower(a, s, len, CLOSE)) {
          close = true;
        } else if (HttpBytes.equalsLower(a, s, len, KEEP_ALIVE)) {
          keepAlive = true;
        } else if (!HttpBytes.equalsLower(a, s, len, UPGRADE)) {
          if (HttpBytes.equalsLower(a, s, len, NAMES[F_CONTENT_LENGTH])) {
            return reject("Connection nominates Content-Length");
          }
          for (int j = 0; j < count; j++) {
            if (pos[4 * j + 1] - pos[4 * j] == len && equalsIgnoreCase(a, pos[4 * j], s, len)) {
              hop[j] = true;
            }
          }
        }
      }
    }
    return NEED_MORE;
  }

  private int reject(String reason) {
    this.reason = reason;
    phase = PHASE_REJECTED;
    return REJECTED;
  }

  // ---- the parsed head; valid after COMPLETE, offsets relative to the response's first byte ----

  /** Bytes of the head, the final CRLF included; the body (or the next response) starts here. */
  public int headLength() {
    return headLength;
  }

  /** The three-digit status code. */
  public int status() {
    return status;
  }

  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  public int versionMinor() {
    return versionMinor;
  }

  /** Offset of the first field line, just after the status line's CRLF. */
  public int fieldsStart() {
    return fieldsStart;
  }

  /**
   * How the body is delimited (RFC 9112 §6.3): {@link Framing#NONE} for a 1xx, 204 or 304
   * response or when {@code headRequest} (the request was HEAD); else {@link Framing#CHUNKED}
   * when the last transfer coding is chunked, {@link Framing#UNTIL_CLOSE} for other
   * Transfer-Encodings, {@link Framing#LENGTH} for a Content-Length, {@link Framing#UNTIL_CLOSE}
   * for neither.
   */
  public Framing framing(boolean headRequest) {
    if (headRequest || status < 200 || status == 204 || status == 304) {
      return Framing.NONE;
    }
    return bodyFraming;
  }

  /** The Content-Length, whatever the framing, or -1 when there is none. */
  public long contentLength() {
    return contentLength;
  }

  /** Number of header field lines. */
  public int headerCount() {
    return count;
  }

  public int nameStart(int i) {
    return pos[4 * i];
  }

  public int nameEnd(int i) {
    return pos[4 * i + 1];
  }

  /** Start of header {@code i}'s value, leading whitespace skipped. */
  public int valueStart(int i) {
    return pos[4 * i + 2];
  }

  /** End of header {@code i}'s value, trailing whitespace excluded. */
  public int valueEnd(int i) {
    return pos[4 * i + 3];
  }

  /** Whether field line {@code i} must not be forwarded (see the class comment). */
  public boolean hopByHop(int i) {
    return hop[i];
  }

  /** Whether a Connection field lists {@code close}. */
  public boolean connectionClose() {
    return close;
  }

  /** Whether a Connection field lists {@code keep-alive}. */
  public boolean connectionKeepAlive() {
    return keepAlive;
  }

  /** The index of the first Upgrade field line, or -1. */
  public int upgradeIndex() {
    return first[F_UPGRADE];
  }

  /** A short, constant reason for a rejection (no sandbox bytes in it), else null. */
  public String reason() {
    return reason;
  }

  // ---- byte helpers ----

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  private static boolean equalsIgnoreCase(byte[] a, int x, int y, int len) {
    for (int i = 0; i < len; i++) {
      if (HttpBytes.lower(a[x + i]) != HttpBytes.lower(a[y + i])) {
        return false;
      }
    }
    return true;
  }

  private static boolean digit(byte b) {
    return b >= '0' && b <= '9';
  }
}
