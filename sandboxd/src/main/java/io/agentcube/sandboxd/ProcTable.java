package io.agentcube.sandboxd;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

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

  private static final Path PROC = Path.of("/proc");

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
    List<ProcessHandle> found = new ArrayList<>();
    for (long pid : runningOfUid(uid)) {
      ProcessHandle.of(pid).ifPresent(found::add);
    }
    return found;
  }

  /**
   * The pids of the processes whose real user id is {@code uid} and that are not zombies, never
   * this JVM's: one read of {@code /proc/<pid>/status} per process (its State and Uid lines), so
   * a delete's check that its uid runs nothing costs about a millisecond per few hundred
   * processes.
   */
  static List<Long> runningOfUid(int uid) {
    return runningOfUids(Set.of(uid)).getOrDefault(uid, List.of());
  }

  /** {@link #runningOfUid} for several uids in one scan; a uid that runs nothing is absent. */
  static Map<Integer, List<Long>> runningOfUids(Set<Integer> uids) {
    long self = ProcessHandle.current().pid();
    Map<Integer, List<Long>> found = new HashMap<>();
    try (DirectoryStream<Path> procs = Files.newDirectoryStream(PROC)) {
      for (Path proc : procs) {
        long pid = pid(proc.getFileName().toString());
        if (pid > 0 && pid != self) {
          String[] stateAndUid = stateAndUid(proc.resolve("status"));
          if (stateAndUid != null && !stateAndUid[0].startsWith("Z")) {
            int uid = parseUid(stateAndUid[1]);
            if (uids.contains(uid)) {
              found.computeIfAbsent(uid, u -> new ArrayList<>()).add(pid);
            }
          }
        }
      }
    } catch (IOException | DirectoryIteratorException e) {
      // no /proc: nothing found
    }
    return found;
  }

  private static int parseUid(String s) {
    try {
      return Integer.parseUnsignedInt(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** True when {@code pid} is, right now, a process of real user id {@code uid} and no zombie. */
  static boolean runningAs(long pid, int uid) {
    String[] stateAndUid = stateAndUid(PROC.resolve(Long.toString(pid)).resolve("status"));
    return stateAndUid != null && !stateAndUid[0].startsWith("Z")
        && Integer.toString(uid).equals(stateAndUid[1]);
  }

  private static long pid(String name) {
    if (name.isEmpty() || name.length() > 18) {
      return -1;
    }
    for (int i = 0; i < name.length(); i++) {
      if (name.charAt(i) < '0' || name.charAt(i) > '9') {
        return -1;
      }
    }
    return Long.parseLong(name);
  }

  /** {State, real uid} from a status file (both in its first kilobyte), or null when gone. */
  private static String[] stateAndUid(Path status) {
    byte[] head = new byte[1024];
    int n;
    try (InputStream in = Files.newInputStream(status)) {
      n = in.readNBytes(head, 0, head.length);
    } catch (IOException | SecurityException e) {
      return null; // gone
    }
    String state = null;
    String uid = null;
    int start = 0;
    for (int i = 0; i < n && (state == null || uid == null); i++) {
      if (head[i] == '\n') {
        String line = new String(head, start, i - start, StandardCharsets.ISO_8859_1);
        if (line.startsWith("State:")) {
          state = line.substring(6).strip();
        } else if (line.startsWith("Uid:")) {
          String[] f = line.substring(4).strip().split("\\s+");
          uid = f.length > 0 ? f[0] : null;
        }
        start = i + 1;
      }
    }
    return state == null || uid == null ? null : new String[] {state, uid};
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
