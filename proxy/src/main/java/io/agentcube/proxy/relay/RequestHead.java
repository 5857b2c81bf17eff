package io.agentcube.proxy.relay;

import static io.agentcube.proxy.relay.HttpBytes.LF;
import static io.agentcube.proxy.relay.HttpBytes.SP;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A strict, incremental parser of one HTTP/1.1 request head (RFC 9112 §2-§6, RFC 9110 §5) that
 * works in place: it records offsets into the caller's buffer and creates no object per header.
 *
 * <p><b>Use.</b> One instance per connection, confined to its event loop. Call {@link #parse} with
 * a buffer whose readable bytes start at the first byte of the message and hold everything
 * received so far; call it again with the same bytes plus more while it answers
 * {@link #NEED_MORE} (it resumes where it stopped, it does not rescan). {@link #COMPLETE}: the
 * head is the first {@link #headLength()} bytes, and every offset this class returns is relative
 * to the message's first byte. {@link #REJECTED}: {@link #status()} and {@link #reason()} say
 * why, and the connection must be closed after the error response: the parser never guesses.
 * {@link #reset()} before the next message on the same connection.
 *
 * <p><b>Rules</b> (each has a test named after the attack in {@code RequestHeadTest}):
 *
 * <ul>
 *   <li>Lines end in CRLF only: a bare LF or a bare CR is 400 (no tolerance, §2.2). Empty lines
 *       before the request line are skipped (§2.2 SHOULD) and count toward the request-line
 *       limit.
 *   <li>Request line: a token method, one SP, a target of visible ASCII without {@code #} in
 *       origin-, absolute- ({@code scheme://...}), asterisk- (OPTIONS only) or authority-form
 *       (CONNECT only), one SP, {@code HTTP/d.d}. {@code HTTP/1.0} and {@code HTTP/1.1} are
 *       served; any other well-formed version is 505, a malformed one 400. Over
 *       {@code maxRequestLine} bytes (CRLF excluded) is 414.
 *   <li>Fields: a token name, the colon right after it (whitespace before it is 400), optional
 *       whitespace, a value of VCHAR / obs-text / SP / HTAB (NUL, other controls and DEL are 400).
 *       A line starting with whitespace (obs-fold, or whitespace before the first field) is 400.
 *       The field section, CRLFs and the final empty line included, over {@code maxHeaderSize}
 *       bytes is 431.
 *   <li>Host: exactly one in HTTP/1.1, at most one in HTTP/1.0. {@code x-agentcube-session-id}:
 *       at most one (two would route the request two ways).
 *   <li>Framing (§6): Transfer-Encoding with Content-Length is 400; Transfer-Encoding in HTTP/1.0
 *       is 400 (§6.1 says treat it as faulty); the codings of all Transfer-Encoding fields must
 *       end with {@code chunked}, once, else 400; any other coding before it is 501.
 *       Content-Length is one field of 1-19 digits that fits a {@code long}: a sign, a space, a
 *       list, an overflow, or a second Content-Length field is 400, even one with the same
 *       value (we never forward a message whose length a downstream might read otherwise, and
 *       Netty refuses it too).
 * </ul>
 *
 * <p>Hand-written (the project prefers libraries, but no library parses a head in place without
 * building header objects, which is the cost issue 13 removes). {@code
 * RelayParserDifferentialTest} checks it against Netty's {@code HttpRequestDecoder}.
 */
public final class RequestHead {

  /** {@link #parse} result: the bytes so far are a valid prefix of a head. */
  public static final int NEED_MORE = 0;
  /** {@link #parse} result: a complete, valid head. */
  public static final int COMPLETE = 1;
  /** {@link #parse} result: not a valid head; see {@link #status()} and {@link #reason()}. */
  public static final int REJECTED = 2;

  /** How the body of a complete request is framed. */
  public enum Framing { NONE, LENGTH, CHUNKED }

  /** The fields the relay decides on, looked up by case-insensitive byte comparison. */
  public enum Field {
    CONTENT_LENGTH("content-length"),
    TRANSFER_ENCODING("transfer-encoding"),
    CONNECTION("connection"),
    UPGRADE("upgrade"),
    EXPECT("expect"),
    HOST("host"),
    SESSION_ID("x-agentcube-session-id"),
    // the relay drops or rewrites these when it forwards a request
    KEEP_ALIVE("keep-alive"),
    PROXY_CONNECTION("proxy-connection"),
    PROXY_AUTHENTICATE("proxy-authenticate"),
    PROXY_AUTHORIZATION("proxy-authorization"),
    TE("te"),
    TRAILER("trailer"),
    AUTHORIZATION("authorization"),
    X_FORWARDED_FOR("x-forwarded-for"),
    X_FORWARDED_HOST("x-forwarded-host"),
    X_FORWARDED_PROTO("x-forwarded-proto");

    final byte[] lower;

    Field(String name) {
      this.lower = name.getBytes(StandardCharsets.US_ASCII);
    }
  }

  private static final Field[] FIELDS = Field.values();
  private static final byte[] CHUNKED = "chunked".getBytes(StandardCharsets.US_ASCII);

  private static final int PHASE_LEADING = 0;
  private static final int PHASE_REQUEST_LINE = 1;
  private static final int PHASE_FIELDS = 2;
  private static final int PHASE_DONE = 3;
  private static final int PHASE_REJECTED = 4;

  private final int maxRequestLine;
  private final int maxHeaderSize;

  private int phase;
  private int lineStart;
  private int scan;
  private int fieldsStart;
  private int headLength;

  private int requestLineStart;
  private int methodEnd;
  private int targetStart;
  private int targetEnd;
  private int versionMinor;

  /** Per field line i: name start, name end, value start, value end at [4i .. 4i+3]. */
  private int[] pos = new int[4 * 32];
  /** Per field line: the {@link Field} ordinal, or -1. */
  private byte[] fieldOf = new byte[32];
  private int count;
  private final int[] first = new int[FIELDS.length];
  private final int[] occurrences = new int[FIELDS.length];

  private Framing framing;
  private long contentLength;
  private int status;
  private String reason;

  /**
   * @param maxRequestLine bytes of the request line, CRLF excluded ({@code
   *     server.maxInitialLineLength}); more is 414
   * @param maxHeaderSize bytes of the field section, its CRLFs included ({@code
   *     server.maxHeaderSize}); more is 431
   */
  public RequestHead(int maxRequestLine, int maxHeaderSize) {
    if (maxRequestLine < 16 || maxHeaderSize < 16) {
      throw new IllegalArgumentException("limits too small: " + maxRequestLine + ", " + maxHeaderSize);
    }
    this.maxRequestLine = maxRequestLine;
    this.maxHeaderSize = maxHeaderSize;
    reset();
  }

  /** Forgets the previous message; keeps the arrays. */
  public void reset() {
    phase = PHASE_LEADING;
    lineStart = 0;
    scan = 0;
    fieldsStart = 0;
    headLength = 0;
    requestLineStart = 0;
    count = 0;
    Arrays.fill(first, -1);
    Arrays.fill(occurrences, 0);
    framing = null;
    contentLength = -1;
    status = 0;
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
      boolean requestLine = phase != PHASE_FIELDS;
      // the furthest a CR may sit and the line still be within its limit (empty lines before
      // the request line count toward it)
      int limit = requestLine ? maxRequestLine : fieldsStart + maxHeaderSize - 2;
      int searchEnd = Math.min(avail, limit + 1);
      int found = scratch.findCrlf(buf, base, scan, searchEnd);
      if (found < 0) {
        if (avail > limit) {
          return requestLine
              ? reject(414, "request line longer than server.maxInitialLineLength")
              : reject(431, "header fields larger than server.maxHeaderSize");
        }
        scan = avail;
        return NEED_MORE;
      }
      int at = found;
      if (scratch.bytes[at] == LF) {
        return reject(400, "bare LF as a line end (only CRLF ends a line)");
      }
      if (at + 1 >= avail) {
        scan = at; // the CR: look again when its LF may have come
        return NEED_MORE;
      }
      scratch.hold(buf, base, at + 2);
      byte[] a = scratch.bytes;
      if (a[at + 1] != LF) {
        return reject(400, "bare CR in the request head");
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
    switch (phase) {
      case PHASE_LEADING:
        if (end == start) {
          return NEED_MORE; // an empty line before the request line: skipped
        }
        phase = PHASE_REQUEST_LINE;
        requestLineStart = start;
        // fall through
      case PHASE_REQUEST_LINE: {
        int r = requestLine(a, start, end);
        if (r != NEED_MORE) {
          return r;
        }
        phase = PHASE_FIELDS;
        fieldsStart = scan;
        return NEED_MORE;
      }
      default:
        if (end == start) {
          headLength = scan;
          return finish(a);
        }
        return fieldLine(a, start, end);
    }
  }

  private int requestLine(byte[] a, int start, int end) {
    int i = HttpBytes.scanTo(a, start, end, HttpBytes.TCHAR);
    if (i == start) {
      return reject(400, "the method is not a token");
    }
    if (i == end || a[i] != SP) {
      return reject(400, "invalid character in the method, or no SP after it");
    }
    methodEnd = i;
    targetStart = ++i;
    i = HttpBytes.scanTo(a, i, end, HttpBytes.TARGET);
    if (i < end && a[i] != SP) {
      return reject(400, a[i] == '#'
          ? "'#' in the request target (a fragment is never sent)"
          : "invalid character in the request target");
    }
    targetEnd = i;
    if (targetEnd == targetStart) {
      return reject(400, "empty request target (or two SPs after the method)");
    }
    if (i == end) {
      return reject(400, "no HTTP version in the request line");
    }
    int v = i + 1;
    if (end - v != 8 || !HttpBytes.startsWith(a, v, "HTTP/") || a[v + 6] != '.'
        || !digit(a[v + 5]) || !digit(a[v + 7])) {
      return reject(400, "malformed HTTP version");
    }
    if (a[v + 5] != '1' || a[v + 7] > '1') {
      return reject(505, "HTTP version not supported (only HTTP/1.1 and HTTP/1.0)");
    }
    versionMinor = a[v + 7] - '0';
    return targetForm(a);
  }

  private int targetForm(byte[] a) {
    byte b0 = a[targetStart];
    boolean connect = methodEnd - requestLineStart == 7 && HttpBytes.startsWith(a, requestLineStart, "CONNECT");
    if (connect) {
      return b0 == '/' || b0 == '*' ? reject(400, "CONNECT needs an authority-form target") : NEED_MORE;
    }
    if (b0 == '/') {
      return NEED_MORE;
    }
    if (b0 == '*') {
      boolean options = methodEnd - requestLineStart == 7 && HttpBytes.startsWith(a, requestLineStart, "OPTIONS");
      return options && targetEnd - targetStart == 1
          ? NEED_MORE : reject(400, "'*' is a target of OPTIONS only");
    }
    // absolute-form: scheme "://" ...
    int i = targetStart;
    if (!alpha(b0)) {
      return reject(400, "the request target is not origin-, absolute- or asterisk-form");
    }
    while (i < targetEnd) {
      byte b = a[i];
      if (!(alpha(b) || digit(b) || b == '+' || b == '-' || b == '.')) {
        break;
      }
      i++;
    }
    if (targetEnd - i < 3 || !HttpBytes.startsWith(a, i, "://")) {
      return reject(400, "the request target is not origin-, absolute- or asterisk-form");
    }
    return NEED_MORE;
  }

  private int fieldLine(byte[] a, int start, int end) {
    byte b0 = a[start];
    if (HttpBytes.ows(b0)) {
      return reject(400, count == 0
          ? "whitespace before the first header field"
          : "obs-fold (a header line starting with whitespace)");
    }
    int i = HttpBytes.scanTo(a, start, end, HttpBytes.TCHAR);
    if (i < end && a[i] != ':') {
      return reject(400, HttpBytes.ows(a[i])
          ? "whitespace between a header name and its colon"
          : "invalid character in a header name");
    }
    if (i == end) {
      return reject(400, "a header line without a colon");
    }
    if (i == start) {
      return reject(400, "empty header name");
    }
    int nameEnd = i;
    i++;
    while (i < end && HttpBytes.ows(a[i])) {
      i++;
    }
    int valueStart = i;
    int bad = HttpBytes.scanTo(a, i, end, HttpBytes.VALUE);
    if (bad < end) {
      return reject(400, a[bad] == 0
          ? "NUL in a header value" : "control character in a header value");
    }
    int valueEnd = end;
    while (valueEnd > valueStart && HttpBytes.ows(a[valueEnd - 1])) {
      valueEnd--;
    }
    if (count == fieldOf.length) {
      fieldOf = Arrays.copyOf(fieldOf, count * 2);
      pos = Arrays.copyOf(pos, count * 8);
    }
    int p = 4 * count;
    pos[p] = start;
    pos[p + 1] = nameEnd;
    pos[p + 2] = valueStart;
    pos[p + 3] = valueEnd;
    int f = classify(a, start, nameEnd - start);
    fieldOf[count] = (byte) f;
    if (f >= 0) {
      if (occurrences[f]++ == 0) {
        first[f] = count;
      }
    }
    count++;
    return NEED_MORE;
  }

  private static int classify(byte[] a, int at, int len) {
    // candidates by length first: most names are none of these and cost one switch
    Field f;
    Field g = null;
    switch (len) {
      case 14: f = Field.CONTENT_LENGTH; break;
      case 17: f = Field.TRANSFER_ENCODING; g = Field.X_FORWARDED_PROTO; break;
      case 10: f = Field.CONNECTION; g = Field.KEEP_ALIVE; break;
      case 7: f = Field.UPGRADE; g = Field.TRAILER; break;
      case 6: f = Field.EXPECT; break;
      case 4: f = Field.HOST; break;
      case 22: f = Field.SESSION_ID; break;
      case 16: f = Field.PROXY_CONNECTION; g = Field.X_FORWARDED_HOST; break;
      case 18: f = Field.PROXY_AUTHENTICATE; break;
      case 19: f = Field.PROXY_AUTHORIZATION; break;
      case 2: f = Field.TE; break;
      case 13: f = Field.AUTHORIZATION; break;
      case 15: f = Field.X_FORWARDED_FOR; break;
      default: return -1;
    }
    if (HttpBytes.equalsLower(a, at, len, f.lower)) {
      return f.ordinal();
    }
    return g != null && HttpBytes.equalsLower(a, at, len, g.lower) ? g.ordinal() : -1;
  }

  private int finish(byte[] a) {
    int hosts = occurrences[Field.HOST.ordinal()];
    if (hosts > 1) {
      return reject(400, "more than one Host header");
    }
    if (hosts == 0 && versionMinor == 1) {
      return reject(400, "an HTTP/1.1 request needs a Host header");
    }
    if (occurrences[Field.SESSION_ID.ordinal()] > 1) {
      return reject(400, "more than one x-agentcube-session-id header");
    }
    int lengths = occurrences[Field.CONTENT_LENGTH.ordinal()];
    if (occurrences[Field.TRANSFER_ENCODING.ordinal()] > 0) {
      if (lengths > 0) {
        return reject(400, "both Content-Length and Transfer-Encoding: the body length is ambiguous");
      }
      if (versionMinor == 0) {
        return reject(400, "Transfer-Encoding in an HTTP/1.0 request");
      }
      int r = codings(a);
      if (r != NEED_MORE) {
        return r;
      }
      framing = Framing.CHUNKED;
    } else if (lengths > 1) {
      return reject(400, "more than one Content-Length header");
    } else if (lengths == 1) {
      int h = first[Field.CONTENT_LENGTH.ordinal()];
      int s = pos[4 * h + 2];
      int e = pos[4 * h + 3];
      if (s == e || e - s > 19) {
        return reject(400, "Content-Length is not a number of bytes");
      }
      long n = 0;
      for (int i = s; i < e; i++) {
        byte b = a[i];
        if (!digit(b)) {
          return reject(400, "Content-Length is not a number of bytes");
        }
        n = n * 10 + (b - '0');
        if (n < 0) {
          return reject(400, "Content-Length overflows");
        }
      }
      contentLength = n;
      framing = Framing.LENGTH;
    } else {
      framing = Framing.NONE;
    }
    phase = PHASE_DONE;
    return COMPLETE;
  }

  /** The codings of every Transfer-Encoding field, in order: chunked once and last. */
  private int codings(byte[] a) {
    int chunked = 0;
    boolean chunkedLast = false;
    boolean unknown = false;
    int tf = Field.TRANSFER_ENCODING.ordinal();
    for (int h = first[tf]; h < count; h++) {
      if (fieldOf[h] != tf) {
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
        if (rest < elemEnd && !params) {
          return reject(400, "invalid transfer coding");
        }
        if (t == s) {
          if (params) {
            return reject(400, "invalid transfer coding");
          }
          // an empty list element: allowed (RFC 9110 §5.6.1)
        } else if (HttpBytes.equalsLower(a, s, t - s, CHUNKED)) {
          if (params) {
            return reject(400, "chunked takes no parameters");
          }
          chunked++;
          chunkedLast = true;
        } else {
          unknown = true;
          chunkedLast = false;
        }
        i = elemEnd + 1;
      }
    }
    if (!chunkedLast || chunked > 1) {
      return reject(400, "Transfer-Encoding must end with chunked, once: the body length is unknown");
    }
    if (unknown) {
      return reject(501, "transfer coding not implemented (only chunked is)");
    }
    return NEED_MORE;
  }

  private int reject(int status, String reason) {
    this.status = status;
    this.reason = reason;
    phase = PHASE_REJECTED;
    return REJECTED;
  }

  // ---- the parsed head; valid after COMPLETE, offsets relative to the message's first byte ----

  /** Bytes of the head, the final CRLF included; the body (or the next message) starts here. */
  public int headLength() {
    return headLength;
  }

  /** Bytes of the field section, its CRLFs and the final empty line included. */
  public int fieldSectionLength() {
    return headLength - fieldsStart;
  }

  public int methodStart() {
    return requestLineStart;
  }

  public int methodEnd() {
    return methodEnd;
  }

  public int targetStart() {
    return targetStart;
  }

  public int targetEnd() {
    return targetEnd;
  }

  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  public int versionMinor() {
    return versionMinor;
  }

  public Framing framing() {
    return framing;
  }

  /** The Content-Length when {@link #framing()} is {@link Framing#LENGTH}, else -1. */
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

  /** The index of the first field line named {@code f}, or -1. */
  public int indexOf(Field f) {
    return first[f.ordinal()];
  }

  /** How many field lines are named {@code f}. */
  public int occurrences(Field f) {
    return occurrences[f.ordinal()];
  }

  /** Whether the field line {@code i} is named {@code f}. */
  public boolean is(int i, Field f) {
    return fieldOf[i] == f.ordinal();
  }

  /**
   * Whether any {@code f} field lists {@code lowerToken} (ASCII lower case) as one of its
   * comma-separated elements, compared case-insensitively ({@code Connection: keep-alive, Close}
   * lists {@code close}). {@code buf} is the buffer given to {@link #parse}, indices unmoved.
   */
  public boolean hasToken(ByteBuf buf, Field f, byte[] lowerToken) {
    int fo = f.ordinal();
    int base = buf.readerIndex();
    for (int h = first[fo]; h >= 0 && h < count; h++) {
      if (fieldOf[h] != fo) {
        continue;
      }
      int e = pos[4 * h + 3];
      int i = pos[4 * h + 2];
      while (i <= e) {
        int elemEnd = i;
        while (elemEnd < e && buf.getByte(base + elemEnd) != ',') {
          elemEnd++;
        }
        int s = i;
        int t = elemEnd;
        while (s < t && HttpBytes.ows(buf.getByte(base + s))) {
          s++;
        }
        while (t > s && HttpBytes.ows(buf.getByte(base + t - 1))) {
          t--;
        }
        if (equalsLower(buf, base + s, t - s, lowerToken)) {
          return true;
        }
        i = elemEnd + 1;
      }
    }
    return false;
  }

  /** Whether the name of field line {@code i} equals {@code lower} (ASCII lower case), ignoring case. */
  public boolean nameEqualsIgnoreCase(ByteBuf buf, int i, byte[] lower) {
    int s = pos[4 * i];
    return equalsLower(buf, buf.readerIndex() + s, pos[4 * i + 1] - s, lower);
  }

  /** Whether the value of field line {@code i} equals {@code lower} (ASCII lower case), ignoring case. */
  public boolean valueEqualsIgnoreCase(ByteBuf buf, int i, byte[] lower) {
    int s = pos[4 * i + 2];
    return equalsLower(buf, buf.readerIndex() + s, pos[4 * i + 3] - s, lower);
  }

  /** The HTTP status of a rejection (400, 414, 431, 501, 505), else 0. */
  public int status() {
    return status;
  }

  /** A short, constant reason for a rejection (no client bytes in it), else null. */
  public String reason() {
    return reason;
  }

  /** Bytes {@code [start, end)} of the message as a String, for logs and tests only. */
  public static String text(ByteBuf buf, int start, int end) {
    return buf.toString(buf.readerIndex() + start, end - start, StandardCharsets.ISO_8859_1);
  }

  // ---- byte helpers ----

  private static boolean equalsLower(ByteBuf buf, int at, int len, byte[] lower) {
    if (len != lower.length) {
      return false;
    }
    for (int i = 0; i < len; i++) {
      if (HttpBytes.lower(buf.getByte(at + i)) != lower[i]) {
        return false;
      }
    }
    return true;
  }

  private static boolean digit(byte b) {
    return b >= '0' && b <= '9';
  }

  private static boolean alpha(byte b) {
    int l = b | 0x20;
    return l >= 'a' && l <= 'z';
  }
}
