package io.agentcube.sandboxd;

import io.agentcube.jail.IsolationMode;
import io.agentcube.jail.Jail;
import io.agentcube.jail.UidPool;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sandboxes of a host-mode sandboxd: one workspace directory each, {@code DIR/<id>}, created
 * and deleted through the admin API ({@link HostHandler}); PicoD requests reach the one their
 * token's {@code sandbox_id} names.
 *
 * <p>Layout. {@code DIR} is root's, mode 0711: a sandbox's uid can pass through it (the jail
 * binds {@code DIR/<id>} as that uid) but cannot list it. {@code DIR/<id>} is mode 0700, owned by
 * the sandbox's uid when sandboxd runs as root ({@code separateUids}), else by sandboxd's user.
 * {@code DIR/.staging} (0700) holds uploads in flight: on the same file system, so an upload or a
 * new directory is put into place by one {@code renameat} (see {@link FileHandler}).
 * {@code DIR/.sandboxd-host} marks the directory as a host's: a host starting on a directory that
 * has entries but no marker refuses to start instead of deleting someone's files; with the marker,
 * what a previous host left is removed.
 *
 * <p>Uids: {@code --uid-base} to {@code --uid-base + --max-sandboxes - 1}, one per sandbox. A
 * previous host's processes need no hunting at start: a jail dies with the process that started
 * it ({@code --die-with-parent}). Two hosts on one machine must be given disjoint ranges.
 *
 * <p>Deleting a sandbox: refuse its new commands, kill the running ones and wait for them
 * (bounded, {@link #KILL_WAIT}), remove the directory without following links, and hand the uid
 * to the {@link UidSweeper}, which frees it once no process of it is alive (killing what is
 * left), so a uid is never handed to a new sandbox while a process of the old one could be
 * alive. At close the host waits (bounded) for the sweeper too.
 *
 * <p>Concurrency: creation is serialised on this object (the cap check and the insert are one
 * step); lookups read a concurrent map. Deletion blocks its caller for up to a few seconds and
 * runs concurrently with everything else. The map is bounded by {@code --max-sandboxes} and an
 * entry leaves it when its sandbox is deleted or the host closes.
 */
final class SandboxHost implements Workspaces {

  /** Sandbox ids: lower-case letters, digits and dashes, 1 to 63, not starting with a dash. */
  static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
  /** Where a sandbox's workspace is inside its jail (without the jail: at its host path). */
  static final String JAIL_ROOT = "/workspace";
  /** How long a delete waits for the sandbox's commands to die. */
  static final Duration KILL_WAIT = Duration.ofSeconds(5);
  static final String MARKER = ".sandboxd-host";
  static final String STAGING = ".staging";

  private static final Logger log = LoggerFactory.getLogger(SandboxHost.class);
  private static final Set<PosixFilePermission> RWX_OWNER = PosixFilePermissions.fromString("rwx------");

  private final Path root;
  private final Path staging;
  private final int maxSandboxes;
  private final int maxExecutionsPerSandbox;
  private final List<Path> readOnly;
  private final UidPool uids; // null: commands run as sandboxd's own user
  private final UidSweeper sweeper; // frees deleted sandboxes' uids; null without uids
  private final String jailRoot; // null: commands see the workspace at its host path (no jail)
  private final String sharedUidReason; // why a root host gives its sandboxes no uid each, or null
  private final Map<String, Workspace> sandboxes = new ConcurrentHashMap<>();
  private boolean closed; // guarded by this

  private SandboxHost(Path root, SandboxdOptions options, UidPool uids, boolean jailed,
      String sharedUidReason) {
    this.sharedUidReason = sharedUidReason;
    this.jailRoot = jailed ? JAIL_ROOT : null;
    this.root = root;
    this.staging = root.resolve(STAGING);
    this.maxSandboxes = options.maxSandboxes();
    this.maxExecutionsPerSandbox = options.maxExecutionsPerSandbox();
    this.readOnly = options.readOnly();
    this.uids = uids;
    this.sweeper = uids == null ? null : new UidSweeper(uids::release, UidSweeper.PROC, KILL_WAIT);
  }

  /**
   * Prepares {@code --workspaces DIR} (see the class comment) and removes what a previous host
   * left in it.
   *
   * @param jailed commands run in the jail, which shows a workspace at {@link #JAIL_ROOT}
   * @param separateUids give every sandbox a uid of its own (sandboxd runs as root)
   * @throws IllegalStateException when DIR holds something that is not a host's
   * @throws IOException when DIR cannot be prepared
   */
  static SandboxHost open(SandboxdOptions options, boolean jailed, boolean separateUids)
      throws IOException {
    Path dir = options.workspaces();
    Files.createDirectories(dir);
    Path root = dir.toRealPath();
    List<String> foreign = new ArrayList<>();
    List<String> stale = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(root)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (name.equals(MARKER) || name.equals(STAGING)) {
          continue;
        }
        (ID.matcher(name).matches() ? stale : foreign).add(name);
      }
    }
    boolean marked = Files.exists(root.resolve(MARKER));
    if (!marked && !(foreign.isEmpty() && stale.isEmpty())) {
      throw new IllegalStateException("--workspaces " + root + " is not empty and was not made by"
          + " a sandboxd host (no " + MARKER + "): refusing to delete what is in it");
    }
    if (!foreign.isEmpty()) {
      throw new IllegalStateException("--workspaces " + root + " holds entries that are not"
          + " sandboxes: " + String.join(", ", foreign.subList(0, Math.min(5, foreign.size()))));
    }
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx--x--x"));
    String sharedUidReason = null;
    if (separateUids) {
      Path closed = Jail.closedDirectory(root.getParent());
      if (closed != null && options.isolation() == IsolationMode.REQUIRED) {
        throw new IllegalStateException("--isolation required, but " + closed + " is not"
            + " traversable by others, so sandboxes would run as root: chmod o+x " + closed
            + ", or pick another --workspaces");
      }
      if (closed != null) {
        // As the process backend does for agent processes: jailed still, one uid for all.
        sharedUidReason = closed + " is not traversable by others";
        log.warn("sandboxes share this process's uid: {} (chmod o+x {}, or pick another"
            + " --workspaces)", sharedUidReason, closed);
      }
    }
    for (String name : stale) {
      log.info("removing workspace left by a previous host id={}", name);
      removeEntry(root.resolve(name));
    }
    Path staging = root.resolve(STAGING);
    removeEntry(staging);
    Files.createDirectory(staging, PosixFilePermissions.asFileAttribute(RWX_OWNER));
    Files.setPosixFilePermissions(staging, RWX_OWNER);
    if (!marked) {
      Files.writeString(root.resolve(MARKER), "workspaces of a sandboxd host; its entries are"
          + " deleted when the host starts\n");
    }
    return new SandboxHost(root, options, separateUids && sharedUidReason == null
        ? UidPool.reserve(options.uidBase(), options.maxSandboxes(), UidPool.LOCK_DIR) : null, jailed, sharedUidReason);
  }

  /** Removes an entry of the root: a directory tree without following links, or a link. */
  private static void removeEntry(Path entry) throws IOException {
    if (Files.isSymbolicLink(entry) || Files.isRegularFile(entry, LinkOption.NOFOLLOW_LINKS)) {
      Files.delete(entry);
    } else if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
      new WorkspacePaths(entry).removeAll();
    }
  }

  /** The real path of {@code --workspaces}. */
  Path root() {
    return root;
  }

  /** Where uploads are staged: on the workspaces' file system, readable by root only. */
  Path staging() {
    return staging;
  }

  /** True when every sandbox has a uid of its own. */
  boolean separateUids() {
    return uids != null;
  }

  /** Why a root host with the jail still gives its sandboxes one shared uid, or null. */
  String sharedUidReason() {
    return sharedUidReason;
  }

  /**
   * Creates sandbox {@code id}: its directory (see the class comment), its uid, its record.
   *
   * @throws SandboxdException 400 for a bad id, 409 {@code SANDBOX_EXISTS}, 429 when the host
   *     holds {@code --max-sandboxes} already or is closing
   */
  Workspace create(String id, Map<String, String> env, boolean network) {
    if (id == null || !ID.matcher(id).matches()) {
      throw SandboxdException.badRequest(
          "id must match [a-z0-9][a-z0-9-]{0,62}, was " + (id == null ? "missing" : "\"" + id + "\""));
    }
    synchronized (this) {
      if (closed) {
        throw SandboxdException.reject(ErrorCode.SERVER_OVERLOADED, "the host is shutting down");
      }
      if (sandboxes.containsKey(id)) {
        throw SandboxdException.reject(ErrorCode.SANDBOX_EXISTS, "sandbox " + id + " exists");
      }
      if (sandboxes.size() >= maxSandboxes) {
        throw SandboxdException.reject(ErrorCode.SERVER_OVERLOADED,
            "this host holds " + maxSandboxes + " sandboxes already");
      }
      int uid = uids == null ? -1 : acquireUid();
      Path dir = root.resolve(id);
      try {
        if (Files.exists(dir)) {
          // A delete that could not remove it; nothing of that sandbox runs any more.
          log.warn("removing leftover workspace id={}", id);
          removeEntry(dir);
        }
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(RWX_OWNER));
        Files.setPosixFilePermissions(dir, RWX_OWNER); // exactly, whatever the umask
        if (uid >= 0) {
          Files.setAttribute(dir, "unix:gid", uid);
          Files.setAttribute(dir, "unix:uid", uid);
        }
        Workspace ws = new Workspace(id, new WorkspacePaths(dir, jailRoot), env, network, uid,
            readOnly, new SessionPin(null), maxExecutionsPerSandbox);
        sandboxes.put(id, ws);
        log.info("sandbox created id={} uid={} network={}", id, uid, network);
        return ws;
      } catch (IOException | RuntimeException e) {
        if (uid >= 0) {
          uids.release(uid);
        }
        try {
          removeEntry(dir);
        } catch (IOException cleanup) {
          e.addSuppressed(cleanup);
        }
        throw SandboxdException.internal("cannot create workspace of sandbox " + id, e);
      }
    }
  }

  /**
   * Deletes sandbox {@code id} (see the class comment). Blocking, up to about
   * {@link #KILL_WAIT} plus the time to remove its files.
   *
   * @throws SandboxdException 404 {@code SANDBOX_NOT_FOUND} when there is no such sandbox or it
   *     is being deleted already
   */
  void delete(String id) {
    Workspace ws = id == null ? null : sandboxes.get(id);
    if (ws == null || !ws.markClosed()) {
      throw SandboxdException.reject(ErrorCode.SANDBOX_NOT_FOUND, "sandbox not found");
    }
    remove(ws);
  }

  private void remove(Workspace ws) {
    boolean stopped = ws.close(KILL_WAIT);
    Path leftover = null;
    try {
      ws.paths().removeAll();
    } catch (IOException e) {
      // The jail's last processes may still write into it: the sweeper retries once they are gone
      leftover = ws.paths().root();
      if (ws.uid() < 0) {
        log.warn("cannot remove workspace id={} reason={}", ws.id(), e.toString());
      }
    }
    sandboxes.remove(ws.id(), ws);
    if (ws.uid() >= 0) {
      sweeper.quarantine(ws.uid(), leftover);
    }
    log.info("sandbox deleted id={} commandsStopped={}", ws.id(), stopped);
  }

  /**
   * A free uid. When all are taken, some may only wait for the sweeper (a delete just before
   * this create, at the cap): one sweep now frees those that run nothing.
   */
  private int acquireUid() {
    try {
      return uids.acquire();
    } catch (IllegalStateException full) {
      sweeper.sweepOnce();
    }
    try {
      return uids.acquire();
    } catch (IllegalStateException full) {
      throw SandboxdException.reject(ErrorCode.SERVER_OVERLOADED,
          "every sandbox uid is in use or still running a deleted sandbox's processes; try again");
    }
  }

  /** The sandboxes, sorted by id. */
  List<Workspace> list() {
    List<Workspace> all = new ArrayList<>(sandboxes.values());
    all.sort(Comparator.comparing(Workspace::id));
    return all;
  }

  /** How many sandboxes the host holds (being deleted included). */
  int count() {
    return sandboxes.size();
  }

  @Override
  public Workspace admit(TokenVerifier.Claims claims) {
    if (claims == null || claims.sandboxId() == null || claims.sandboxId().isEmpty()) {
      throw SandboxdException.unauthorized("invalid token: missing sandbox_id");
    }
    Workspace ws = sandboxes.get(claims.sandboxId());
    if (ws == null || !ws.isOpen()) {
      throw SandboxdException.reject(ErrorCode.SANDBOX_NOT_FOUND, "sandbox not found");
    }
    ws.session().admit(claims.sessionId());
    return ws;
  }

  /** Deletes every sandbox: kills all their commands first, then waits and removes each. */
  @Override
  public void close() {
    synchronized (this) {
      closed = true;
    }
    List<Workspace> all = new ArrayList<>(sandboxes.values());
    for (Workspace ws : all) {
      ws.close(Duration.ZERO); // kill everything at once; remove() below waits for each
    }
    for (Workspace ws : all) {
      remove(ws);
    }
    if (sweeper != null) {
      sweeper.drain(KILL_WAIT);
    }
    if (uids != null) {
      uids.close();
    }
  }
}
