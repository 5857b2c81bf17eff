package io.agentcube.testenv;

import java.util.HashSet;
import java.util.Set;

/**
 * Hands out IPv4 loopback addresses for test pods: 127.0.0.2 … 127.0.0.254, then 127.0.1.1 …
 * 127.0.1.254, and so on up to 127.255.255.254 (never 127.0.0.1, never a last octet of 0 or
 * 255). Linux routes all of 127.0.0.0/8 to the loopback interface, so a process can bind any of
 * them without configuration.
 *
 * <p>An address is not handed out again while it is held. Allocation goes round from where the
 * last one stopped, so a released address comes back as late as possible: a test that routes to
 * a stale pod IP reaches nothing rather than a newer pod.
 *
 * <p>Not thread-safe: {@link TestKubelet} uses it from its single control thread only.
 */
final class LoopbackAddresses {

  /** 127.0.0.0 as an int; offsets below are added to it. */
  private static final int BASE = 127 << 24;
  private static final int FIRST = 2;                // 127.0.0.2
  private static final int LAST = (1 << 24) - 2;     // 127.255.255.254

  private final Set<Integer> held = new HashSet<>();
  private int next = FIRST;

  /**
   * Returns a free address and marks it held.
   *
   * @throws IllegalStateException when every address in 127.0.0.0/8 is held
   */
  String allocate() {
    for (int tried = 0; tried <= LAST; tried++) {
      int candidate = next;
      next = candidate >= LAST ? FIRST : candidate + 1;
      int lastOctet = candidate & 0xff;
      if (lastOctet == 0 || lastOctet == 255 || held.contains(candidate)) {
        continue;
      }
      held.add(candidate);
      return format(candidate);
    }
    throw new IllegalStateException("all loopback addresses in 127.0.0.0/8 are held by pods");
  }

  /** Makes {@code ip} free again; an address not held (or not from here) is ignored. */
  void release(String ip) {
    held.remove(parse(ip));
  }

  /** How many addresses are held. */
  int held() {
    return held.size();
  }

  private static String format(int offset) {
    int address = BASE | offset;
    return (address >>> 24) + "." + ((address >>> 16) & 0xff) + "." + ((address >>> 8) & 0xff)
        + "." + (address & 0xff);
  }

  private static int parse(String ip) {
    String[] parts = ip.split("\\.");
    if (parts.length != 4 || !"127".equals(parts[0])) {
      return -1;
    }
    return (Integer.parseInt(parts[1]) << 16) | (Integer.parseInt(parts[2]) << 8)
        | Integer.parseInt(parts[3]);
  }
}
