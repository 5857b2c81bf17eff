package io.agentcube.sandboxd;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * A request body that fails with {@link TooLargeException} as soon as more than {@code limit}
 * bytes have been read, so no handler can read (or buffer) past the cap. Not thread-safe: one
 * reader per request.
 */
final class BoundedInputStream extends FilterInputStream {

  /** Thrown (as an {@link IOException}, so it passes through parsers) when the cap is passed. */
  static final class TooLargeException extends IOException {
    private static final long serialVersionUID = 1L;
    private final long limit;

    TooLargeException(long limit) {
      super("request body exceeds " + limit + " bytes", null);
      this.limit = limit;
    }

    long limit() {
      return limit;
    }

    @Override
    public synchronized Throwable fillInStackTrace() {
      return this;
    }
  }

  private final long limit;
  private long count;

  BoundedInputStream(InputStream in, long limit) {
    super(in);
    this.limit = limit;
  }

  @Override
  public int read() throws IOException {
    int b = super.read();
    if (b >= 0) {
      advance(1);
    }
    return b;
  }

  @Override
  public int read(byte[] buf, int off, int len) throws IOException {
    // Read at most one byte past the cap: enough to know it was passed.
    long room = limit - count + 1;
    int n = super.read(buf, off, (int) Math.min(len, Math.max(1, room)));
    if (n > 0) {
      advance(n);
    }
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    long skipped = super.skip(Math.min(n, limit - count + 1));
    advance(skipped);
    return skipped;
  }

  @Override
  public boolean markSupported() {
    return false;
  }

  /** Bytes read so far. */
  long count() {
    return count;
  }

  private void advance(long n) throws TooLargeException {
    count += n;
    if (count > limit) {
      throw new TooLargeException(limit);
    }
  }
}
