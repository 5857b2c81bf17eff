package io.agentcube.sandboxd;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
 *   <tr><td>-</td><td>{@code AGENTCUBE_SESSION_ID}</td><td>none: any session's token</td></tr>
 *   <tr><td>{@code --max-output-bytes N}</td><td>{@code SANDBOXD_MAX_OUTPUT_BYTES}</td><td>1 MiB per stream</td></tr>
 *   <tr><td>{@code --max-body-bytes N}</td><td>{@code SANDBOXD_MAX_BODY_BYTES}</td><td>32 MiB</td></tr>
 *   <tr><td>{@code --max-executions N}</td><td>{@code SANDBOXD_MAX_EXECUTIONS}</td><td>16 at once</td></tr>
 *   <tr><td>{@code --default-timeout D}</td><td>{@code SANDBOXD_DEFAULT_TIMEOUT}</td><td>60s</td></tr>
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

  private Path workspace;
  private String host = "0.0.0.0";
  private int port = 8080;
  private boolean noAuth;
  private String publicKeyPem;
  private String sessionId;
  private long maxOutputBytes = DEFAULT_MAX_OUTPUT_BYTES;
  private long maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
  private int maxExecutions = DEFAULT_MAX_EXECUTIONS;
  private Duration defaultTimeout = DEFAULT_TIMEOUT;
  private boolean help;

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
    String session = env.get("AGENTCUBE_SESSION_ID");
    o.sessionId = session == null || session.isBlank() ? null : session.strip();
    return o;
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
    if (!noAuth && publicKeyPem == null) {
      throw new IllegalStateException(
          "PICOD_AUTH_PUBLIC_KEY is not set: refusing to start without authentication"
              + " (set it to the router's RSA public key in PEM form, or pass --no-auth)");
    }
    if (defaultTimeout.isNegative() || defaultTimeout.isZero()) {
      throw new IllegalStateException(
          "--default-timeout must be positive, was " + GoDuration.format(defaultTimeout));
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
        "env: PORT, SANDBOXD_HOST, SANDBOXD_WORKSPACE, PICOD_AUTH_PUBLIC_KEY (PEM, required unless"
            + " --no-auth),",
        "     AGENTCUBE_SESSION_ID, SANDBOXD_MAX_OUTPUT_BYTES, SANDBOXD_MAX_BODY_BYTES,"
            + " SANDBOXD_MAX_EXECUTIONS, SANDBOXD_DEFAULT_TIMEOUT");
  }

  public Path workspace() {
    return workspace;
  }

  public SandboxdOptions workspace(Path workspace) {
    this.workspace = workspace.toAbsolutePath().normalize();
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

  /** True when {@code --help} was given. */
  public boolean help() {
    return help;
  }

  /** A one-line summary for the start-up log; never includes the key itself. */
  @Override
  public String toString() {
    return "workspace="
        + workspace
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
