package io.agentcube.sandboxd;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A streaming reader of a {@code multipart/form-data} body (RFC 7578): parts are returned one at
 * a time and a part's body is copied to a sink without ever holding more than one buffer
 * ({@value #BUFFER_BYTES} bytes) in memory, so uploads go to disk as they arrive.
 *
 * <p>How it scans: every delimiter is {@code CRLF "--" boundary}; the reader seeds its buffer
 * with a CRLF so the first boundary (which has none before it) looks like the others and any
 * preamble is skipped like an unread part body. Bytes are released to the sink only when they can
 * no longer be the start of a delimiter, i.e. all but the last {@code delimiter.length - 1}
 * bytes of the buffer.
 *
 * <p>Limits: part headers at most {@value #MAX_HEADER_BYTES} bytes, at most {@value #MAX_PARTS}
 * parts. Malformed input is a 400. Not thread-safe: one reader per request.
 */
final class MultipartReader {

  static final int BUFFER_BYTES = 64 * 1024;
  static final int MAX_HEADER_BYTES = 16 * 1024;
  static final int MAX_PARTS = 64;

  /** A part's headers: the form field name, the file name if any, the declared content type. */
  record Part(String name, String filename, String contentType) {}

  private final InputStream in;
  private final byte[] delimiter;
  private final byte[] buf;
  private int pos;
  private int lim;
  private boolean eof;
  private boolean inBody;
  private boolean finished;
  private int parts;

  MultipartReader(InputStream in, String boundary) {
    this.in = in;
    this.delimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
    this.buf = new byte[Math.max(BUFFER_BYTES, delimiter.length * 4)];
    buf[0] = '\r';
    buf[1] = '\n';
    lim = 2;
    inBody = true; // the preamble
  }

  /**
   * The boundary parameter of a {@code multipart/form-data} content type.
   *
   * @throws SandboxdException 400 when missing or invalid
   */
  static String boundary(String contentType) {
    for (String param : contentType.split(";")) {
      String p = param.strip();
      if (p.regionMatches(true, 0, "boundary=", 0, 9)) {
        String b = p.substring(9);
        if (b.length() >= 2 && b.startsWith("\"") && b.endsWith("\"")) {
          b = b.substring(1, b.length() - 1);
        }
        if (b.isEmpty() || b.length() > 200) {
          break;
        }
        return b;
      }
    }
    throw SandboxdException.badRequest("multipart body without a valid boundary parameter");
  }

  /**
   * Moves to the next part, skipping what is left of the current one.
   *
   * @return the part's headers, or null after the closing delimiter
   */
  Part next() throws IOException {
    if (finished) {
      return null;
    }
    if (inBody) {
      transferBody(OutputStream.nullOutputStream(), Long.MAX_VALUE);
    }
    if (!fill(2)) {
      throw malformed("body ends after a boundary");
    }
    if (buf[pos] == '-' && buf[pos + 1] == '-') {
      finished = true;
      return null;
    }
    // Transport padding, then CRLF, ends the boundary line.
    while (fill(1) && (buf[pos] == ' ' || buf[pos] == '\t')) {
      pos++;
    }
    if (fill(2) && buf[pos] == '\r' && buf[pos + 1] == '\n') {
      pos += 2;
    } else if (fill(1) && buf[pos] == '\n') {
      pos += 1;
    } else {
      throw malformed("boundary line not followed by a line break");
    }
    if (++parts > MAX_PARTS) {
      throw malformed("more than " + MAX_PARTS + " parts");
    }
    Part part = readHeaders();
    inBody = true;
    return part;
  }

  /**
   * Copies the current part's body to {@code out}.
   *
   * @param max most bytes accepted; more is a 400 naming the field
   * @return bytes copied
   */
  long transferBody(OutputStream out, long max) throws IOException {
    if (!inBody) {
      return 0;
    }
    long total = 0;
    while (true) {
      int at = indexOfDelimiter();
      int end = at >= 0 ? at : Math.max(pos, lim - (delimiter.length - 1));
      int n = end - pos;
      if (n > 0) {
        total += n;
        if (total > max) {
          throw SandboxdException.badRequest("multipart field is longer than " + max + " bytes");
        }
        out.write(buf, pos, n);
        pos = end;
      }
      if (at >= 0) {
        pos = at + delimiter.length;
        inBody = false;
        return total;
      }
      if (eof) {
        throw malformed("body ends before its closing boundary");
      }
      readMore();
    }
  }

  /** Reads the current part's body as UTF-8 text of at most {@code max} bytes. */
  String readText(int max) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    transferBody(out, max);
    return out.toString(StandardCharsets.UTF_8);
  }

  private Part readHeaders() throws IOException {
    String name = null;
    String filename = null;
    String contentType = null;
    int headerBytes = 0;
    while (true) {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      while (true) {
        if (!fill(1)) {
          throw malformed("body ends inside part headers");
        }
        byte b = buf[pos++];
        if (++headerBytes > MAX_HEADER_BYTES) {
          throw malformed("part headers longer than " + MAX_HEADER_BYTES + " bytes");
        }
        if (b == '\n') {
          break;
        }
        line.write(b);
      }
      String text = line.toString(StandardCharsets.UTF_8);
      if (text.endsWith("\r")) {
        text = text.substring(0, text.length() - 1);
      }
      if (text.isEmpty()) {
        return new Part(name, filename, contentType);
      }
      int colon = text.indexOf(':');
      if (colon <= 0) {
        throw malformed("bad part header line");
      }
      String header = text.substring(0, colon).strip().toLowerCase(Locale.ROOT);
      String value = text.substring(colon + 1).strip();
      if (header.equals("content-disposition")) {
        name = param(value, "name");
        filename = param(value, "filename");
      } else if (header.equals("content-type")) {
        contentType = value;
      }
    }
  }

  /** A parameter of a header value: {@code form-data; name="a"; filename="b.txt"}. */
  static String param(String headerValue, String wanted) {
    int i = headerValue.indexOf(';');
    while (i >= 0 && i < headerValue.length()) {
      i++;
      while (i < headerValue.length() && headerValue.charAt(i) == ' ') {
        i++;
      }
      int eq = headerValue.indexOf('=', i);
      if (eq < 0) {
        return null;
      }
      String key = headerValue.substring(i, eq).strip();
      int j = eq + 1;
      String value;
      if (j < headerValue.length() && headerValue.charAt(j) == '"') {
        StringBuilder sb = new StringBuilder();
        j++;
        while (j < headerValue.length() && headerValue.charAt(j) != '"') {
          char c = headerValue.charAt(j);
          if (c == '\\' && j + 1 < headerValue.length()) {
            c = headerValue.charAt(++j);
          }
          sb.append(c);
          j++;
        }
        value = sb.toString();
        j++; // closing quote
        int semi = headerValue.indexOf(';', j);
        i = semi;
      } else {
        int semi = headerValue.indexOf(';', j);
        value = headerValue.substring(j, semi < 0 ? headerValue.length() : semi).strip();
        i = semi;
      }
      if (key.equalsIgnoreCase(wanted)) {
        return value;
      }
    }
    return null;
  }

  private int indexOfDelimiter() {
    int last = lim - delimiter.length;
    outer:
    for (int i = pos; i <= last; i++) {
      if (buf[i] != '\r') {
        continue;
      }
      for (int k = 1; k < delimiter.length; k++) {
        if (buf[i + k] != delimiter[k]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /** Makes at least {@code n} unread bytes available; false if the body ends first. */
  private boolean fill(int n) throws IOException {
    while (lim - pos < n) {
      if (eof) {
        return false;
      }
      readMore();
    }
    return true;
  }

  /** Compacts the buffer and reads once more (at least one byte, or end of input). */
  private void readMore() throws IOException {
    if (pos > 0) {
      System.arraycopy(buf, pos, buf, 0, lim - pos);
      lim -= pos;
      pos = 0;
    }
    if (lim == buf.length) {
      throw new IllegalStateException("multipart buffer full"); // cannot happen: see class doc
    }
    int n = in.read(buf, lim, buf.length - lim);
    if (n < 0) {
      eof = true;
    } else {
      lim += n;
    }
  }

  private static SandboxdException malformed(String why) {
    return SandboxdException.badRequest("malformed multipart body: " + why);
  }
}
