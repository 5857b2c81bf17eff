package io.agentcube.sandboxd;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Keeps the first {@code limit} bytes of one output stream of a command and counts the rest,
 * which it reads and discards, so a chatty command neither blocks on a full pipe nor fills the
 * heap. {@link #drain} runs on a drainer thread; {@link #text} and {@link #seal} may be called
 * from another thread at any time (all are synchronized on this). After {@link #seal} nothing
 * more is kept, so a drainer left reading a background process's pipe holds no growing buffer.
 */
final class OutputCapture {

  private static final int CHUNK = 8192;

  private final long limit;
  private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
  private long discarded;
  private boolean sealed;

  OutputCapture(long limit) {
    this.limit = limit;
  }

  /** Reads {@code in} to its end (blocking); an I/O error ends the capture quietly. */
  void drain(InputStream in) {
    byte[] chunk = new byte[CHUNK];
    try (in) {
      int n;
      while ((n = in.read(chunk)) >= 0) {
        append(chunk, n);
      }
    } catch (IOException e) {
      // The stream was closed under us (process killed): keep what we have.
    }
  }

  synchronized void append(byte[] bytes, int len) {
    if (sealed) {
      return;
    }
    long room = limit - kept.size();
    int keep = (int) Math.max(0, Math.min(room, len));
    kept.write(bytes, 0, keep);
    discarded += len - keep;
  }

  /** Returns {@link #text()} and stops keeping anything read from now on. */
  synchronized String seal() {
    String text = text();
    sealed = true;
    kept.reset();
    return text;
  }

  /** Bytes read and thrown away after the limit. */
  synchronized long discarded() {
    return discarded;
  }

  /**
   * What was kept, decoded as UTF-8 (invalid sequences become U+FFFD), followed by a one-line
   * marker when output was discarded.
   */
  synchronized String text() {
    String s = kept.toString(StandardCharsets.UTF_8);
    if (discarded == 0) {
      return s;
    }
    return s
        + (s.endsWith("\n") ? "" : "\n")
        + "[sandboxd: output truncated after "
        + kept.size()
        + " bytes; "
        + discarded
        + " more bytes discarded]\n";
  }
}
