package io.agentcube.sandboxd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * File modes and the file metadata PicoD reports: an upload's {@code mode} is parsed as octal
 * ({@code "0644"}, {@code "755"}; empty, malformed or above {@code 0777} falls back to
 * {@code 0644} as PicoD does), and modes are reported in Go's {@code FileMode.String()} form
 * ({@code "-rw-r--r--"}, {@code "drwxr-xr-x"}, {@code "Lrwxrwxrwx"}).
 *
 * <p>Pure functions plus blocking attribute reads; thread-safe.
 */
final class FileModes {

  static final int DEFAULT_FILE_MODE = 0644;

  // st_mode file-type bits (POSIX).
  private static final int S_IFMT = 0170000;
  private static final int S_IFSOCK = 0140000;
  private static final int S_IFLNK = 0120000;
  private static final int S_IFBLK = 0060000;
  private static final int S_IFDIR = 0040000;
  private static final int S_IFCHR = 0020000;
  private static final int S_IFIFO = 0010000;

  private FileModes() {}

  /** Octal mode from an upload, or {@link #DEFAULT_FILE_MODE} when absent or unusable. */
  static int parseUploadMode(String text) {
    if (text == null || text.isBlank()) {
      return DEFAULT_FILE_MODE;
    }
    try {
      int mode = Integer.parseInt(text.strip(), 8);
      return mode < 0 || mode > 0777 ? DEFAULT_FILE_MODE : mode;
    } catch (NumberFormatException e) {
      return DEFAULT_FILE_MODE;
    }
  }

  /** The permission bits (0..0777) as a set. */
  static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] order = {
      PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
      PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_READ,
      PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
      PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE,
      PosixFilePermission.OTHERS_EXECUTE
    };
    for (int i = 0; i < 9; i++) {
      if ((mode & (0400 >> i)) != 0) {
        set.add(order[i]);
      }
    }
    return set;
  }

  /** Go's {@code FileMode.String()} for a Unix {@code st_mode}. */
  static String goString(int stMode) {
    StringBuilder sb = new StringBuilder(12);
    switch (stMode & S_IFMT) {
      case S_IFDIR:
        sb.append('d');
        break;
      case S_IFLNK:
        sb.append('L');
        break;
      case S_IFBLK:
        sb.append('D');
        break;
      case S_IFCHR:
        sb.append("Dc");
        break;
      case S_IFIFO:
        sb.append('p');
        break;
      case S_IFSOCK:
        sb.append('S');
        break;
      default:
        break;
    }
    if ((stMode & 04000) != 0) {
      sb.append('u');
    }
    if ((stMode & 02000) != 0) {
      sb.append('g');
    }
    if ((stMode & 01000) != 0) {
      sb.append('t');
    }
    if (sb.length() == 0) {
      sb.append('-');
    }
    String rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++) {
      sb.append((stMode & (0400 >> i)) != 0 ? rwx.charAt(i) : '-');
    }
    return sb.toString();
  }

  /** What one directory entry or file looks like to a client; links are not followed. */
  record Info(long size, FileTime modified, int stMode) {
    boolean isDirectory() {
      return (stMode & S_IFMT) == S_IFDIR;
    }

    boolean isRegularFile() {
      return (stMode & S_IFMT) == 0100000;
    }

    String mode() {
      return goString(stMode);
    }
  }

  /** Reads size, mtime and mode without following a final link. */
  static Info info(Path path) throws IOException {
    try {
      Map<String, Object> a =
          Files.readAttributes(path, "unix:mode,size,lastModifiedTime", LinkOption.NOFOLLOW_LINKS);
      return new Info((Long) a.get("size"), (FileTime) a.get("lastModifiedTime"),
          (Integer) a.get("mode"));
    } catch (UnsupportedOperationException | IllegalArgumentException e) {
      return info(Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS));
    }
  }

  /**
   * The metadata of a file read through a directory handle ({@code attrs}), with the setuid,
   * setgid and sticky bits (which the POSIX view lacks) taken from {@code hostPath} only when
   * that name still leads to the same file: a name swapped meanwhile cannot leak another file's
   * mode.
   */
  static Info info(PosixFileAttributes attrs, Path hostPath) {
    Info base = info(attrs);
    try {
      Map<String, Object> a =
          Files.readAttributes(hostPath, "unix:mode,fileKey", LinkOption.NOFOLLOW_LINKS);
      Object key = attrs.fileKey();
      if (key != null && key.equals(a.get("fileKey"))) {
        return new Info(base.size(), base.modified(), (Integer) a.get("mode"));
      }
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      // gone or no "unix" view: the POSIX bits are all there is
    }
    return base;
  }

  /** The mode rebuilt from the POSIX view (no setuid, setgid or sticky bits). */
  static Info info(PosixFileAttributes p) {
    int mode = p.isDirectory() ? S_IFDIR : p.isSymbolicLink() ? S_IFLNK
        : p.isRegularFile() ? 0100000 : 0;
    for (PosixFilePermission perm : p.permissions()) {
      mode |= 0400 >> perm.ordinal();
    }
    return new Info(p.size(), p.lastModifiedTime(), mode);
  }

  /** The upload response PicoD sends: {@code {path, size, mode, modified}}. */
  static Map<String, Object> uploadJson(String relativePath, Info info) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("path", relativePath);
    m.put("size", info.size());
    m.put("mode", info.mode());
    m.put("modified", info.modified().toInstant().toString());
    return m;
  }

  /** One entry of a listing: {@code {name, size, modified, mode, is_dir}}. */
  static Map<String, Object> entryJson(String name, Info info) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", name);
    m.put("size", info.size());
    m.put("modified", info.modified().toInstant().toString());
    m.put("mode", info.mode());
    m.put("is_dir", info.isDirectory());
    return m;
  }
}
