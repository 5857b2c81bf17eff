package io.agentcube.jail;

import java.util.BitSet;

/**
 * Hands out the uids that separate sandboxes from one another (and from everything else on the
 * machine) when the host runs as root: {@code base} … {@code base + size - 1}, lowest free first.
 * A uid goes back only once every process of its sandbox is dead, so no process of the previous
 * owner can touch the next one's files. Bounded by {@code size}; thread-safe.
 */
public final class UidPool {

  private final int base;
  private final int size;
  private final BitSet used;
  private int inUse;

  /**
   * @param base first uid; must be above every uid the machine uses for people or services
   * @param size how many
   */
  public UidPool(int base, int size) {
    if (base < 1000 || size < 1 || (long) base + size > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("uid range must start at >= 1000 and fit an int");
    }
    this.base = base;
    this.size = size;
    this.used = new BitSet(size);
  }

  /**
   * A free uid.
   *
   * @throws IllegalStateException when all are in use (more sandboxes than the range holds)
   */
  public synchronized int acquire() {
    int i = used.nextClearBit(0);
    if (i >= size) {
      throw new IllegalStateException("all " + size + " sandbox uids are in use");
    }
    used.set(i);
    inUse++;
    return base + i;
  }

  /** Marks {@code uid} as in use (a sandbox found at start); false if it was already taken. */
  public synchronized boolean claim(int uid) {
    int i = uid - base;
    if (i < 0 || i >= size || used.get(i)) {
      return false;
    }
    used.set(i);
    inUse++;
    return true;
  }

  /** Gives {@code uid} back; ignores uids not from this pool or not in use. */
  public synchronized void release(int uid) {
    int i = uid - base;
    if (i >= 0 && i < size && used.get(i)) {
      used.clear(i);
      inUse--;
    }
  }

  /** Uids handed out now. */
  public synchronized int inUse() {
    return inUse;
  }
}
