package io.agentcube.sandboxd;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Finds processes by what {@code /proc} says about them (Linux): by a marker in their
 * environment, or by their real user id. For the cases where the process tree does not say
 * enough: a child re-parented to init after a double fork, or anything a sandbox's uid still runs.
 *
 * <p>Each call scans every process once (a few ms for a few hundred processes); stateless and
 * thread-safe. A process that exits during the scan is skipped; one not ours to read (another
 * user's environ) is skipped too.
 */
final class ProcTable {

  private ProcTable() {}

  /** Live processes whose environment holds the entry {@code name=value}, never this JVM. */
  static List<ProcessHandle> withEnvironment(String name, String value) {
    byte[] needle = (name + "=" + value).getBytes(StandardCharsets.UTF_8);
    long self = ProcessHandle.current().pid();
    List<ProcessHandle> found = new ArrayList<>();
    ProcessHandle.allProcesses().forEach(h -> {
      if (h.pid() != self && environContains(h.pid(), needle)) {
        found.add(h);
      }
    });
    return found;
  }

  /** Live processes whose real user id is {@code uid}, never this JVM. */
  static List<ProcessHandle> ofUid(int uid) {
    String wanted = Integer.toString(uid);
    long self = ProcessHandle.current().pid();
    List<ProcessHandle> found = new ArrayList<>();
    ProcessHandle.allProcesses().forEach(h -> {
      if (h.pid() != self && wanted.equals(realUid(h.pid()))) {
        found.add(h);
      }
    });
    return found;
  }

  /** The real uid from {@code /proc/<pid>/status}, or null when it cannot be read. */
  static String realUid(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"),
          StandardCharsets.ISO_8859_1)) {
        if (line.startsWith("Uid:")) {
          String[] f = line.substring(4).strip().split("\\s+");
          return f.length > 0 ? f[0] : null;
        }
      }
    } catch (IOException | SecurityException e) {
      // gone, or no /proc
    }
    return null;
  }

  /** True when the process exists and is not a zombie. */
  static boolean running(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"),
          StandardCharsets.ISO_8859_1);
      return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
    } catch (IOException | SecurityException | StringIndexOutOfBoundsException e) {
      return false;
    }
  }

  private static boolean environContains(long pid, byte[] needle) {
    byte[] env;
    try {
      env = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ"));
    } catch (IOException | SecurityException e) {
      return false; // gone, another user's, or no /proc: not ours to kill
    }
    // Entries are NUL-separated; match a whole entry.
    int start = 0;
    for (int i = 0; i <= env.length; i++) {
      if (i == env.length || env[i] == 0) {
        if (i - start == needle.length && Arrays.equals(env, start, i, needle, 0, needle.length)) {
          return true;
        }
        start = i + 1;
      }
    }
    return false;
  }
}
