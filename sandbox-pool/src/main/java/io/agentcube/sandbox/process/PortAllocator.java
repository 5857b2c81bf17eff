package io.agentcube.sandbox.process;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Hands out free loopback ports for sandboxes.
 *
 * <p>Ports are drawn at random from below the kernel's ephemeral range
 * ({@code /proc/sys/net/ipv4/ip_local_port_range}), and one is handed out when a test bind on it
 * succeeds. Staying out of the ephemeral range matters: the kernel gives ports from that range to
 * outgoing connections (the proxy's own, to other sandboxes), so a port picked there could be
 * taken as a connection's source port between the check and the sandbox's own bind. Ports handed
 * out recently are not handed out again, so two sandboxes starting at once never share one.
 * A foreign process taking the port in the short gap is still possible and makes that start fail
 * (the sandbox exits or never becomes ready); the pool then starts another.
 *
 * <p>Blocking (binds sockets); call off the event loop. Thread-safe.
 */
final class PortAllocator {

  private static final int REMEMBERED = 4096;
  private static final int ATTEMPTS = 256;
  private final LinkedHashSet<Integer> recent = new LinkedHashSet<>();
  private final int low;
  private final int high;

  PortAllocator() {
    int ephemeralLow = ephemeralLow();
    // [10000, start of the ephemeral range); the fallback keeps a range of at least 8000 ports.
    this.low = 10_000;
    this.high = Math.max(ephemeralLow - 1, 18_000);
  }

  private static int ephemeralLow() {
    try {
      String[] range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+");
      return Integer.parseInt(range[0]);
    } catch (IOException | RuntimeException e) {
      return 32_768; // Linux's default
    }
  }

  int allocate() {
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      int port = ThreadLocalRandom.current().nextInt(low, high + 1);
      synchronized (recent) {
        if (recent.contains(port)) {
          continue;
        }
      }
      if (!bindable(port)) {
        continue;
      }
      synchronized (recent) {
        if (recent.add(port)) {
          if (recent.size() > REMEMBERED) {
            recent.remove(recent.iterator().next());
          }
          return port;
        }
      }
    }
    throw new IllegalStateException("no free loopback port in " + low + "-" + high + " after "
        + ATTEMPTS + " attempts");
  }

  private static boolean bindable(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
