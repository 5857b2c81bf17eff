package io.agentcube.jail;

/**
 * Resource limits of every process in a jail, applied as rlimits (soft = hard) before the jail
 * starts; {@code 0} leaves a limit as inherited.
 *
 * <p>{@code processes} (RLIMIT_NPROC) counts per uid, so it is a per-sandbox cap only when each
 * sandbox has its own uid ({@link Jail#separateUids()}); with one shared uid it would count the
 * host's own threads too and is not applied. {@code addressSpace} (RLIMIT_AS) is per process and
 * breaks runtimes that reserve large virtual ranges (a JVM, V8); agent processes default to none.
 *
 * @param addressSpace bytes of virtual memory per process
 * @param processes processes and threads of the sandbox's uid
 * @param cpuSeconds CPU seconds per process
 * @param fileSize bytes a process may write to one file
 * @param openFiles open file descriptors per process
 */
public record Limits(long addressSpace, long processes, long cpuSeconds, long fileSize,
    long openFiles) {

  public Limits {
    if (addressSpace < 0 || processes < 0 || cpuSeconds < 0 || fileSize < 0 || openFiles < 0) {
      throw new IllegalArgumentException("limits must be >= 0 (0 = not set)");
    }
  }

  /** For code executions: 4 GiB address space, 512 processes, 1 GiB files, 1024 descriptors. */
  public static Limits defaults() {
    return new Limits(4L << 30, 512, 0, 1L << 30, 1024);
  }

  /** For long-running agent processes: no address-space or CPU cap (JVMs and V8 need room). */
  public static Limits agentDefaults() {
    return new Limits(0, 1024, 0, 1L << 30, 4096);
  }

  /** No limit at all. */
  public static Limits none() {
    return new Limits(0, 0, 0, 0, 0);
  }

  /** These limits with {@code cpuSeconds} replaced. */
  public Limits withCpuSeconds(long seconds) {
    return new Limits(addressSpace, processes, seconds, fileSize, openFiles);
  }
}
