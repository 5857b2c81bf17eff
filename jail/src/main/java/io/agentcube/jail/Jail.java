package io.agentcube.jail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a command into one that runs jailed under bubblewrap ({@code bwrap}), as
 * {@code agentcube-jail-exec [--uid=U] --LIMIT=N… -- bwrap … -- command}, or where that launcher
 * is not available {@code [setpriv --reuid U …] prlimit … -- bwrap … -- command}:
 *
 * <ul>
 *   <li><b>mounts</b>: a fresh root with {@code /usr} and {@code /etc} read-only, the
 *       {@code /bin}, {@code /sbin}, {@code /lib*} entries as on the host (links or read-only
 *       binds), the {@link JailSpec} mounts, a private {@code /tmp} (tmpfs of bounded size),
 *       {@code /proc} of its own PID namespace and a minimal {@code /dev}. Nothing else of the
 *       host exists inside: no other workspace, state directory, configuration or key.</li>
 *   <li><b>namespaces</b>: all of them (user, mount, PID, IPC, UTS, cgroup, and network unless
 *       the spec allows it); no further user namespaces inside; a new session (no terminal
 *       injection); {@code --die-with-parent}, so killing the {@code bwrap} process ends the PID
 *       namespace and with it every process the command started, however it detached.</li>
 *   <li><b>identity</b>: as root, each sandbox runs as its own uid ({@link UidPool}) with no
 *       supplementary groups and no capabilities; otherwise as the caller's uid, still without
 *       capabilities.</li>
 *   <li><b>limits</b>: rlimits, inherited by everything inside. No cgroup: see
 *       docs/isolation.md.</li>
 * </ul>
 *
 * <p>The launcher. {@code agentcube-jail-exec} ({@code src/main/c/jail-exec.c}, built by this
 * module's Maven build and carried in its jar) sets the rlimits, and as root switches to the
 * sandbox's uid with no groups and no capabilities, in one exec: setpriv then prlimit are two,
 * about 3 ms more per command on the project's machine (docs/isolation.md). {@link #probe}
 * copies it out of the jar into a fresh directory only this process's user can read and uses it
 * when a test jail through it works; otherwise, saying why, setpriv and prlimit.
 *
 * <p>The environment is the caller's business: pass an explicit one to the process (start from
 * {@link #baseEnvironment}); {@code bwrap} hands it on unchanged.
 *
 * <p>{@link #probe} decides once whether jailing works here by running a real jail. Immutable.
 */
public final class Jail {

  private static final Logger log = LoggerFactory.getLogger(Jail.class);
  /** The system entries that are either links (merged /usr) or directories to bind read-only. */
  private static final List<String> SYSTEM_LINKS =
      List.of("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32");

  private final boolean enabled;
  private final String description;
  private final String bwrap;
  private final String setpriv;
  private final String prlimit;
  private final String launcher; // agentcube-jail-exec, or null: setpriv + prlimit
  private final boolean root;
  private final boolean required;
  private final List<String> systemArgs;

  private Jail(boolean enabled, String description, String bwrap, boolean root,
      List<String> systemArgs, String launcher, boolean required) {
    this.enabled = enabled;
    this.description = description;
    this.bwrap = bwrap;
    this.setpriv = find("setpriv");
    this.prlimit = find("prlimit");
    this.launcher = launcher;
    this.root = root;
    this.required = required;
    this.systemArgs = systemArgs;
  }

  /** A jail that never jails (mode off, or a test that does not need one). */
  public static Jail disabled(String why) {
    return new Jail(false, "off: " + why, null, false, List.of(), null, false);
  }

  /**
   * Finds out whether jailing works on this machine by running {@code true} in a real jail (as a
   * sandbox uid when root). Blocking, about 10 ms.
   *
   * @throws IllegalStateException in mode {@link IsolationMode#REQUIRED} when it does not work,
   *     with the reason
   */
  public static Jail probe(IsolationMode mode) {
    if (mode == IsolationMode.OFF) {
      return disabled("isolation: off");
    }
    String reason;
    String bwrap = find("bwrap");
    boolean root = "root".equals(System.getProperty("user.name")) || uid() == 0;
    if (bwrap == null) {
      reason = "bwrap not found (install the bubblewrap package)";
    } else if (root && find("setpriv") == null) {
      reason = "setpriv not found (util-linux)";
    } else if (find("prlimit") == null) {
      reason = "prlimit not found (util-linux)";
    } else {
      List<String> system = systemArgs();
      String launcher = Launcher.extract();
      String launcherReason = launcher == null ? Launcher.missingReason() : null;
      if (launcher != null) {
        launcherReason = new Jail(true, "", bwrap, root, system, launcher, false).tryRun();
        if (launcherReason != null) {
          launcher = null;
        }
      }
      reason = launcher != null ? null : new Jail(true, "", bwrap, root, system, null, false).tryRun();
      if (reason == null) {
        String desc = version(bwrap) + ", " + (root ? "uid per sandbox" : "shared uid")
            + ", no cgroup" + (launcher == null ? ", setpriv + prlimit" : "");
        if (launcher == null) {
          log.info("agentcube-jail-exec not used ({}): jails start through setpriv and prlimit,"
              + " about 3 ms slower", launcherReason);
        }
        log.info("isolation on: {}", desc);
        return new Jail(true, desc, bwrap, root, system, launcher,
            mode == IsolationMode.REQUIRED);
      }
    }
    if (mode == IsolationMode.REQUIRED) {
      throw new IllegalStateException("isolation: required, but sandboxes cannot be jailed here: "
          + reason);
    }
    log.warn("SANDBOXES ARE NOT ISOLATED: {}; sandbox code runs with this process's user and"
        + " sees its files (isolation: auto; set isolation: required to refuse to start)", reason);
    return disabled(reason);
  }

  /** Whether commands are jailed. */
  public boolean enabled() {
    return enabled;
  }

  /** One line for logs, {@code /health} and runtime status, e.g. {@code bwrap 0.8.0, uid per sandbox}. */
  public String describe() {
    return description;
  }

  /**
   * Whether it was probed with {@link IsolationMode#REQUIRED}: then a caller that cannot give a
   * sandbox a uid of its own as root (it would run as uid 0) must refuse to start instead.
   */
  public boolean required() {
    return required;
  }

  /** Whether every sandbox should get its own uid (the host runs as root and jails). */
  public boolean separateUids() {
    return enabled && root;
  }

  /** The explicit environment every jailed command starts from. */
  public static Map<String, String> baseEnvironment(String home) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
    env.put("HOME", home);
    env.put("LANG", "C.UTF-8");
    env.put("TMPDIR", "/tmp");
    return env;
  }

  /**
   * {@code command} wrapped to run as {@code spec} says; {@code command} itself when disabled.
   * The first process of the result is the one to kill to end everything.
   */
  public List<String> command(JailSpec spec, List<String> command) {
    if (!enabled) {
      return List.copyOf(command);
    }
    List<String> argv = new ArrayList<>(64);
    boolean ownUid = root && spec.uid() >= 0;
    if (launcher != null) {
      argv.add(launcher);
      if (ownUid) {
        argv.add("--uid=" + spec.uid());
      }
    } else {
      if (ownUid) {
        argv.addAll(List.of(setpriv, "--reuid=" + spec.uid(), "--regid=" + spec.uid(),
            "--clear-groups", "--inh-caps=-all", "--"));
      }
      argv.add(prlimit);
    }
    Limits l = spec.limits();
    argv.add("--core=0");
    addLimit(argv, "--as=", l.addressSpace());
    if (root && spec.uid() >= 0) {
      addLimit(argv, "--nproc=", l.processes());
    }
    addLimit(argv, "--cpu=", l.cpuSeconds());
    addLimit(argv, "--fsize=", l.fileSize());
    addLimit(argv, "--nofile=", l.openFiles());
    argv.add("--");
    argv.add(bwrap);
    argv.addAll(List.of("--unshare-all", "--unshare-user", "--disable-userns"));
    if (spec.network()) {
      argv.add("--share-net");
    }
    if (spec.dieWithParent()) {
      argv.add("--die-with-parent");
    }
    argv.addAll(List.of("--new-session", "--hostname", "sandbox", "--cap-drop", "ALL"));
    argv.addAll(systemArgs);
    argv.addAll(List.of("--proc", "/proc", "--dev", "/dev"));
    argv.addAll(List.of("--size", Long.toString(spec.tmpBytes()), "--tmpfs", "/tmp"));
    for (JailSpec.Mount m : spec.mounts()) {
      argv.add(m.writable() ? "--bind" : "--ro-bind");
      argv.add(m.source().toString());
      argv.add(m.target());
    }
    argv.addAll(List.of("--chdir", spec.workdir(), "--"));
    argv.addAll(command);
    return argv;
  }

  private static void addLimit(List<String> argv, String flag, long value) {
    if (value > 0) {
      argv.add(flag + value);
    }
  }

  /** The system part of every jail's root, as this machine lays it out. */
  private static List<String> systemArgs() {
    List<String> args = new ArrayList<>();
    args.addAll(List.of("--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"));
    for (String p : SYSTEM_LINKS) {
      Path path = Path.of(p);
      try {
        if (Files.isSymbolicLink(path)) {
          args.addAll(List.of("--symlink", Files.readSymbolicLink(path).toString(), p));
        } else if (Files.isDirectory(path)) {
          args.addAll(List.of("--ro-bind", p, p));
        }
      } catch (IOException e) {
        // unreadable link: leave it out of the jail
      }
    }
    args.addAll(List.of("--symlink", "/tmp", "/var/tmp"));
    return List.copyOf(args);
  }

  /** Runs {@code true} in a jail; null when it worked, else why not. */
  private String tryRun() {
    Path scratch = null;
    try {
      scratch = Files.createTempDirectory("agentcube-jail-probe");
      int probeUid = root ? 65534 : -1;
      JailSpec spec = JailSpec.builder().bind(scratch, "/workspace", false).workdir("/workspace")
          .limits(Limits.defaults()).uid(probeUid).build();
      if (root) {
        Files.setPosixFilePermissions(scratch, java.nio.file.attribute.PosixFilePermissions
            .fromString("rwxr-xr-x"));
      }
      ProcessBuilder pb = new ProcessBuilder(command(spec, List.of("true")))
          .redirectErrorStream(true);
      pb.environment().clear();
      pb.environment().putAll(baseEnvironment("/workspace"));
      Process p = pb.start();
      byte[] out = p.getInputStream().readNBytes(4096);
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "a test jail did not finish within 10 s";
      }
      if (p.exitValue() != 0) {
        return "a test jail failed (exit " + p.exitValue() + "): "
            + new String(out, StandardCharsets.UTF_8).strip();
      }
      return null;
    } catch (IOException e) {
      return "cannot run bwrap: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    } finally {
      if (scratch != null) {
        try {
          Files.deleteIfExists(scratch);
        } catch (IOException ignored) {
          // a temp dir left behind
        }
      }
    }
  }

  private static String version(String bwrap) {
    try {
      Process p = new ProcessBuilder(bwrap, "--version").redirectErrorStream(true).start();
      String v = new String(p.getInputStream().readNBytes(200), StandardCharsets.UTF_8).strip();
      p.waitFor(5, TimeUnit.SECONDS);
      return v.replace("bubblewrap", "bwrap");
    } catch (IOException e) {
      return "bwrap";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "bwrap";
    }
  }

  /**
   * The first directory, from {@code p} (a directory, or a file's parent) up to {@code /}, that
   * other users cannot pass through ({@code o+x} missing), or null. A sandbox uid can reach
   * {@code p} only when this is null, so callers decide with it whether sandboxes get a uid of
   * their own (the state dir, the host's workspaces) or whether a read-only mount can work.
   */
  public static Path closedDirectory(Path p) throws IOException {
    Path start = Files.isDirectory(p) ? p.toAbsolutePath() : p.toAbsolutePath().getParent();
    for (Path q = start; q != null; q = q.getParent()) {
      if (!Files.getPosixFilePermissions(q).contains(PosixFilePermission.OTHERS_EXECUTE)) {
        return q;
      }
    }
    return null;
  }

  /** The absolute path of {@code program} on PATH (or /usr/bin, /bin), or null. */
  static String find(String program) {
    String path = System.getenv().getOrDefault("PATH", "") + ":/usr/bin:/bin:/usr/sbin:/sbin";
    for (String dir : path.split(":")) {
      if (dir.isEmpty()) {
        continue;
      }
      Path p = Path.of(dir, program);
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    return null;
  }

  private static long uid() {
    try {
      Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      return ((Number) uid).longValue();
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }
}
