package io.agentcube.proxy.relay;

import static io.agentcube.proxy.relay.HttpBytes.CR;
import static io.agentcube.proxy.relay.HttpBytes.LF;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * An incremental, strict reader of a chunked body's framing (RFC 9112 §7.1) for a relay that
 * passes the bytes on unchanged: it walks the bytes it is given, skipping chunk data in bulk, and
 * says where the body ends or why its framing is broken. It copies nothing.
 *
 * <p><b>Use.</b> One instance per body, confined to its connection's event loop. {@link
 * #consume} reads from a buffer's reader index without moving it and returns how many bytes it
 * took; the caller passes those on, drops them from its buffer and calls again with what comes
 * next. {@link #isDone()}: the body ended with the last byte taken (the rest of the buffer is the
 * next message). {@link #isRejected()}: {@link #status()} and {@link #reason()}; the connection
 * must be closed, the bytes after the ones taken must not be forwarded.
 *
 * <p><b>Rules</b>: a chunk size is 1+ hex digits that fit a {@code long} (else 400); a chunk
 * extension ({@code ;name[=value]}, optional whitespace before each {@code ;}) may hold only
 * VCHAR, obs-text, SP and HTAB, and the whole size line is at most {@code maxSizeLine} bytes; after
 * each chunk's data comes CRLF; the trailer fields after the last chunk follow the header field
 * rules of {@link RequestHead} (no obs-fold, no whitespace before the colon, no control
 * characters) and take at most {@code maxTrailerSize} bytes; every line ends in CRLF, never a
 * bare CR or LF. Any violation is 400.
 *
 * <p>Hand-written for the same reason as {@link RequestHead}; each rule has a test in {@code
 * ChunkedDecoderStateTest}.
 */
public final class ChunkedDecoderState {

  private static final int SIZE_FIRST = 0;
  private static final int SIZE = 1;
  private static final int EXT_BWS = 2; // whitespace after the size: a ';' must follow
  private static final int EXT = 3;
  private static final int SIZE_LF = 4;
  private static final int DATA = 5;
  private static final int DATA_CR = 6;
  private static final int DATA_LF = 7;
  private static final int TRAILER_START = 8;
  private static final int TRAILER_NAME = 9;
  private static final int TRAILER_VALUE = 10;
  private static final int TRAILER_LF = 11;
  private static final int FINAL_LF = 12;
  private static final int DONE = 13;
  private static final int REJECTED = 14;

  private final int maxSizeLine;
  private final int defaultMaxTrailerSize;
  private int maxTrailerSize;

  private int state;
  private long size;
  private long remaining;
  private int lineBytes;
  private int trailerBytes;
  private long dataBytes;
  private String reason;

  /**
   * @param maxSizeLine bytes of one chunk-size line with its extensions, CRLF excluded
   * @param maxTrailerSize bytes of the trailer section, CRLFs included
   */
  public ChunkedDecoderState(int maxSizeLine, int maxTrailerSize) {
    if (maxSizeLine < 3 || maxTrailerSize < 2) {
      throw new IllegalArgumentException("limits too small: " + maxSizeLine + ", " + maxTrailerSize);
    }
    this.maxSizeLine = maxSizeLine;
    this.defaultMaxTrailerSize = maxTrailerSize;
    reset();
  }

  /** Starts a new body whose trailers may take the constructor's {@code maxTrailerSize}. */
  public void reset() {
    reset(defaultMaxTrailerSize);
  }

  /**
   * Starts a new body whose trailer section may take {@code maxTrailerSize} bytes: what is left
   * of {@code server.maxHeaderSize} after the head's field section ({@link
   * RequestHead#fieldSectionLength()}), so head and trailers together stay within the limit as
   * in Netty's decoder.
   */
  public void reset(int maxTrailerSize) {
    this.maxTrailerSize = maxTrailerSize;
    state = SIZE_FIRST;
    size = 0;
    remaining = 0;
    lineBytes = 0;
    trailerBytes = 0;
    dataBytes = 0;
    reason = null;
  }

  /** {@link #consume(ByteBuf)} on {@code len} bytes of {@code bytes} from {@code off}. */
  public int consume(byte[] bytes, int off, int len) {
    return consume(Unpooled.wrappedBuffer(bytes, off, len));
  }

  /**
   * Walks the readable bytes of {@code buf} (not moving its indices) until they run out, the body
   * ends or its framing is broken.
   *
   * @return how many bytes belong to the body (on rejection: the bytes before the bad one)
   */
  public int consume(ByteBuf buf) {
    final int base = buf.readerIndex();
    final int avail = buf.readableBytes();
    int i = 0;
    while (i < avail && state < DONE) {
      if (state == DATA) {
        int n = (int) Math.min(remaining, avail - i);
        i += n;
        remaining -= n;
        dataBytes += n;
        if (remaining == 0) {
          state = DATA_CR;
        }
        continue;
      }
      if (!step(buf.getByte(base + i))) {
        return i;
      }
      i++;
    }
    return i;
  }

  /**
   * {@link #consume(ByteBuf)} that stops where chunk data begins, for a caller that takes the
   * data itself ({@link #inData()}, {@link #skipData}): a relay that removes the chunked framing
   * (for an HTTP/1.0 client).
   *
   * @return how many framing bytes were taken
   */
  public int consumeFraming(ByteBuf buf) {
    final int base = buf.readerIndex();
    final int avail = buf.readableBytes();
    int i = 0;
    while (i < avail && state < DONE && state != DATA) {
      if (!step(buf.getByte(base + i))) {
        return i;
      }
      i++;
    }
    return i;
  }

  /** Whether the next bytes are chunk data: {@link #dataRemaining()} of them. */
  public boolean inData() {
    return state == DATA;
  }

  /** Data bytes left in the current chunk. */
  public long dataRemaining() {
    return state == DATA ? remaining : 0;
  }

  /** Takes {@code n} (at most {@link #dataRemaining()}) data bytes the caller has passed on. */
  public void skipData(int n) {
    if (state != DATA || n > remaining || n < 0) {
      throw new IllegalStateException("not " + n + " bytes of chunk data left");
    }
    remaining -= n;
    dataBytes += n;
    if (remaining == 0) {
      state = DATA_CR;
    }
  }

  /** One framing byte; false when it is refused. */
  private boolean step(byte b) {
    switch (state) {
      case SIZE_FIRST:
      case SIZE: {
        int d = HttpBytes.hex(b);
        if (d >= 0) {
          if (size > (Long.MAX_VALUE >>> 4)) {
            return reject("chunk size overflows");
          }
          size = (size << 4) | d;
          state = SIZE;
          return line();
        }
        if (state == SIZE_FIRST) {
          return reject("a chunk size must start with a hex digit");
        }
        if (b == CR) {
          state = SIZE_LF;
          return true;
        }
        if (b == ';') {
          state = EXT;
          return line();
        }
        if (HttpBytes.ows(b)) {
          state = EXT_BWS;
          return line();
        }
        return b == LF ? reject("bare LF after a chunk size") : reject("invalid character in a chunk size");
      }
      case EXT_BWS:
        if (b == ';') {
          state = EXT;
          return line();
        }
        return HttpBytes.ows(b) ? line() : reject("whitespace after a chunk size without an extension");
      case EXT:
        if (b == CR) {
          state = SIZE_LF;
          return true;
        }
        return HttpBytes.valueByte(b) ? line() : reject("control character in a chunk extension");
      case SIZE_LF:
        if (b != LF) {
          return reject("bare CR in a chunk-size line");
        }
        lineBytes = 0;
        if (size == 0) {
          state = TRAILER_START;
        } else {
          remaining = size;
          size = 0;
          state = DATA;
        }
        return true;
      case DATA_CR:
        if (b != CR) {
          return reject("chunk data longer than its size, or no CRLF after it");
        }
        state = DATA_LF;
        return true;
      case DATA_LF:
        if (b != LF) {
          return reject("bare CR after chunk data");
        }
        state = SIZE_FIRST;
        return true;
      case TRAILER_START:
        if (!trailer()) {
          return false;
        }
        if (b == CR) {
          state = FINAL_LF;
          return true;
        }
        if (HttpBytes.ows(b)) {
          return reject("obs-fold in the trailer section");
        }
        if (b == ':') {
          return reject("empty trailer field name");
        }
        if (!HttpBytes.tchar(b)) {
          return reject(b == LF ? "bare LF in the trailer section" : "invalid character in a trailer name");
        }
        state = TRAILER_NAME;
        return true;
      case TRAILER_NAME:
        if (!trailer()) {
          return false;
        }
        if (b == ':') {
          state = TRAILER_VALUE;
          return true;
        }
        if (HttpBytes.tchar(b)) {
          return true;
        }
        return reject(HttpBytes.ows(b) ? "whitespace between a trailer name and its colon"
            : b == CR || b == LF ? "a trailer line without a colon" : "invalid character in a trailer name");
      case TRAILER_VALUE:
        if (!trailer()) {
          return false;
        }
        if (b == CR) {
          state = TRAILER_LF;
          return true;
        }
        return HttpBytes.valueByte(b) ? true
            : reject(b == LF ? "bare LF in the trailer section" : "control character in a trailer value");
      case TRAILER_LF:
        if (!trailer()) {
          return false;
        }
        if (b != LF) {
          return reject("bare CR in the trailer section");
        }
        state = TRAILER_START;
        return true;
      case FINAL_LF:
        if (!trailer()) {
          return false;
        }
        if (b != LF) {
          return reject("bare CR at the end of the chunked body");
        }
        state = DONE;
        return true;
      default:
        throw new IllegalStateException("state " + state);
    }
  }

  private boolean line() {
    return ++lineBytes <= maxSizeLine || reject("chunk-size line longer than its limit");
  }

  private boolean trailer() {
    return ++trailerBytes <= maxTrailerSize || reject("trailer section larger than its limit");
  }

  private boolean reject(String why) {
    reason = why;
    state = REJECTED;
    return false;
  }

  /** The body ended with the last byte taken. */
  public boolean isDone() {
    return state == DONE;
  }

  public boolean isRejected() {
    return state == REJECTED;
  }

  /** 400 when rejected, else 0. */
  public int status() {
    return state == REJECTED ? 400 : 0;
  }

  /** A short, constant reason for a rejection, else null. */
  public String reason() {
    return reason;
  }

  /** Chunk data bytes seen so far (framing excluded). */
  public long dataBytes() {
    return dataBytes;
  }
}
