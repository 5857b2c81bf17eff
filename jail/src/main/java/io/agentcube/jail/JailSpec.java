package io.agentcube.jail;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What one jailed command may see and use: the directories bound into it (the sandbox's own
 * workspace writable, anything else read-only), its working directory, whether it has the
 * network, its uid and its {@link Limits}. Everything not listed is invisible: the jail's root is
 * built from the system directories ({@code /usr}, {@code /etc}, the {@code /bin}/{@code /lib}
 * links), a private {@code /tmp}, {@code /proc} of its own PID namespace and a minimal
 * {@code /dev}.
 *
 * @param mounts directories bound in, in order
 * @param workdir the working directory inside the jail
 * @param network whether the command shares the host's network (otherwise only its own loopback)
 * @param uid the uid it runs as ({@code -1}: the caller's own)
 * @param limits its rlimits
 * @param tmpBytes size of its private {@code /tmp} (memory)
 * @param dieWithParent whether the jail ends when the process that started it dies (an agent
 *     process that a restarted proxy adopts must not)
 */
public record JailSpec(List<Mount> mounts, String workdir, boolean network, int uid,
    Limits limits, long tmpBytes, boolean dieWithParent) {

  /** A directory bound into the jail at {@code target}. */
  public record Mount(Path source, String target, boolean writable) {
    public Mount {
      Objects.requireNonNull(source, "source");
      if (target == null || !target.startsWith("/") || target.contains("\0")) {
        throw new IllegalArgumentException("mount target must be an absolute path: " + target);
      }
    }
  }

  public JailSpec {
    mounts = List.copyOf(mounts);
    Objects.requireNonNull(workdir, "workdir");
    Objects.requireNonNull(limits, "limits");
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builds a {@link JailSpec}; defaults: no mounts, workdir {@code /}, no network, own uid. */
  public static final class Builder {
    private final List<Mount> mounts = new ArrayList<>();
    private String workdir = "/";
    private boolean network;
    private int uid = -1;
    private Limits limits = Limits.defaults();
    private long tmpBytes = 256L << 20;
    private boolean dieWithParent = true;

    private Builder() {}

    /** Binds {@code source} at {@code target}, writable or read-only. */
    public Builder bind(Path source, String target, boolean writable) {
      mounts.add(new Mount(source, target, writable));
      return this;
    }

    /** Binds {@code path} read-only at the same path. */
    public Builder readOnly(Path path) {
      Path abs = path.toAbsolutePath().normalize();
      return bind(abs, abs.toString(), false);
    }

    public Builder workdir(String dir) {
      this.workdir = dir;
      return this;
    }

    public Builder network(boolean on) {
      this.network = on;
      return this;
    }

    public Builder uid(int uid) {
      this.uid = uid;
      return this;
    }

    public Builder limits(Limits limits) {
      this.limits = limits;
      return this;
    }

    public Builder tmpBytes(long bytes) {
      this.tmpBytes = bytes;
      return this;
    }

    public Builder dieWithParent(boolean on) {
      this.dieWithParent = on;
      return this;
    }

    public JailSpec build() {
      return new JailSpec(mounts, workdir, network, uid, limits, tmpBytes, dieWithParent);
    }
  }
}
