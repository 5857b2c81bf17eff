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
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code POST /api/files} (upload), {@code GET /api/files/{path}} (download) and
 * {@code GET /api/files?path=dir} (list), PicoD-compatible.
 *
 * <p>Uploads come as {@code multipart/form-data} (fields {@code path}, {@code file},
 * {@code mode}) or, for any other content type, as JSON {@code {path, content: base64, mode}}.
 * Both are streamed: the file bytes (base64-decoded on the fly for JSON) go to a staging file
 * outside the workspace as they arrive, because the {@code path} field may come after the
 * content. Only then is the path resolved ({@link WorkspacePaths}), parents created, the mode
 * set, and the staged file moved into place (atomically when staging and workspace share a file
 * system), so a failed upload never leaves a partial file in the workspace.
 *
 * <p>Blocking (file I/O); runs on the exchange's handler thread. Failures are
 * {@link SandboxdException}s, mapped to responses by {@link RequestRouter}.
 */
final class FileHandler {

  static final String DOWNLOAD_PREFIX = "/api/files/";
  private static final int MAX_FIELD_BYTES = 8192;
  private static final Base64Variant BASE64 =
      Base64Variants.MIME_NO_LINEFEEDS.withReadPadding(Base64Variant.PaddingReadBehaviour.PADDING_ALLOWED);

  private final WorkspacePaths paths;
  private final Path stagingDir;

  FileHandler(WorkspacePaths paths, Path stagingDir) {
    this.paths = paths;
    this.stagingDir = stagingDir;
  }

  /** {@code POST /api/files}: stores the upload and answers {@code {path, size, mode, modified}}. */
  void upload(HttpExchange exchange, InputStream body) throws IOException {
    String contentType = exchange.getRequestHeaders().getFirst("Content-Type");
    boolean multipart = contentType != null
        && contentType.toLowerCase(Locale.ROOT).startsWith("multipart/form-data");
    Path staged = Files.createTempFile(stagingDir, "upload-", ".part");
    try {
      Upload upload = multipart
          ? readMultipart(body, MultipartReader.boundary(contentType), staged)
          : readJson(body, staged);
      Path target = install(upload, staged);
      Responses.sendJson(exchange, 200,
          FileModes.uploadJson(paths.relativize(target), FileModes.info(target)));
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

  private Path install(Upload upload, Path staged) throws IOException {
    Path target = paths.resolve(upload.path());
    if (target.equals(paths.root()) || Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
      throw SandboxdException.badRequest("path is a directory: " + upload.path());
    }
    try {
      Files.createDirectories(target.getParent());
    } catch (FileAlreadyExistsException | NotDirectoryException e) {
      throw SandboxdException.badRequest("a parent of " + upload.path() + " is not a directory");
    }
    Files.setPosixFilePermissions(staged, FileModes.permissions(FileModes.parseUploadMode(upload.mode())));
    try {
      Files.move(staged, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      // Staging is on another file system: copy (replaces a link at target, never follows it).
      Files.copy(staged, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
    }
    return target;
  }

  /** {@code GET /api/files/{path}}: streams the file as an attachment. */
  void download(HttpExchange exchange, String clientPath) throws IOException {
    if (clientPath.isEmpty()) {
      throw SandboxdException.badRequest("Missing file path");
    }
    Path file = paths.resolve(clientPath);
    FileModes.Info info;
    try {
      info = FileModes.info(file);
    } catch (NoSuchFileException e) {
      throw SandboxdException.notFound("File not found");
    }
    if (info.isDirectory()) {
      throw SandboxdException.badRequest("Path is a directory, not a file");
    }
    if (!info.isRegularFile()) {
      throw SandboxdException.badRequest("Path is not a regular file");
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      long size = channel.size();
      String name = file.getFileName().toString();
      exchange.getResponseHeaders().set("Content-Type", MediaTypes.forFileName(name));
      exchange.getResponseHeaders().set("Content-Disposition", MediaTypes.attachment(name));
      exchange.getResponseHeaders().set("Content-Description", "File Transfer");
      exchange.getResponseHeaders().set("Content-Transfer-Encoding", "binary");
      exchange.sendResponseHeaders(200, size == 0 ? -1 : size);
      if (size > 0) {
        try (OutputStream out = exchange.getResponseBody()) {
          WritableByteChannel sink = Channels.newChannel(out);
          long sent = 0;
          while (sent < size) {
            long n = channel.transferTo(sent, size - sent, sink);
            if (n <= 0) {
              break; // the file shrank under us: the client sees a short body
            }
            sent += n;
          }
        }
      }
    }
  }

  /** {@code GET /api/files?path=dir}: {@code {files: [{name, size, modified, mode, is_dir}]}}. */
  void list(HttpExchange exchange, String clientPath) throws IOException {
    if (clientPath == null || clientPath.isEmpty()) {
      throw SandboxdException.badRequest("Missing 'path' query parameter");
    }
    Path dir = paths.resolve(clientPath);
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      throw SandboxdException.notFound("Directory not found");
    }
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      throw SandboxdException.badRequest("Path is not a directory");
    }
    Map<String, Map<String, Object>> sorted = new TreeMap<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        try {
          sorted.put(name, FileModes.entryJson(name, FileModes.info(entry)));
        } catch (NoSuchFileException e) {
          // Removed while we listed: skip it, as PicoD does.
        }
      }
    }
    List<Object> files = new ArrayList<>(sorted.values());
    Responses.sendJson(exchange, 200, Map.of("files", files));
  }
}
