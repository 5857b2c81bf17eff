package io.agentcube.proxy.relay;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * One array per thread that {@link RequestHead} and {@link ResponseHead} copy a head into before
 * they scan it: indexing a {@code byte[]} is a bounds check the JIT mostly removes, where {@code
 * ByteBuf.getByte} checks the index and the reference count on every byte and {@code forEachByte}
 * calls its processor through an interface (the parsers were a fifth of the relay's own CPU in the
 * T1 profile, docs/benchmarks.md).
 *
 * <p>A parser owns the array from its first copy until another parser on the same thread copies
 * into it. When that happened, or when it starts its next message, {@link #claim} has it copy
 * again from the message's first byte. Nothing outside the copied range is read, so bytes of
 * another connection left beyond it are never seen.
 */
final class HeadScratch {
  private static final FastThreadLocal<HeadScratch> LOCAL = new FastThreadLocal<>() {
    @Override
    protected HeadScratch initialValue() {
      return new HeadScratch();
    }
  };

  byte[] bytes = new byte[2048];
  /** The parser whose message the array holds. */
  private Object owner;
  /** How many bytes of its owner's message, from the first, the array holds. */
  private int held;

  static HeadScratch get() {
    return LOCAL.get();
  }

  /**
   * Makes {@code parser} the array's owner. Unless it owned it already and goes on with the same
   * message ({@code restart} false), the array holds none of its bytes now: they are copied again
   * from the message's first byte as it scans.
   */
  void claim(Object parser, boolean restart) {
    if (owner != parser || restart) {
      owner = parser;
      held = 0;
    }
  }

  /**
   * Makes the array hold at least the first {@code need} bytes of the owner's message, which
   * starts at {@code base} in {@code buf} (all that have come, if fewer). It copies in windows that
   * start at 512 bytes and double, so a body read with the head is not copied; the array grows to
   * at most twice the largest head a parser allows.
   */
  void hold(ByteBuf buf, int base, int need) {
    if (need <= held) {
      return;
    }
    int to = Math.min(buf.readableBytes(), Math.max(need, Math.max(512, 2 * held)));
    if (to > bytes.length) {
      bytes = java.util.Arrays.copyOf(bytes, Math.max(to, 2 * bytes.length));
    }
    buf.getBytes(base + held, bytes, held, to - held);
    held = to;
  }

  /**
   * Index of the first CR or LF in {@code [from, to)} of the owner's message (see {@link #hold}),
   * copying only as far as it scans; -1 if there is none. {@code to} is at most what has come.
   */
  int findCrlf(ByteBuf buf, int base, int from, int to) {
    int scan = from;
    while (scan < to) {
      hold(buf, base, scan + 1);
      int upTo = Math.min(held, to);
      int found = HttpBytes.findCrlf(bytes, scan, upTo);
      if (found >= 0) {
        return found;
      }
      scan = upTo;
    }
    return -1;
  }
}
