package io.agentcube.sandboxd;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * Maps a client's path onto one workspace, refuses every path that would leave it, and opens what
 * it names without a window in which a link could be swapped in.
 *
 * <p>Rules, in order (each refusal is a 400 {@link ErrorCode#BAD_REQUEST}):
 *
 * <ol>
 *   <li>No empty path, no NUL byte, and no {@code ..} segment anywhere, even one that would stay
 *       inside ({@code a/../b}): there is no legitimate need and refusing is simpler to audit.
 *   <li>A relative path is taken from the workspace root. An absolute path is accepted only when
 *       it lies inside the workspace, by its real or configured host path or by the path the
 *       workspace has inside the jail ({@code /workspace} on a host); any other absolute path is
 *       refused, never reinterpreted.
 *   <li>The existing part of the path is walked one segment at a time without following links. A
 *       symbolic link is followed only when its target, taken against the directories already
 *       walked, stays inside the workspace and exists; one that points outside (file or parent
 *       directory, directly, through {@code ..} or through a chain) or that dangles is refused. The
 *       segments that do not exist yet are kept as they are: they cannot be links.
 * </ol>
 *
 * <p>Why directory handles. On a host, sandboxd runs as root and the workspace belongs to code
 * that may be running right now; that code can replace a directory by a link at any moment.
 * Checking a path and then opening it by name would let it win that race and have root read or
 * write outside. So the walk holds each directory open ({@link SecureDirectoryStream}: {@code
 * openat} with {@code O_NOFOLLOW}, {@code fstatat}, {@code renameat}, {@code unlinkat} relative to
 * the open directory) and the caller acts on the {@link Resolved} handle, never on the name again.
 * A link's text is read by name (the JDK has no {@code readlinkat}); what it says is then walked
 * from the root like any client path, so a racy read can only yield another path that is checked.
 *
 * <p>Stateless after construction and thread-safe; blocking (file-system calls). Linux (any
 * platform whose directory streams are secure).
 */
final class WorkspacePaths {

  /** Links followed in one resolution before giving up, as the kernel's ELOOP limit. */
  static final int MAX_LINKS = 40;

  private final Path root;
  private final Path configuredRoot;
  private final Path jailRoot;

  /**
   * A workspace seen by commands at the same path as by sandboxd (single mode).
   *
   * @param workspace the workspace directory; created when missing and resolved to its real path
   * @throws IOException when it cannot be created, is not a directory or cannot be opened safely
   */
  WorkspacePaths(Path workspace) throws IOException {
    this(workspace, null);
  }

  /**
   * @param workspace the workspace directory; created when missing and resolved to its real path
   * @param jailRoot the workspace's path inside the jail ({@code /workspace}), or null when that
   *     is its host path
   */
  WorkspacePaths(Path workspace, String jailRoot) throws IOException {
    this.configuredRoot = workspace.toAbsolutePath().normalize();
    Files.createDirectories(configuredRoot);
    this.root = configuredRoot.toRealPath();
    if (!Files.isDirectory(root)) {
      throw new IOException("workspace is not a directory: " + root);
    }
    this.jailRoot = jailRoot == null ? root : Path.of(jailRoot);
    openRoot().close(); // fails here, at creation, where directory streams are not secure
  }

  /** The workspace's real, absolute host path. */
  Path root() {
    return root;
  }

  /** The workspace's path inside the jail (its host path when the two are the same). */
  Path jailRoot() {
    return jailRoot;
  }

  /**
   * Resolves a client path to the absolute host path it names inside the workspace. For checks
   * and for commands (whose working directory the jail resolves in its own view); files are
   * opened through {@link #open}.
   *
   * @throws SandboxdException 400 when the path is malformed or escapes the workspace
   */
  Path resolve(String clientPath) {
    try (Resolved r = open(clientPath)) {
      return r.hostPath();
    } catch (IOException e) {
      throw SandboxdException.badRequest("cannot resolve \"" + clientPath + "\": " + e.getMessage());
    }
  }

  /**
   * Resolves a client path and opens the directory that holds what it names (see the class
   * comment). The caller closes the result.
   *
   * @throws SandboxdException 400 when the path is malformed or escapes the workspace, or a parent
   *     is not a directory
   * @throws IOException when the file system fails
   */
  Resolved open(String clientPath) throws IOException {
    List<String> segments = lexical(clientPath);
    int links = 0;
    int mustExist = 0; // segments [0, mustExist) are a link's target: they must exist
    restart:
    while (true) {
      SecureDirectoryStream<Path> dir = openRoot();
      try {
        List<String> walked = new ArrayList<>();
        for (int i = 0; i < segments.size(); i++) {
          String name = segments.get(i);
          boolean last = i == segments.size() - 1;
          PosixFileAttributes attrs = lstat(dir, name);
          if (attrs == null) {
            if (i < mustExist) {
              throw SandboxdException.badRequest(
                  "access denied: path \"" + clientPath + "\" goes through a dangling symbolic link");
            }
            Resolved r = new Resolved(this, dir, walked, segments.subList(i, segments.size() - 1),
                segments.get(segments.size() - 1), null);
            dir = null;
            return r;
          }
          if (attrs.isSymbolicLink()) {
            if (++links > MAX_LINKS) {
              throw SandboxdException.badRequest(
                  "access denied: too many symbolic links in \"" + clientPath + "\"");
            }
            List<String> target = linkTarget(walked, name, clientPath);
            mustExist = target.size();
            target.addAll(segments.subList(i + 1, segments.size()));
            segments = target;
            continue restart;
          }
          if (last) {
            Resolved r = new Resolved(this, dir, walked, List.of(), name, attrs);
            dir = null;
            return r;
          }
          if (!attrs.isDirectory()) {
            throw SandboxdException.badRequest(
                "a parent of \"" + clientPath + "\" is not a directory");
          }
          SecureDirectoryStream<Path> next = openChild(dir, name, clientPath);
          dir.close();
          dir = next;
          walked.add(name);
        }
        Resolved r = new Resolved(this, dir, walked, List.of(), null, null);
        dir = null;
        return r;
      } finally {
        if (dir != null) {
          dir.close();
        }
      }
    }
  }

  /** The path relative to the workspace root, with {@code /} separators ({@code "."} for it). */
  String relativize(Path resolved) {
    Path rel = root.relativize(resolved);
    String s = rel.toString();
    return s.isEmpty() ? "." : s;
  }

  /** The root, opened; the caller closes it. */
  SecureDirectoryStream<Path> openRoot() throws IOException {
    DirectoryStream<Path> ds = Files.newDirectoryStream(root);
    if (!(ds instanceof SecureDirectoryStream)) {
      ds.close();
      throw new IOException("this platform has no secure directory streams; sandboxd needs Linux");
    }
    return (SecureDirectoryStream<Path>) ds;
  }

  /** {@code fstatat(dir, name, AT_SYMLINK_NOFOLLOW)}, or null when there is no such entry. */
  static PosixFileAttributes lstat(SecureDirectoryStream<Path> dir, String name)
      throws IOException {
    try {
      return dir.getFileAttributeView(Path.of(name), PosixFileAttributeView.class,
          LinkOption.NOFOLLOW_LINKS).readAttributes();
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  /** Opens the directory {@code name} in {@code dir} without following a link. */
  static SecureDirectoryStream<Path> openChild(
      SecureDirectoryStream<Path> dir, String name, String clientPath) throws IOException {
    try {
      return dir.newDirectoryStream(Path.of(name), LinkOption.NOFOLLOW_LINKS);
    } catch (NotDirectoryException | NoSuchFileException e) {
      throw SandboxdException.badRequest("\"" + clientPath + "\" changed while it was resolved");
    } catch (IOException e) {
      // ELOOP: a link was swapped in after the lstat.
      throw SandboxdException.badRequest("\"" + clientPath + "\" changed while it was resolved");
    }
  }

  /**
   * Removes everything below the root and the root itself, never following a link. For a
   * workspace whose processes are gone; safe even if one is not (handles, not names).
   */
  void removeAll() throws IOException {
    try (SecureDirectoryStream<Path> dir = openRoot()) {
      removeContents(dir, 0);
    }
    Files.deleteIfExists(root);
  }

  private static void removeContents(SecureDirectoryStream<Path> dir, int depth)
      throws IOException {
    if (depth > 4096) {
      throw new IOException("directory tree too deep to remove");
    }
    List<String> names = new ArrayList<>();
    for (Path entry : dir) {
      names.add(entry.getFileName().toString());
    }
    for (String name : names) {
      PosixFileAttributes attrs = lstat(dir, name);
      if (attrs == null) {
        continue;
      }
      if (attrs.isDirectory()) {
        try (SecureDirectoryStream<Path> sub =
            dir.newDirectoryStream(Path.of(name), LinkOption.NOFOLLOW_LINKS)) {
          removeContents(sub, depth + 1);
        }
        dir.deleteDirectory(Path.of(name));
      } else {
        dir.deleteFile(Path.of(name));
      }
    }
  }

  /** Rule 1 and 2: the path's segments relative to the root. */
  private List<String> lexical(String clientPath) {
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
    Path relative = requested.isAbsolute() ? insideRoot(requested) : requested;
    if (relative == null) {
      throw SandboxdException.badRequest(
          "access denied: absolute path \"" + clientPath + "\" is outside the workspace");
    }
    List<String> segments = new ArrayList<>();
    for (Path segment : relative.normalize()) {
      String s = segment.toString();
      if (!s.isEmpty() && !s.equals(".")) {
        segments.add(s);
      }
    }
    return segments;
  }

  /** An absolute path inside the workspace as a relative one, or null when it is outside. */
  private Path insideRoot(Path absolute) {
    Path normalized = absolute.normalize();
    // The workspace may have been configured through a link (/tmp -> /private/tmp), and commands
    // in the jail know it by another name (/workspace).
    for (Path base : List.of(root, configuredRoot, jailRoot)) {
      if (normalized.startsWith(base)) {
        return base.relativize(normalized);
      }
    }
    return null;
  }

  /**
   * Where the link {@code name} in the directory {@code walked} points, as segments from the
   * root; refused when that is outside the workspace.
   */
  private List<String> linkTarget(List<String> walked, String name, String clientPath)
      throws IOException {
    Path link = root;
    for (String s : walked) {
      link = link.resolve(s);
    }
    Path text;
    try {
      text = Files.readSymbolicLink(link.resolve(name));
    } catch (IOException e) {
      throw SandboxdException.badRequest(
          "access denied: cannot resolve symbolic link in \"" + clientPath + "\"");
    }
    List<String> out;
    if (text.isAbsolute()) {
      Path relative = null;
      for (Path base : List.of(root, configuredRoot, jailRoot)) {
        if (text.startsWith(base)) {
          relative = base.relativize(text);
          break;
        }
      }
      if (relative == null) {
        throw escapes(clientPath);
      }
      out = new ArrayList<>();
      text = relative;
    } else {
      out = new ArrayList<>(walked);
    }
    for (Path segment : text) {
      String s = segment.toString();
      if (s.isEmpty() || s.equals(".")) {
        continue;
      }
      if (s.equals("..")) {
        if (out.isEmpty()) {
          throw escapes(clientPath);
        }
        out.remove(out.size() - 1);
      } else {
        out.add(s);
      }
    }
    return out;
  }

  private static SandboxdException escapes(String clientPath) {
    return SandboxdException.badRequest(
        "access denied: path \"" + clientPath + "\" escapes the workspace via a symbolic link");
  }

  /**
   * A resolved path: the open directory that holds it, the directories still to be created below
   * that one ({@link #missing()}, only when the path does not exist yet) and its last segment
   * ({@link #name()}; null for the root itself, when {@link #dir()} is the root). Close it.
   */
  static final class Resolved implements Closeable {
    private final WorkspacePaths paths;
    private final SecureDirectoryStream<Path> dir;
    private final List<String> dirSegments;
    private final List<String> missing;
    private final String name;
    private final PosixFileAttributes attributes;

    Resolved(WorkspacePaths paths, SecureDirectoryStream<Path> dir, List<String> dirSegments,
        List<String> missing, String name, PosixFileAttributes attributes) {
      this.paths = paths;
      this.dir = dir;
      this.dirSegments = List.copyOf(dirSegments);
      this.missing = List.copyOf(missing);
      this.name = name;
      this.attributes = attributes;
    }

    /** The open directory holding {@link #name()} (or the root when that is null). */
    SecureDirectoryStream<Path> dir() {
      return dir;
    }

    /** Directories between {@link #dir()} and {@link #name()} that do not exist yet. */
    List<String> missing() {
      return missing;
    }

    /** The last segment, or null when the path is the root. */
    String name() {
      return name;
    }

    boolean isRoot() {
      return name == null;
    }

    /** What {@link #name()} is (not following a link), or null when it does not exist. */
    PosixFileAttributes attributes() {
      return attributes;
    }

    /** The canonical path from the root: links inside resolved, {@code "."} for the root. */
    String relative() {
      List<String> all = new ArrayList<>(dirSegments);
      all.addAll(missing);
      if (name != null) {
        all.add(name);
      }
      return all.isEmpty() ? "." : String.join("/", all);
    }

    /** The host path of the open directory; for messages and checks by name only. */
    Path dirHostPath() {
      Path p = paths.root;
      for (String s : dirSegments) {
        p = p.resolve(s);
      }
      return p;
    }

    /** The host path named; for checks by name only, never to open the file. */
    Path hostPath() {
      String rel = relative();
      return rel.equals(".") ? paths.root : paths.root.resolve(rel);
    }

    @Override
    public void close() throws IOException {
      dir.close();
    }
  }
}
