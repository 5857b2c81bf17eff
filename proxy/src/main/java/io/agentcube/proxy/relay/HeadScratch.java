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
 * into it; {@link #owner} tells it whether its bytes are still there, else it copies again from the
 * message's first byte. Nothing outside the copied range is read, so bytes of another connection
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
  Object owner;

  static HeadScratch get() {
    return LOCAL.get();
  }

  /**
   * Copies bytes {@code [from, to)} of the message starting at {@code base} in {@code buf} to the
   * same offsets of the array, growing it as needed (at most to the largest head a parser allows).
   */
  void fill(ByteBuf buf, int base, int from, int to) {
    if (to > bytes.length) {
      bytes = java.util.Arrays.copyOf(bytes, Math.max(to, Math.min(bytes.length * 2, Integer.MAX_VALUE / 2)));
    }
    buf.getBytes(base + from, bytes, from, to - from);
  }
}
