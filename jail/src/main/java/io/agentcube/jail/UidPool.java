package io.agentcube.jail;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands out the uids that separate sandboxes from one another (and from everything else on the
 * machine) when the host runs as root: {@code base} … {@code base + size - 1}. A uid goes back
 * only once every process of its sandbox is dead, so no process of the previous owner can touch
 * the next one's files; and a freed uid is handed out again as late as possible (round robin,
 * like pids): under churn a uid taken right after its release got the next sandbox's first
 * command SIGKILLed now and then (exit 137, about 1 in 50 cold sessions; none in 2 100 with round
 * robin, bench/churn.py T9) while the kernel was still tearing down the previous owner's jail.
 * Bounded by {@code size}; thread-safe.
 *
 * <p>Several hosts on one machine (two proxies, or a restarted one while the old host still shuts
 * down) must not hand out the same uids: a host kills whatever a freed uid still runs, so a shared
 * uid let one host's delete SIGKILL another host's commands. {@link #reserve} takes the range
 * machine-wide: it locks one file per block of {@value #BLOCK} uids under {@link #LOCK_DIR} and
 * holds the locks for the life of the process (the kernel drops them when it dies), moving up to
 * the next free blocks when another process holds them.
 */
public final class UidPool implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(UidPool.class);

  /** Uids are reserved machine-wide in blocks of this many. */
  public static final int BLOCK = 1024;
  /** Where the block locks live (root-only, on tmpfs: gone at reboot, as are the sandboxes). */
  public static final Path LOCK_DIR = Path.of("/run/agentcube/uid-blocks");

  private final int base;
  private final int size;
  private final BitSet used;
  private final List<FileChannel> locks;
  private int inUse;
  /** Where the next search for a free uid starts: just after the last one handed out. */
  private int next;

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
    this.locks = List.of();
  }

  private UidPool(int base, int size, List<FileChannel> locks) {
    this.base = base;
    this.size = size;
    this.used = new BitSet(size);
    this.locks = locks;
  }

  /**
   * A pool of {@code size} uids at or above {@code base}, reserved machine-wide (see the class
   * comment) under {@code lockDir}: the first run of blocks no other process (nor another pool of
   * this one) holds. Blocking (file locks); call at start-up.
   *
   * @throws IllegalStateException when no free run is found within 64 blocks above {@code base},
   *     or the lock directory cannot be used
   */
  public static UidPool reserve(int base, int size, Path lockDir) {
    int blocks = (size + BLOCK - 1) / BLOCK;
    try {
      Files.createDirectories(lockDir);
      Files.setPosixFilePermissions(lockDir, PosixFilePermissions.fromString("rwx------"));
    } catch (IOException | UnsupportedOperationException e) {
      throw new IllegalStateException("cannot reserve sandbox uids: " + lockDir + ": " + e, e);
    }
    for (int first = 0; first < 64; first++) {
      int start = base + first * BLOCK;
      if ((long) start + (long) blocks * BLOCK > Integer.MAX_VALUE) {
        break;
      }
      List<FileChannel> held = new ArrayList<>();
      for (int b = 0; b < blocks; b++) {
        FileChannel lock = tryLock(lockDir.resolve("uids-" + (start + b * BLOCK)));
        if (lock == null) {
          break;
        }
        held.add(lock);
      }
      if (held.size() == blocks) {
        if (first > 0) {
          log.info("sandbox uids {}-{} are another process's; using {}-{}", base,
              base + size - 1, start, start + size - 1);
        }
        return new UidPool(start, size, List.copyOf(held));
      }
      held.forEach(UidPool::closeQuietly);
    }
    throw new IllegalStateException("no free range of " + size + " sandbox uids at or above "
        + base + ": other processes hold their locks in " + lockDir);
  }

  /** The lock of {@code file}, or null when another process or pool holds it. */
  private static FileChannel tryLock(Path file) {
    FileChannel ch = null;
    try {
      ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock = ch.tryLock();
      if (lock != null) {
        return ch;
      }
    } catch (OverlappingFileLockException e) {
      // held by another pool of this process
    } catch (IOException e) {
      throw new IllegalStateException("cannot lock " + file + ": " + e, e);
    }
    closeQuietly(ch);
    return null;
  }

  private static void closeQuietly(FileChannel ch) {
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException e) {
        // nothing held any more either way
      }
    }
  }

  /** The first uid of this pool. */
  public int base() {
    return base;
  }

  /** Gives the machine-wide reservation back (its uids must not run anything any more). */
  @Override
  public void close() {
    locks.forEach(UidPool::closeQuietly);
  }

  /**
   * A free uid.
   *
   * @throws IllegalStateException when all are in use (more sandboxes than the range holds)
   */
  public synchronized int acquire() {
    int i = used.nextClearBit(next);
    if (i >= size) {
      i = used.nextClearBit(0); // wrap around
    }
    if (i >= size) {
      throw new IllegalStateException("all " + size + " sandbox uids are in use");
    }
    next = i + 1;
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
