package io.agentcube.sandboxd;

import com.fasterxml.jackson.core.Base64Variant;
import com.fasterxml.jackson.core.Base64Variants;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code POST /api/files} (upload), {@code GET /api/files/{path}} (download) and
 * {@code GET /api/files?path=dir} (list), PicoD-compatible, in the request's workspace.
 *
 * <p>Uploads come as {@code multipart/form-data} (fields {@code path}, {@code file},
 * {@code mode}) or, for any other content type, as JSON {@code {path, content: base64, mode}}.
 * Both are streamed: the file bytes (base64-decoded on the fly for JSON) go to a staging file
 * outside the workspace as they arrive, because the {@code path} field may come after the
 * content. Only then is the path resolved ({@link WorkspacePaths}), missing parents created, the
 * mode and owner set on the staged file, and the file renamed into place, so a failed upload never
 * leaves a partial file in the workspace.
 *
 * <p>Every file-system action goes through the directory handles {@link WorkspacePaths#open}
 * returns, never through a name checked earlier: a command of the sandbox swapping a directory for
 * a link meanwhile cannot make sandboxd (root, on a host) act outside the workspace. A missing
 * parent directory is made in the staging directory (mode 0755, the sandbox's owner) and renamed
 * into place the same way. When staging and workspace are on different file systems (single
 * mode with {@code java.io.tmpdir} elsewhere), the file is copied into a new file opened through
 * the handle, and a directory is made by name: single mode has no other sandbox and runs its
 * commands as sandboxd's user, so that name race gains nothing.
 *
 * <p>Ownership: on a host with a uid per sandbox, every file and directory created here belongs to
 * the sandbox's uid and gid, as if its own command had made it.
 *
 * <p>Blocking (file I/O); runs on the exchange's handler thread. Failures are
 * {@link SandboxdException}s, mapped to responses by {@link RequestRouter}.
 */
final class FileHandler {

  static final String DOWNLOAD_PREFIX = "/api/files/";
  private static final int MAX_FIELD_BYTES = 8192;
  private static final Set<PosixFilePermission> DIRECTORY_MODE =
      PosixFilePermissions.fromString("rwxr-xr-x");
  private static final Base64Variant BASE64 =
      Base64Variants.MIME_NO_LINEFEEDS.withReadPadding(Base64Variant.PaddingReadBehaviour.PADDING_ALLOWED);

  private final Path stagingDir;

  /** @param stagingDir root-only directory for uploads in flight; best on the workspaces' file system */
  FileHandler(Path stagingDir) {
    this.stagingDir = stagingDir;
  }

  /** {@code POST /api/files}: stores the upload and answers {@code {path, size, mode, modified}}. */
  void upload(HttpExchange exchange, InputStream body, Workspace workspace) throws IOException {
    String contentType = exchange.getRequestHeaders().getFirst("Content-Type");
    boolean multipart = contentType != null
        && contentType.toLowerCase(Locale.ROOT).startsWith("multipart/form-data");
    Path staged = Files.createTempFile(stagingDir, "upload-", ".part");
    try {
      Upload upload = multipart
          ? readMultipart(body, MultipartReader.boundary(contentType), staged)
          : readJson(body, staged);
      Responses.sendJson(exchange, 200, install(workspace, upload, staged));
    } finally {
      Files.deleteIfExists(staged);
    }
  }

  /** The fields of an upload; the content itself is in the staging file. */
  private record Upload(String path, String mode) {}

  private Upload readMultipart(InputStream body, String boundary, Path staged) throws IOException {
    MultipartReader reader = new MultipartReader(body, boundary);
    String path = null;
    String mode = null;
    boolean sawFile = false;
    for (MultipartReader.Part part = reader.next(); part != null; part = reader.next()) {
      String name = part.name() == null ? "" : part.name();
      if (name.equals("path") && path == null) {
        path = reader.readText(MAX_FIELD_BYTES).strip();
      } else if (name.equals("mode") && mode == null) {
        mode = reader.readText(MAX_FIELD_BYTES);
      } else if (name.equals("file") && !sawFile) {
        try (OutputStream out = Files.newOutputStream(staged, StandardOpenOption.TRUNCATE_EXISTING)) {
          reader.transferBody(out, Long.MAX_VALUE);
        }
        sawFile = true;
      }
    }
    if (path == null || path.isEmpty()) {
      throw SandboxdException.badRequest("Missing 'path' field");
    }
    if (!sawFile) {
      throw SandboxdException.badRequest("Missing 'file' field");
    }
    return new Upload(path, mode);
  }

  private Upload readJson(InputStream body, Path staged) throws IOException {
    String path = null;
    String mode = null;
    boolean sawContent = false;
    try (JsonParser parser = Json.FACTORY.createParser(body)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        throw SandboxdException.badRequest("request body must be a JSON object");
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        JsonToken value = parser.nextToken();
        switch (field) {
          case "path":
            path = stringField(parser, value, "path");
            break;
          case "mode":
            mode = value == JsonToken.VALUE_NUMBER_INT ? parser.getText() : stringField(parser, value, "mode");
            break;
          case "content":
            if (value != JsonToken.VALUE_STRING) {
              throw SandboxdException.badRequest("'content' must be a base64 string");
            }
            try (OutputStream out = Files.newOutputStream(staged, StandardOpenOption.TRUNCATE_EXISTING)) {
              parser.readBinaryValue(BASE64, out);
            } catch (JsonParseException e) {
              throw SandboxdException.badRequest("Invalid base64 content: " + e.getOriginalMessage());
            } catch (IllegalArgumentException e) {
              throw SandboxdException.badRequest("Invalid base64 content: " + e.getMessage());
            }
            sawContent = true;
            break;
          default:
            parser.skipChildren();
        }
      }
    } catch (JsonParseException e) {
      throw SandboxdException.badRequest("malformed JSON: " + e.getOriginalMessage());
    }
    if (path == null || path.isEmpty()) {
      throw SandboxdException.badRequest("Missing 'path' field");
    }
    if (!sawContent) {
      throw SandboxdException.badRequest("Missing 'content' field");
    }
    return new Upload(path, mode);
  }

  private static String stringField(JsonParser parser, JsonToken token, String name)
      throws IOException {
    if (token == JsonToken.VALUE_NULL) {
      return null;
    }
    if (token != JsonToken.VALUE_STRING) {
      throw SandboxdException.badRequest("'" + name + "' must be a string");
    }
    return parser.getText();
  }

  /** Puts the staged file into place; the upload response. */
  private Map<String, Object> install(Workspace workspace, Upload upload, Path staged)
      throws IOException {
    int uid = workspace.uid();
    try (WorkspacePaths.Resolved target = workspace.paths().open(upload.path());
        SecureDirectoryStream<Path> staging = openStaging()) {
      if (target.isRoot()
          || (target.attributes() != null && target.attributes().isDirectory())) {
        throw SandboxdException.badRequest("path is a directory: " + upload.path());
      }
      List<SecureDirectoryStream<Path>> made = new ArrayList<>();
      try {
        SecureDirectoryStream<Path> dir = target.dir();
        Path dirPath = target.dirHostPath();
        for (String name : target.missing()) {
          dir = makeDirectory(staging, dir, dirPath, name, uid, upload.path());
          made.add(dir);
          dirPath = dirPath.resolve(name);
        }
        Files.setPosixFilePermissions(staged,
            FileModes.permissions(FileModes.parseUploadMode(upload.mode())));
        chown(staged, uid);
        Path name = Path.of(target.name());
        try {
          staging.move(staged.getFileName(), dir, name);
        } catch (AtomicMoveNotSupportedException e) {
          copyInto(staged, dir, target.name(), uid, upload.path());
        } catch (FileSystemException e) {
          // A directory appeared there meanwhile (EISDIR), or the parent went away.
          throw SandboxdException.badRequest("cannot write " + upload.path() + ": " + e.getReason());
        }
        PosixFileAttributes attrs = WorkspacePaths.lstat(dir, target.name());
        if (attrs == null) {
          throw SandboxdException.notFound("File not found");
        }
        return FileModes.uploadJson(target.relative(), FileModes.info(attrs, target.hostPath()));
      } finally {
        for (SecureDirectoryStream<Path> d : made) {
          d.close();
        }
      }
    }
  }

  private SecureDirectoryStream<Path> openStaging() throws IOException {
    return (SecureDirectoryStream<Path>) Files.newDirectoryStream(stagingDir);
  }

  /** Creates directory {@code name} in {@code dir} (see the class comment) and opens it. */
  private SecureDirectoryStream<Path> makeDirectory(SecureDirectoryStream<Path> staging,
      SecureDirectoryStream<Path> dir, Path dirPath, String name, int uid, String clientPath)
      throws IOException {
    Path made = Files.createTempDirectory(stagingDir, "dir-");
    try {
      Files.setPosixFilePermissions(made, DIRECTORY_MODE);
      chown(made, uid);
      try {
        staging.move(made.getFileName(), dir, Path.of(name));
      } catch (AtomicMoveNotSupportedException e) {
        try {
          Files.createDirectory(dirPath.resolve(name));
        } catch (FileAlreadyExistsException exists) {
          // made meanwhile: used below if it is a directory
        }
      } catch (FileSystemException e) {
        // Something is there already (made meanwhile): used below if it is a directory.
      }
    } finally {
      Files.deleteIfExists(made);
    }
    PosixFileAttributes attrs = WorkspacePaths.lstat(dir, name);
    if (attrs == null || !attrs.isDirectory()) {
      throw SandboxdException.badRequest("a parent of " + clientPath + " is not a directory");
    }
    return WorkspacePaths.openChild(dir, name, clientPath);
  }

  /** The cross-file-system fallback: a new file opened through {@code dir}, then copied into. */
  private static void copyInto(Path staged, SecureDirectoryStream<Path> dir, String name, int uid,
      String clientPath) throws IOException {
    Path file = Path.of(name);
    PosixFileAttributes existing = WorkspacePaths.lstat(dir, name);
    if (existing != null) {
      if (existing.isDirectory()) {
        throw SandboxdException.badRequest("path is a directory: " + clientPath);
      }
      dir.deleteFile(file); // replace, never write through (a link, a hard link's other name)
    }
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(staged);
    try (SeekableByteChannel out = dir.newByteChannel(file,
            Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS));
        FileChannel in = FileChannel.open(staged, StandardOpenOption.READ)) {
      long size = in.size();
      long done = 0;
      while (done < size) {
        done += in.transferTo(done, size - done, out);
      }
    }
    PosixFileAttributeView view =
        dir.getFileAttributeView(file, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
    view.setPermissions(perms); // exactly, whatever the umask
    if (uid >= 0) {
      UserPrincipalLookupService users = FileSystems.getDefault().getUserPrincipalLookupService();
      view.setGroup(users.lookupPrincipalByGroupName(Integer.toString(uid)));
      view.setOwner(users.lookupPrincipalByName(Integer.toString(uid)));
    }
  }

  /** Gives a staged file or directory (root's, in the root-only staging directory) to {@code uid}. */
  private static void chown(Path staged, int uid) throws IOException {
    if (uid >= 0) {
      Files.setAttribute(staged, "unix:gid", uid, LinkOption.NOFOLLOW_LINKS);
      Files.setAttribute(staged, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
    }
  }

  /** {@code GET /api/files/{path}}: streams the file as an attachment. */
  void download(HttpExchange exchange, String clientPath, Workspace workspace) throws IOException {
    if (clientPath.isEmpty()) {
      throw SandboxdException.badRequest("Missing file path");
    }
    try (WorkspacePaths.Resolved file = workspace.paths().open(clientPath)) {
      if (file.isRoot() || (file.attributes() != null && file.attributes().isDirectory())) {
        throw SandboxdException.badRequest("Path is a directory, not a file");
      }
      if (file.attributes() == null) {
        throw SandboxdException.notFound("File not found");
      }
      if (!file.attributes().isRegularFile()) {
        throw SandboxdException.badRequest("Path is not a regular file");
      }
      try (SeekableByteChannel channel = file.dir().newByteChannel(Path.of(file.name()),
          Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
        send(exchange, file.name(), channel);
      }
    }
  }

  private static void send(HttpExchange exchange, String name, SeekableByteChannel channel)
      throws IOException {
    long size = channel.size();
    exchange.getResponseHeaders().set("Content-Type", MediaTypes.forFileName(name));
    exchange.getResponseHeaders().set("Content-Disposition", MediaTypes.attachment(name));
    exchange.getResponseHeaders().set("Content-Description", "File Transfer");
    exchange.getResponseHeaders().set("Content-Transfer-Encoding", "binary");
    exchange.sendResponseHeaders(200, size == 0 ? -1 : size);
    if (size == 0) {
      return;
    }
    try (OutputStream out = exchange.getResponseBody()) {
      WritableByteChannel sink = Channels.newChannel(out);
      long sent = 0;
      if (channel instanceof FileChannel) { // the JDK's handles are: zero-copy
        FileChannel fc = (FileChannel) channel;
        while (sent < size) {
          long n = fc.transferTo(sent, size - sent, sink);
          if (n <= 0) {
            break; // the file shrank under us: the client sees a short body
          }
          sent += n;
        }
      } else {
        ByteBuffer buf = ByteBuffer.allocate(65536);
        while (sent < size && channel.read(buf) > 0) {
          buf.flip();
          while (buf.hasRemaining()) {
            sent += sink.write(buf);
          }
          buf.clear();
        }
      }
    }
  }

  /** {@code GET /api/files?path=dir}: {@code {files: [{name, size, modified, mode, is_dir}]}}. */
  void list(HttpExchange exchange, String clientPath, Workspace workspace) throws IOException {
    if (clientPath == null || clientPath.isEmpty()) {
      throw SandboxdException.badRequest("Missing 'path' query parameter");
    }
    Map<String, Map<String, Object>> sorted = new TreeMap<>();
    try (WorkspacePaths.Resolved target = workspace.paths().open(clientPath)) {
      if (!target.isRoot() && target.attributes() == null) {
        throw SandboxdException.notFound("Directory not found");
      }
      if (!target.isRoot() && !target.attributes().isDirectory()) {
        throw SandboxdException.badRequest("Path is not a directory");
      }
      SecureDirectoryStream<Path> dir = target.isRoot() ? target.dir()
          : WorkspacePaths.openChild(target.dir(), target.name(), clientPath);
      try {
        Path base = target.hostPath();
        List<String> names = new ArrayList<>();
        for (Path entry : dir) {
          names.add(entry.getFileName().toString());
        }
        for (String name : names) {
          PosixFileAttributes attrs = WorkspacePaths.lstat(dir, name);
          if (attrs != null) { // else removed while we listed: skipped, as PicoD does
            sorted.put(name, FileModes.entryJson(name, FileModes.info(attrs, base.resolve(name))));
          }
        }
      } finally {
        if (dir != target.dir()) {
          dir.close();
        }
      }
    }
    List<Object> files = new ArrayList<>(sorted.values());
    Responses.sendJson(exchange, 200, Map.of("files", files));
  }
}
