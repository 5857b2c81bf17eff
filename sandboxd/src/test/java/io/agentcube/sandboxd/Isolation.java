package io.agentcube.sandboxd;

import static org.junit.jupiter.api.Assertions.fail;

import io.agentcube.jail.IsolationMode;
import io.agentcube.jail.Jail;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * For suites that need the jail: where bubblewrap does not work they abort with the reason, and
 * fail instead when {@code AGENTCUBE_REQUIRE_ISOLATION=1} (CI machines that must isolate). Never
 * a silent pass. Also finds processes from outside, by a marker in their argv or by uid.
 */
final class Isolation {

  private Isolation() {}

  /** The working jail of this machine, or an aborted (or, when required, failed) test. */
  static Jail requireJail() {
    Jail jail = Jail.probe(IsolationMode.AUTO);
    if (!jail.enabled()) {
      String why = "sandboxes cannot be jailed on this machine: " + jail.describe();
      if ("1".equals(System.getenv("AGENTCUBE_REQUIRE_ISOLATION"))) {
        fail(why + " (AGENTCUBE_REQUIRE_ISOLATION=1)");
      }
      Assumptions.abort(why);
    }
    return jail;
  }

  /** Live (not zombie) processes whose command line contains {@code marker}, never this JVM. */
  static List<Long> withArgument(String marker) {
    byte[] needle = marker.getBytes(StandardCharsets.UTF_8);
    long self = ProcessHandle.current().pid();
    List<Long> found = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      procs.map(p -> p.getFileName().toString()).filter(n -> n.matches("\\d+")).forEach(n -> {
        long pid = Long.parseLong(n);
        if (pid != self && contains(cmdline(pid), needle) && ProcTable.running(pid)) {
          found.add(pid);
        }
      });
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return found;
  }

  /** Live (not zombie) processes of {@code uid}. */
  static List<Long> ofUid(int uid) {
    List<Long> pids = new ArrayList<>();
    for (ProcessHandle h : ProcTable.ofUid(uid)) {
      if (ProcTable.running(h.pid())) {
        pids.add(h.pid());
      }
    }
    return pids;
  }

  private static byte[] cmdline(long pid) {
    try {
      return Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
    } catch (IOException e) {
      return new byte[0];
    }
  }

  private static boolean contains(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
