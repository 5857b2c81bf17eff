package io.agentcube.sandboxd;

import java.net.URLConnection;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/**
 * Content-Type by file extension (the table Go's {@code mime.TypeByExtension} has built in, plus
 * types common in a code interpreter), and a safe {@code Content-Disposition} header. Pure
 * functions; thread-safe.
 */
final class MediaTypes {

  static final String OCTET_STREAM = "application/octet-stream";

  private static final Map<String, String> BY_EXTENSION = Map.ofEntries(
      Map.entry("avif", "image/avif"),
      Map.entry("css", "text/css; charset=utf-8"),
      Map.entry("csv", "text/csv; charset=utf-8"),
      Map.entry("gif", "image/gif"),
      Map.entry("gz", "application/gzip"),
      Map.entry("htm", "text/html; charset=utf-8"),
      Map.entry("html", "text/html; charset=utf-8"),
      Map.entry("ipynb", "application/x-ipynb+json"),
      Map.entry("jpeg", "image/jpeg"),
      Map.entry("jpg", "image/jpeg"),
      Map.entry("js", "text/javascript; charset=utf-8"),
      Map.entry("json", "application/json"),
      Map.entry("md", "text/markdown; charset=utf-8"),
      Map.entry("mjs", "text/javascript; charset=utf-8"),
      Map.entry("pdf", "application/pdf"),
      Map.entry("png", "image/png"),
      Map.entry("py", "text/x-python; charset=utf-8"),
      Map.entry("sh", "text/x-sh; charset=utf-8"),
      Map.entry("svg", "image/svg+xml"),
      Map.entry("tar", "application/x-tar"),
      Map.entry("txt", "text/plain; charset=utf-8"),
      Map.entry("wasm", "application/wasm"),
      Map.entry("webp", "image/webp"),
      Map.entry("xml", "text/xml; charset=utf-8"),
      Map.entry("yaml", "application/yaml"),
      Map.entry("yml", "application/yaml"),
      Map.entry("zip", "application/zip"));

  private MediaTypes() {}

  /** The media type for a file name, {@value #OCTET_STREAM} when unknown. */
  static String forFileName(String name) {
    int dot = name.lastIndexOf('.');
    if (dot >= 0 && dot < name.length() - 1) {
      String known = BY_EXTENSION.get(name.substring(dot + 1).toLowerCase(Locale.ROOT));
      if (known != null) {
        return known;
      }
    }
    String guess = URLConnection.getFileNameMap().getContentTypeFor(name);
    return guess == null ? OCTET_STREAM : guess;
  }

  /**
   * {@code attachment; filename="name"}, with quotes and control characters replaced and, for
   * non-ASCII names, an RFC 5987 {@code filename*} that carries the exact UTF-8 name.
   */
  static String attachment(String name) {
    StringBuilder ascii = new StringBuilder();
    boolean plain = true;
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
        ascii.append('_');
      } else if (c > 0x7e) {
        ascii.append('_');
        plain = false;
      } else {
        ascii.append(c);
      }
    }
    String header = "attachment; filename=\"" + ascii + "\"";
    if (plain) {
      return header;
    }
    StringBuilder encoded = new StringBuilder();
    for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
      int v = b & 0xff;
      if ((v >= 'a' && v <= 'z') || (v >= 'A' && v <= 'Z') || (v >= '0' && v <= '9')
          || "!#$&+-.^_`|~".indexOf(v) >= 0) {
        encoded.append((char) v);
      } else {
        encoded.append('%').append(Character.toUpperCase(Character.forDigit(v >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(v & 15, 16)));
      }
    }
    return header + "; filename*=UTF-8''" + encoded;
  }
}
