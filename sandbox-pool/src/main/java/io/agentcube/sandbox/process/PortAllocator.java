package io.agentcube.sandbox.process;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.LinkedHashSet;

/**
 * Hands out free loopback ports: the kernel picks one by binding port 0, the socket is closed and
 * the port given to the sandbox. Ports handed out recently are not handed out again, so two
 * sandboxes starting at once never get the same one; a foreign process taking the port in the
 * short gap is possible and makes that start fail (the sandbox exits or never becomes ready).
 *
 * <p>Blocking (binds a socket); call off the event loop. Thread-safe.
 */
final class PortAllocator {

  private static final int REMEMBERED = 4096;
  private final LinkedHashSet<Integer> recent = new LinkedHashSet<>();

  int allocate() {
    for (int attempt = 0; attempt < 64; attempt++) {
      int port;
      try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        socket.setReuseAddress(true);
        port = socket.getLocalPort();
      } catch (IOException e) {
        throw new UncheckedIOException("no free loopback port", e);
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
    throw new IllegalStateException("no free loopback port after 64 attempts");
  }
}
