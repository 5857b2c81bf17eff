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
 * into it; {@link #claim} tells it whether its bytes are still there, else it copies again from
 * the message's first byte. Nothing outside the copied range is read, so bytes of another connection
 * left beyond it are never seen.
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

  static HeadScratch get() {
    return LOCAL.get();
  }

  /**
   * Makes {@code parser} the array's owner. @return true when it was not (another parser copied
   * into the array since, or none yet): the parser's bytes are not there, it copies from 0 again
   */
  boolean claim(Object parser) {
    if (owner == parser) {
      return false;
    }
    owner = parser;
    return true;
  }

  /**
   * Makes the array hold at least the first {@code need} bytes of the message starting at {@code
   * base} in {@code buf} (all that have come, if fewer), when it holds the first {@code held}:
   * copies in windows that start at 512 bytes and double, so a body read with the head is not
   * copied. The array grows to at most twice the largest head a parser allows.
   *
   * @return how many bytes of the message the array now holds
   */
  int hold(ByteBuf buf, int base, int held, int need) {
    if (need <= held) {
      return held;
    }
    int to = Math.min(buf.readableBytes(), Math.max(need, Math.max(512, 2 * held)));
    if (to > bytes.length) {
      bytes = java.util.Arrays.copyOf(bytes, Math.max(to, 2 * bytes.length));
    }
    buf.getBytes(base + held, bytes, held, to - held);
    return to;
  }
}
