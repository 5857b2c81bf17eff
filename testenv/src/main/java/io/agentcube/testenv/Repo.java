package io.agentcube.testenv;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the repository checkout the tests run in (for k8s/testenv, k8s/crds, conf/...). */
public final class Repo {

  /** System property that names the repository root, overriding the search. */
  public static final String ROOT_PROPERTY = "agentcube.repo.root";

  private Repo() {
  }

  /**
   * The repository root: {@value #ROOT_PROPERTY} if set, else the nearest directory at or above
   * the working directory (a module directory under Maven) that holds
   * {@code k8s/testenv/start.sh}.
   *
   * @throws IllegalStateException when there is none
   */
  public static Path root() {
    String configured = System.getProperty(ROOT_PROPERTY);
    if (configured != null && !configured.isBlank()) {
      return Path.of(configured).toAbsolutePath().normalize();
    }
    Path start = Path.of("").toAbsolutePath();
    for (Path dir = start; dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("k8s/testenv/start.sh"))) {
        return dir;
      }
    }
    throw new IllegalStateException("no repository root (with k8s/testenv/start.sh) at or above "
        + start + "; set -D" + ROOT_PROPERTY + "=<checkout>");
  }
}
