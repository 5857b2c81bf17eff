package io.agentcube.sandboxd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Maps a client's path onto the workspace and refuses every path that would leave it.
 *
 * <p>Rules, in order (each refusal is a 400 {@link ErrorCode#BAD_REQUEST}):
 *
 * <ol>
 *   <li>No empty path, no NUL byte, and no {@code ..} segment anywhere, even one that would stay
 *       inside ({@code a/../b}): there is no legitimate need and refusing is simpler to audit.
 *   <li>A relative path is taken from the workspace root. An absolute path is accepted only when
 *       it lies inside the workspace (as its literal or real path); any other absolute path is
 *       refused, never reinterpreted.
 *   <li>The existing part of the path is walked one segment at a time without following links
 *       ({@code lstat}). A symbolic link is followed only when its full target resolves inside
 *       the workspace; one that points outside (file or parent directory, directly or through a
 *       chain) or that dangles is refused. The segments that do not exist yet are appended
 *       unchecked: they cannot be links.
 * </ol>
 *
 * <p>The result is absolute and free of links that leave the workspace, so callers open it as
 * is. A process inside the sandbox could still swap a directory for a link between this check and
 * the use; that process already runs with the daemon's rights, so the race gains it nothing.
 *
 * <p>Stateless after construction and thread-safe; blocking (file-system calls).
 */
final class WorkspacePaths {

  private final Path root;
  private final Path configuredRoot;

  /**
   * @param workspace the workspace directory; created when missing and resolved to its real path
   * @throws IOException when it cannot be created or is not a directory
   */
  WorkspacePaths(Path workspace) throws IOException {
    this.configuredRoot = workspace.toAbsolutePath().normalize();
    Files.createDirectories(configuredRoot);
    this.root = configuredRoot.toRealPath();
    if (!Files.isDirectory(root)) {
      throw new IOException("workspace is not a directory: " + root);
    }
  }

  /** The workspace's real, absolute path. */
  Path root() {
    return root;
  }

  /**
   * Resolves a client path to an absolute path inside the workspace.
   *
   * @throws SandboxdException 400 when the path is malformed or escapes the workspace
   */
  Path resolve(String clientPath) {
    if (clientPath == null || clientPath.isEmpty()) {
      throw SandboxdException.badRequest("path must not be empty");
    }
    if (clientPath.indexOf('\0') >= 0) {
      throw SandboxdException.badRequest("path must not contain NUL");
    }
    Path requested;
    try {
      requested = Path.of(clientPath);
    } catch (InvalidPathException e) {
      throw SandboxdException.badRequest("invalid path: " + e.getReason());
    }
    for (Path segment : requested) {
      if (segment.toString().equals("..")) {
        throw SandboxdException.badRequest(
            "access denied: path \"" + clientPath + "\" contains \"..\"");
      }
    }
    Path relative = requested.isAbsolute() ? insideRoot(requested, clientPath) : requested;
    return walk(relative.normalize(), clientPath);
  }

  /** The path relative to the workspace root, with {@code /} separators ({@code "."} for it). */
  String relativize(Path resolved) {
    Path rel = root.relativize(resolved);
    String s = rel.toString();
    return s.isEmpty() ? "." : s;
  }

  private Path insideRoot(Path absolute, String clientPath) {
    Path normalized = absolute.normalize();
    if (normalized.startsWith(root)) {
      return root.relativize(normalized);
    }
    // The workspace may have been configured through a link (/tmp -> /private/tmp).
    if (normalized.startsWith(configuredRoot)) {
      return configuredRoot.relativize(normalized);
    }
    throw SandboxdException.badRequest(
        "access denied: absolute path \"" + clientPath + "\" is outside the workspace");
  }

  private Path walk(Path relative, String clientPath) {
    Path current = root;
    int count = relative.getNameCount();
    for (int i = 0; i < count; i++) {
      String name = relative.getName(i).toString();
      if (name.isEmpty() || name.equals(".")) {
        continue;
      }
      Path next = current.resolve(name);
      if (Files.isSymbolicLink(next)) {
        Path target;
        try {
          target = next.toRealPath();
        } catch (NoSuchFileException e) {
          throw SandboxdException.badRequest(
              "access denied: path \"" + clientPath + "\" goes through a dangling symbolic link");
        } catch (IOException e) {
          throw SandboxdException.badRequest(
              "access denied: cannot resolve symbolic link in \"" + clientPath + "\"");
        }
        if (!target.startsWith(root)) {
          throw SandboxdException.badRequest(
              "access denied: path \"" + clientPath + "\" escapes the workspace via a symbolic link");
        }
        current = target;
      } else if (Files.exists(next, LinkOption.NOFOLLOW_LINKS)) {
        current = next;
      } else {
        // Nothing below a missing segment exists yet, so nothing below can be a link.
        for (int j = i; j < count; j++) {
          current = current.resolve(relative.getName(j).toString());
        }
        return current;
      }
    }
    return current;
  }
}
