package io.agentcube.proxy.auth;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.proxy.config.ConfigException;
import io.vertx.core.Future;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code auth.mode: static}: bearer tokens listed in a file ({@code auth.tokensFile}), one per
 * line as {@code TOKEN SUBJECT [ROLE,ROLE...]}; blank lines and lines starting with {@code #} are
 * skipped.
 *
 * <p>Only the SHA-256 digest of each token is kept. A presented token's digest is compared with
 * every entry by {@link MessageDigest#isEqual} (constant time) without stopping at a match, so the
 * time taken says nothing about how close a guess was or which entry matched. The file is read
 * once, at start-up; any problem with it fails start-up naming the file and the line.
 *
 * <p>Immutable and thread-safe.
 */
final class StaticTokens implements TokenCheck {

  /** Shorter tokens are refused at load: they could be guessed. */
  static final int MIN_TOKEN_LENGTH = 16;

  private record Entry(byte[] digest, Identity identity) {}

  private final List<Entry> entries;

  private StaticTokens(List<Entry> entries) {
    this.entries = entries;
  }

  /** Reads {@code file}. Blocking. @throws ConfigException naming the file and line */
  static StaticTokens load(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      throw new ConfigException("auth.tokensFile: cannot read " + file + ": " + e);
    }
    return parse(lines, file.toString());
  }

  static StaticTokens parse(List<String> lines, String origin) {
    List<Entry> entries = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String where = "auth.tokensFile: " + origin + " line " + (i + 1);
      String[] fields = line.split("\\s+");
      if (fields.length < 2 || fields.length > 3) {
        throw new ConfigException(where + ": expected 'TOKEN SUBJECT [ROLE,ROLE...]', found "
            + fields.length + " field(s)");
      }
      if (fields[0].length() < MIN_TOKEN_LENGTH) {
        throw new ConfigException(where + ": token shorter than " + MIN_TOKEN_LENGTH
            + " characters (generate one with: openssl rand -hex 32)");
      }
      Set<String> roles = new LinkedHashSet<>();
      if (fields.length == 3) {
        for (String r : fields[2].split(",")) {
          if (!r.isEmpty()) {
            roles.add(r);
          }
        }
      }
      byte[] digest = Authenticator.sha256(fields[0]);
      for (Entry e : entries) {
        if (MessageDigest.isEqual(e.digest, digest)) {
          throw new ConfigException(where + ": the same token is listed twice");
        }
      }
      entries.add(new Entry(digest, new Identity(fields[1], roles, null)));
    }
    if (entries.isEmpty()) {
      throw new ConfigException("auth.tokensFile: " + origin + " lists no token");
    }
    return new StaticTokens(List.copyOf(entries));
  }

  @Override
  public Future<Identity> verify(String token) {
    Identity found = match(Authenticator.sha256(token));
    return found != null ? Future.succeededFuture(found)
        : Future.failedFuture(AgentCubeException.stackless(ErrorCode.UNAUTHENTICATED, "unknown token"));
  }

  /** The identity of the entry whose digest is {@code digest}, looking at every entry. */
  Identity match(byte[] digest) {
    Identity found = null;
    for (Entry e : entries) {
      if (MessageDigest.isEqual(e.digest, digest)) {
        found = e.identity;
      }
    }
    return found;
  }

  int size() {
    return entries.size();
  }
}
