package io.agentcube.jail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * {@code agentcube-jail-exec}, carried as a resource of this module's jar, copied to a file this
 * process can execute (see {@link Jail}).
 */
final class Launcher {

  static final String RESOURCE = "agentcube-jail-exec";

  private Launcher() {}

  /**
   * Copies the launcher into a new directory of mode 0700 under the temp dir and returns the
   * executable's path; null when the jar carries none (built without a C compiler) or the copy
   * fails. The directory goes when the JVM exits.
   */
  static String extract() {
    try (InputStream in = Launcher.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        return null;
      }
      Path dir = Files.createTempDirectory("agentcube-jail-exec",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      Path exe = dir.resolve(RESOURCE);
      Files.copy(in, exe, StandardCopyOption.REPLACE_EXISTING);
      Files.setPosixFilePermissions(exe, PosixFilePermissions.fromString("r-x------"));
      exe.toFile().deleteOnExit();
      dir.toFile().deleteOnExit();
      return exe.toAbsolutePath().toString();
    } catch (IOException | UnsupportedOperationException e) {
      return null;
    }
  }

  /** Why {@link #extract} found nothing. */
  static String missingReason() {
    return Launcher.class.getResource(RESOURCE) == null
        ? "not in this build (no C compiler when it was built)"
        : "cannot copy it to the temp dir";
  }
}
