package io.agentcube.sandbox;

import java.util.concurrent.atomic.AtomicInteger;

/** Counts requests waiting for a cold start over all pools, up to a cap. Thread-safe. */
final class ColdStartQueue {
  private final int capacity;
  private final AtomicInteger depth = new AtomicInteger();

  ColdStartQueue(int capacity) {
    this.capacity = capacity;
  }

  boolean tryEnter() {
    while (true) {
      int d = depth.get();
      if (d >= capacity) {
        return false;
      }
      if (depth.compareAndSet(d, d + 1)) {
        return true;
      }
    }
  }

  void leave() {
    depth.decrementAndGet();
  }

  int depth() {
    return depth.get();
  }
}
