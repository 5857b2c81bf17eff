package io.agentcube.sandboxd;

import io.agentcube.jail.IsolationMode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Everything sandboxd is configured with, read once at start-up from flags and environment
 * variables ({@link #parse}); flags win over the environment. Immutable after {@link #validate()}.
 *
 * <table>
 *   <caption>Settings</caption>
 *   <tr><th>flag</th><th>env</th><th>default</th></tr>
 *   <tr><td>{@code --workspace DIR}</td><td>{@code SANDBOXD_WORKSPACE}</td><td>working directory</td></tr>
 *   <tr><td>{@code --port N}</td><td>{@code PORT}</td><td>8080 (0 = any free port)</td></tr>
 *   <tr><td>{@code --host H}</td><td>{@code SANDBOXD_HOST}</td><td>{@code 0.0.0.0}</td></tr>
 *   <tr><td>{@code --no-auth}</td><td>-</td><td>auth on</td></tr>
 *   <tr><td>-</td><td>{@code PICOD_AUTH_PUBLIC_KEY}</td><td>none: refuse to start</td></tr>
 *   <tr><td>-</td><td>{@code AGENTCUBE_HOST_TOKEN_KEY}</td><td>none (when set: HS256 under it
 *       instead of RS256; what the proxy gives the sandbox host it starts)</td></tr>
 *   <tr><td>-</td><td>{@code AGENTCUBE_SESSION_ID}</td><td>none: any session's token</td></tr>
 *   <tr><td>{@code --max-output-bytes N}</td><td>{@code SANDBOXD_MAX_OUTPUT_BYTES}</td><td>1 MiB per stream</td></tr>
 *   <tr><td>{@code --max-body-bytes N}</td><td>{@code SANDBOXD_MAX_BODY_BYTES}</td><td>32 MiB</td></tr>
 *   <tr><td>{@code --max-executions N}</td><td>{@code SANDBOXD_MAX_EXECUTIONS}</td><td>16 at once</td></tr>
 *   <tr><td>{@code --default-timeout D}</td><td>{@code SANDBOXD_DEFAULT_TIMEOUT}</td><td>60s</td></tr>
 *   <tr><td>{@code --mode single|host}</td><td>{@code SANDBOXD_MODE}</td><td>single</td></tr>
 *   <tr><td>{@code --workspaces DIR}</td><td>{@code SANDBOXD_WORKSPACES}</td><td>none (host mode: required)</td></tr>
 *   <tr><td>{@code --max-sandboxes N}</td><td>{@code SANDBOXD_MAX_SANDBOXES}</td><td>4096</td></tr>
 *   <tr><td>{@code --max-executions-per-sandbox N}</td><td>{@code SANDBOXD_MAX_EXECUTIONS_PER_SANDBOX}</td><td>8 (at most --max-executions)</td></tr>
 *   <tr><td>{@code --uid-base N}</td><td>{@code SANDBOXD_UID_BASE}</td><td>200000 (root hosts: sandboxes get N ... N+max-sandboxes-1)</td></tr>
 *   <tr><td>{@code --exit-on-stdin-eof}</td><td>{@code SANDBOXD_EXIT_ON_STDIN_EOF}</td><td>off</td></tr>
 *   <tr><td>{@code --isolation auto|required|off}</td><td>{@code SANDBOXD_ISOLATION}</td><td>auto</td></tr>
 *   <tr><td>{@code --read-only DIR,DIR}</td><td>{@code SANDBOXD_READ_ONLY}</td><td>none</td></tr>
 * </table>
 *
 * <p>Flags may be written {@code --name value}, {@code --name=value} or with one dash as Go's
 * flag package (and so PicoD) accepts: {@code -port 8080}.
 */
public final class SandboxdOptions {

  /** Default per-stream cap on captured command output: 1 MiB. */
  public static final long DEFAULT_MAX_OUTPUT_BYTES = 1L << 20;
  /** Default cap on a request body: 32 MiB. */
  public static final long DEFAULT_MAX_BODY_BYTES = 32L << 20;
  /** Default number of commands allowed to run at once. */
  public static final int DEFAULT_MAX_EXECUTIONS = 16;
  /** Timeout of a command whose request names none (PicoD's default). */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);
  /** The issuer every token must carry. */
  public static final String TOKEN_ISSUER = "agentcube-router";
  /** Clock skew tolerated on {@code exp}, {@code iat} and {@code nbf} (PicoD's leeway). */
  public static final Duration TOKEN_LEEWAY = Duration.ofMinutes(1);
  /** The audience of the router's tokens for the host admin API ({@code /host/v1/}). */
  public static final String HOST_AUDIENCE = "agentcube-sandbox-host";
  /** Default cap on the sandboxes one host holds. */
  public static final int DEFAULT_MAX_SANDBOXES = 4096;
  /** Default first uid of a root host's sandboxes. */
  public static final int DEFAULT_UID_BASE = 200_000;
  /** Default cap on the commands one sandbox of a host runs at once. */
  public static final int DEFAULT_MAX_EXECUTIONS_PER_SANDBOX = 8;

  /** One daemon per sandbox (a pod), or one host holding many sandboxes' workspaces. */
  public enum Mode {
    SINGLE,
    HOST;

    static Mode parse(String key, String text) {
      switch (text.strip().toLowerCase(Locale.ROOT)) {
        case "single":
          return SINGLE;
        case "host":
          return HOST;
        default:
          throw new IllegalArgumentException(
              key + ": must be single or host, was \"" + text + "\"");
      }
    }

    /** The name used on the command line and in {@code /health}. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private Path workspace;
  private String host = "0.0.0.0";
  private int port = 8080;
  private boolean noAuth;
  private String publicKeyPem;
  private String hostTokenKey;
  private String sessionId;
  private long maxOutputBytes = DEFAULT_MAX_OUTPUT_BYTES;
  private long maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
  private int maxExecutions = DEFAULT_MAX_EXECUTIONS;
  private Duration defaultTimeout = DEFAULT_TIMEOUT;
  private boolean help;
  private Mode mode = Mode.SINGLE;
  private boolean workspaceGiven;
  private Path workspaces;
  private int maxSandboxes = DEFAULT_MAX_SANDBOXES;
  private int uidBase = DEFAULT_UID_BASE;
  private Integer maxExecutionsPerSandbox; // null: the default, capped by maxExecutions
  private boolean exitOnStdinEof;
  private IsolationMode isolation = IsolationMode.AUTO;
  private List<Path> readOnly = List.of();

  /** Options with every default and the working directory as workspace. */
  public SandboxdOptions() {
    this.workspace = Path.of("").toAbsolutePath();
  }

  /**
   * Reads flags then fills what they leave unset from {@code env}.
   *
   * @throws IllegalArgumentException naming the flag or variable and its bad value
   */
  public static SandboxdOptions parse(String[] args, Map<String, String> env) {
    SandboxdOptions o = new SandboxdOptions();
    String workspace = env.get("SANDBOXD_WORKSPACE");
    String port = env.get("PORT");
    String host = env.get("SANDBOXD_HOST");
    String maxOutput = env.get("SANDBOXD_MAX_OUTPUT_BYTES");
    String maxBody = env.get("SANDBOXD_MAX_BODY_BYTES");
    String maxExec = env.get("SANDBOXD_MAX_EXECUTIONS");
    String timeout = env.get("SANDBOXD_DEFAULT_TIMEOUT");
    String mode = env.get("SANDBOXD_MODE");
    String workspaces = env.get("SANDBOXD_WORKSPACES");
    String maxSandboxes = env.get("SANDBOXD_MAX_SANDBOXES");
    String uidBase = env.get("SANDBOXD_UID_BASE");
    String maxPerSandbox = env.get("SANDBOXD_MAX_EXECUTIONS_PER_SANDBOX");
    String isolation = env.get("SANDBOXD_ISOLATION");
    String readOnly = env.get("SANDBOXD_READ_ONLY");
    o.exitOnStdinEof = bool("SANDBOXD_EXIT_ON_STDIN_EOF", env.get("SANDBOXD_EXIT_ON_STDIN_EOF"));
    List<String> rest = new ArrayList<>(List.of(args));
    for (int i = 0; i < rest.size(); i++) {
      String arg = rest.get(i);
      if (!arg.startsWith("-") || arg.equals("-") || arg.equals("--")) {
        throw new IllegalArgumentException("unexpected argument \"" + arg + "\"");
      }
      String name = arg.startsWith("--") ? arg.substring(2) : arg.substring(1);
      String value = null;
      int eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.substring(eq + 1);
        name = name.substring(0, eq);
      }
      switch (name) {
        case "no-auth":
          if (value != null) {
            throw new IllegalArgumentException("--no-auth takes no value");
          }
          o.noAuth = true;
          continue;
        case "exit-on-stdin-eof":
          if (value != null) {
            throw new IllegalArgumentException("--exit-on-stdin-eof takes no value");
          }
          o.exitOnStdinEof = true;
          continue;
        case "help":
        case "h":
          o.help = true;
          continue;
        default:
          break;
      }
      if (value == null) {
        if (i + 1 >= rest.size()) {
          throw new IllegalArgumentException("--" + name + " needs a value");
        }
        value = rest.get(++i);
      }
      switch (name) {
        case "workspace":
          workspace = value;
          break;
        case "mode":
          mode = value;
          break;
        case "workspaces":
          workspaces = value;
          break;
        case "max-sandboxes":
          maxSandboxes = value;
          break;
        case "uid-base":
          uidBase = value;
          break;
        case "max-executions-per-sandbox":
          maxPerSandbox = value;
          break;
        case "isolation":
          isolation = value;
          break;
        case "read-only":
          readOnly = value;
          break;
        case "port":
          port = value;
          break;
        case "host":
          host = value;
          break;
        case "max-output-bytes":
          maxOutput = value;
          break;
        case "max-body-bytes":
          maxBody = value;
          break;
        case "max-executions":
          maxExec = value;
          break;
        case "default-timeout":
          timeout = value;
          break;
        default:
          throw new IllegalArgumentException("unknown flag \"" + arg + "\"");
      }
    }
    if (workspace != null && !workspace.isBlank()) {
      o.workspace = Path.of(workspace).toAbsolutePath().normalize();
      o.workspaceGiven = true;
    }
    if (mode != null && !mode.isBlank()) {
      o.mode = Mode.parse("--mode/SANDBOXD_MODE", mode);
    }
    if (workspaces != null && !workspaces.isBlank()) {
      o.workspaces = Path.of(workspaces).toAbsolutePath().normalize();
    }
    if (maxSandboxes != null) {
      o.maxSandboxes = (int) number("--max-sandboxes/SANDBOXD_MAX_SANDBOXES", maxSandboxes, 1, 65_536);
    }
    if (uidBase != null) {
      o.uidBase = (int) number("--uid-base/SANDBOXD_UID_BASE", uidBase, 1000, 2_000_000_000);
    }
    if (maxPerSandbox != null) {
      o.maxExecutionsPerSandbox = (int) number(
          "--max-executions-per-sandbox/SANDBOXD_MAX_EXECUTIONS_PER_SANDBOX", maxPerSandbox, 1, 1024);
    }
    if (isolation != null && !isolation.isBlank()) {
      try {
        o.isolation = IsolationMode.parse(isolation);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--isolation/SANDBOXD_ISOLATION: " + e.getMessage());
      }
    }
    if (readOnly != null && !readOnly.isBlank()) {
      List<Path> dirs = new ArrayList<>();
      for (String dir : readOnly.split(",")) {
        Path p = Path.of(dir.strip());
        if (!p.isAbsolute()) {
          throw new IllegalArgumentException(
              "--read-only/SANDBOXD_READ_ONLY: not an absolute path: \"" + dir + "\"");
        }
        dirs.add(p.normalize());
      }
      o.readOnly = List.copyOf(dirs);
    }
    if (port != null && !port.isBlank()) {
      o.port = (int) number("--port/PORT", port, 0, 65535);
    }
    if (host != null && !host.isBlank()) {
      o.host = host.strip();
    }
    if (maxOutput != null) {
      o.maxOutputBytes = number("--max-output-bytes/SANDBOXD_MAX_OUTPUT_BYTES", maxOutput, 1, 1L << 30);
    }
    if (maxBody != null) {
      o.maxBodyBytes = number("--max-body-bytes/SANDBOXD_MAX_BODY_BYTES", maxBody, 1, 1L << 40);
    }
    if (maxExec != null) {
      o.maxExecutions = (int) number("--max-executions/SANDBOXD_MAX_EXECUTIONS", maxExec, 1, 1024);
    }
    if (timeout != null) {
      try {
        o.defaultTimeout = GoDuration.parse(timeout);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "--default-timeout/SANDBOXD_DEFAULT_TIMEOUT: " + e.getMessage());
      }
    }
    String pem = env.get("PICOD_AUTH_PUBLIC_KEY");
    o.publicKeyPem = pem == null || pem.isBlank() ? null : pem;
    String hostKey = env.get("AGENTCUBE_HOST_TOKEN_KEY");
    o.hostTokenKey = hostKey == null || hostKey.isBlank() ? null : hostKey.strip();
    String session = env.get("AGENTCUBE_SESSION_ID");
    o.sessionId = session == null || session.isBlank() ? null : session.strip();
    return o;
  }

  private static boolean bool(String key, String value) {
    if (value == null || value.isBlank()) {
      return false;
    }
    switch (value.strip().toLowerCase(Locale.ROOT)) {
      case "1":
      case "true":
      case "yes":
        return true;
      case "0":
      case "false":
      case "no":
        return false;
      default:
        throw new IllegalArgumentException(key + ": must be true or false, was \"" + value + "\"");
    }
  }

  private static long number(String key, String value, long min, long max) {
    long n;
    try {
      n = Long.parseLong(value.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + ": not a number: \"" + value + "\"");
    }
    if (n < min || n > max) {
      throw new IllegalArgumentException(
          key + ": " + n + " is out of range [" + min + ", " + max + "]");
    }
    return n;
  }

  /**
   * Checks the combination once at start-up.
   *
   * @throws IllegalStateException naming the missing or contradictory setting
   */
  public SandboxdOptions validate() {
    Objects.requireNonNull(workspace, "workspace");
    if (!noAuth && publicKeyPem == null && hostTokenKey == null) {
      throw new IllegalStateException(
          "PICOD_AUTH_PUBLIC_KEY is not set: refusing to start without authentication"
              + " (set it to the router's RSA public key in PEM form, or pass --no-auth)");
    }
    if (defaultTimeout.isNegative() || defaultTimeout.isZero()) {
      throw new IllegalStateException(
          "--default-timeout must be positive, was " + GoDuration.format(defaultTimeout));
    }
    if (maxExecutionsPerSandbox != null && maxExecutionsPerSandbox > maxExecutions) {
      throw new IllegalStateException("--max-executions-per-sandbox " + maxExecutionsPerSandbox
          + " is above --max-executions " + maxExecutions);
    }
    for (Path dir : readOnly) {
      if (!java.nio.file.Files.isDirectory(dir) && !java.nio.file.Files.isRegularFile(dir)) {
        throw new IllegalStateException("--read-only: " + dir + " does not exist");
      }
      if (mode == Mode.HOST && workspaces != null
          && (dir.startsWith(workspaces) || workspaces.startsWith(dir))) {
        throw new IllegalStateException("--read-only: " + dir
            + " would show the workspaces of other sandboxes (" + workspaces + ")");
      }
    }
    if (mode == Mode.HOST) {
      if (workspaces == null) {
        throw new IllegalStateException("--mode host needs --workspaces DIR (SANDBOXD_WORKSPACES)");
      }
      if (workspaceGiven) {
        throw new IllegalStateException(
            "--workspace is for --mode single; a host keeps each sandbox in --workspaces DIR/<id>");
      }
      if (noAuth) {
        throw new IllegalStateException(
            "--no-auth is not allowed with --mode host: the token selects the sandbox");
      }
    } else if (workspaces != null) {
      throw new IllegalStateException("--workspaces is for --mode host; use --workspace DIR");
    }
    return this;
  }

  /** The usage text printed by {@code --help}. */
  public static String usage() {
    return String.join(
        "\n",
        "usage: java -jar agentcube-sandboxd.jar [--workspace DIR] [--port N] [--host H] [--no-auth]",
        "         [--max-output-bytes N] [--max-body-bytes N] [--max-executions N]"
            + " [--default-timeout D]",
        "         [--isolation auto|required|off] [--read-only DIR,...]",
        "       java -jar agentcube-sandboxd.jar --mode host --workspaces DIR [--max-sandboxes N]",
        "         [--max-executions-per-sandbox N] [--uid-base N] [--exit-on-stdin-eof]"
            + " [same flags as above]",
        "env: PORT, SANDBOXD_HOST, SANDBOXD_WORKSPACE, PICOD_AUTH_PUBLIC_KEY (PEM, required unless"
            + " --no-auth),",
        "     AGENTCUBE_HOST_TOKEN_KEY (HS256 key instead of the public key),",
        "     AGENTCUBE_SESSION_ID, SANDBOXD_MAX_OUTPUT_BYTES, SANDBOXD_MAX_BODY_BYTES,"
            + " SANDBOXD_MAX_EXECUTIONS, SANDBOXD_DEFAULT_TIMEOUT,",
        "     SANDBOXD_MODE, SANDBOXD_WORKSPACES, SANDBOXD_MAX_SANDBOXES,"
            + " SANDBOXD_MAX_EXECUTIONS_PER_SANDBOX, SANDBOXD_UID_BASE,",
        "     SANDBOXD_EXIT_ON_STDIN_EOF, SANDBOXD_ISOLATION, SANDBOXD_READ_ONLY");
  }

  public Path workspace() {
    return workspace;
  }

  public SandboxdOptions workspace(Path workspace) {
    this.workspace = workspace.toAbsolutePath().normalize();
    this.workspaceGiven = true;
    return this;
  }

  public String host() {
    return host;
  }

  public SandboxdOptions host(String host) {
    this.host = host;
    return this;
  }

  /** The port to listen on; 0 picks a free one (see {@link SandboxdServer#port()}). */
  public int port() {
    return port;
  }

  public SandboxdOptions port(int port) {
    this.port = port;
    return this;
  }

  /** True when started with {@code --no-auth}: every request is served without a token. */
  public boolean noAuth() {
    return noAuth;
  }

  public SandboxdOptions noAuth(boolean noAuth) {
    this.noAuth = noAuth;
    return this;
  }

  /** The RSA public key (PEM, SubjectPublicKeyInfo) tokens are verified with, or null. */
  public String publicKeyPem() {
    return publicKeyPem;
  }

  public SandboxdOptions publicKeyPem(String publicKeyPem) {
    this.publicKeyPem = publicKeyPem;
    return this;
  }

  /**
   * The shared HS256 key ({@code AGENTCUBE_HOST_TOKEN_KEY}) or null. When set, tokens are HS256
   * under it and RS256 ones are refused: the proxy's own sandbox host needs no public key.
   */
  public String hostTokenKey() {
    return hostTokenKey;
  }

  public SandboxdOptions hostTokenKey(String hostTokenKey) {
    this.hostTokenKey = hostTokenKey;
    return this;
  }

  /** The session this sandbox serves, or null; when set, other sessions' tokens are refused. */
  public String sessionId() {
    return sessionId;
  }

  public SandboxdOptions sessionId(String sessionId) {
    this.sessionId = sessionId;
    return this;
  }

  /** Bytes of stdout and, separately, of stderr kept per command; the rest is discarded. */
  public long maxOutputBytes() {
    return maxOutputBytes;
  }

  public SandboxdOptions maxOutputBytes(long maxOutputBytes) {
    this.maxOutputBytes = maxOutputBytes;
    return this;
  }

  /** Largest request body accepted, in bytes; larger ones get 413. */
  public long maxBodyBytes() {
    return maxBodyBytes;
  }

  public SandboxdOptions maxBodyBytes(long maxBodyBytes) {
    this.maxBodyBytes = maxBodyBytes;
    return this;
  }

  /** Commands allowed to run at once; one more gets 429. */
  public int maxExecutions() {
    return maxExecutions;
  }

  public SandboxdOptions maxExecutions(int maxExecutions) {
    this.maxExecutions = maxExecutions;
    return this;
  }

  /** Timeout of a command whose request names none. */
  public Duration defaultTimeout() {
    return defaultTimeout;
  }

  public SandboxdOptions defaultTimeout(Duration defaultTimeout) {
    this.defaultTimeout = defaultTimeout;
    return this;
  }

  /** One sandbox (the default) or a host of many. */
  public Mode mode() {
    return mode;
  }

  public SandboxdOptions mode(Mode mode) {
    this.mode = mode;
    return this;
  }

  /** Host mode: the directory holding every sandbox's workspace ({@code DIR/<id>}). */
  public Path workspaces() {
    return workspaces;
  }

  public SandboxdOptions workspaces(Path workspaces) {
    this.workspaces = workspaces.toAbsolutePath().normalize();
    return this;
  }

  /** Host mode: sandboxes held at once; one more create gets 429. */
  public int maxSandboxes() {
    return maxSandboxes;
  }

  public SandboxdOptions maxSandboxes(int maxSandboxes) {
    this.maxSandboxes = maxSandboxes;
    return this;
  }

  /**
   * Host mode as root: the first uid handed to sandboxes; they get {@code uidBase} to
   * {@code uidBase + maxSandboxes - 1}. Two hosts on one machine need disjoint ranges.
   */
  public int uidBase() {
    return uidBase;
  }

  public SandboxdOptions uidBase(int uidBase) {
    this.uidBase = uidBase;
    return this;
  }

  /**
   * Host mode: commands one sandbox runs at once (429 above), never more than
   * {@link #maxExecutions()}. Single mode: {@link #maxExecutions()}.
   */
  public int maxExecutionsPerSandbox() {
    if (mode == Mode.SINGLE) {
      return maxExecutions;
    }
    return maxExecutionsPerSandbox != null
        ? maxExecutionsPerSandbox
        : Math.min(DEFAULT_MAX_EXECUTIONS_PER_SANDBOX, maxExecutions);
  }

  public SandboxdOptions maxExecutionsPerSandbox(int maxExecutionsPerSandbox) {
    this.maxExecutionsPerSandbox = maxExecutionsPerSandbox;
    return this;
  }

  /**
   * True when the process is to exit (killing every command, removing the workspaces of a host)
   * once its stdin reaches end of file: a launcher's way to make sandboxd die with it.
   */
  public boolean exitOnStdinEof() {
    return exitOnStdinEof;
  }

  public SandboxdOptions exitOnStdinEof(boolean exitOnStdinEof) {
    this.exitOnStdinEof = exitOnStdinEof;
    return this;
  }

  /** Whether commands run in the jail: when it works ({@code auto}), always, or never. */
  public IsolationMode isolation() {
    return isolation;
  }

  public SandboxdOptions isolation(IsolationMode isolation) {
    this.isolation = isolation;
    return this;
  }

  /**
   * Host paths every jailed command also sees, read-only at the same path (an interpreter
   * installed under {@code /opt}, say); beyond the jail's base system, nothing else of the host
   * is visible. Ignored without the jail.
   */
  public List<Path> readOnly() {
    return readOnly;
  }

  public SandboxdOptions readOnly(List<Path> readOnly) {
    this.readOnly = List.copyOf(readOnly);
    return this;
  }

  /** True when {@code --help} was given. */
  public boolean help() {
    return help;
  }

  /** A one-line summary for the start-up log; never includes the key itself. */
  @Override
  public String toString() {
    return "mode="
        + mode.label()
        + (mode == Mode.HOST
            ? " workspaces=" + workspaces + " maxSandboxes=" + maxSandboxes + " uidBase=" + uidBase
                + " maxExecutionsPerSandbox=" + maxExecutionsPerSandbox()
            : " workspace=" + workspace)
        + " isolation="
        + isolation.name().toLowerCase(Locale.ROOT)
        + " host="
        + host
        + " port="
        + port
        + " auth="
        + (noAuth ? "off" : "rs256")
        + " session="
        + (sessionId == null ? "any" : sessionId)
        + " maxOutputBytes="
        + maxOutputBytes
        + " maxBodyBytes="
        + maxBodyBytes
        + " maxExecutions="
        + maxExecutions
        + " defaultTimeout="
        + GoDuration.format(defaultTimeout);
  }
}
