package io.agentcube.proxy.config;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The proxy's configuration: every key with its default, read from {@code conf/agentcube.yaml},
 * then the environment ({@code AGENTCUBE_POOL_START_TIMEOUT=30s}), then command-line flags
 * ({@code --pool.startTimeout=30s}); later sources win. Unknown keys and bad values fail start-up
 * with a message that names the key. {@code docs/configuration.md} documents each key.
 *
 * <p>Immutable once loaded.
 */
public final class ProxyConfig {

  /** Every key, in the order of {@code conf/agentcube.yaml}. */
  static final List<ConfigKey> KEYS = List.of(
      ConfigKey.string("server.host", "127.0.0.1"),
      ConfigKey.integer("server.port", 8080, 0, 65535),
      ConfigKey.integer("server.eventLoops", 0, 0, 256),
      ConfigKey.bool("server.nativeTransport", true),
      ConfigKey.integer("server.maxHeaderSize", 16384, 1024, 1 << 20),
      ConfigKey.integer("server.maxInitialLineLength", 8192, 256, 1 << 20),
      ConfigKey.integer("server.maxControlBodySize", 65536, 1024, 16 << 20),
      ConfigKey.duration("server.clientIdleTimeout", "10m", 0, 86_400_000),
      ConfigKey.duration("server.headerReadTimeout", "10s", 0, 3_600_000),
      ConfigKey.integer("server.maxConnections", 0, 0, 10_000_000),
      ConfigKey.integer("server.fdReserve", 256, 0, 10_000_000),
      ConfigKey.string("backend", "process"),
      ConfigKey.list("runtimes.dirs", List.of("conf/runtimes")),
      ConfigKey.duration("runtimes.reloadInterval", "2s", 0, 3_600_000),
      ConfigKey.integer("sessions.maxSessions", 10_000, 1, 10_000_000),
      ConfigKey.duration("sessions.endedMemory", "1h", 0, Long.MAX_VALUE / 2),
      ConfigKey.integer("sessions.endedMemorySize", 100_000, 0, 10_000_000),
      ConfigKey.duration("sessions.activityFlushInterval", "10s", 100, 3_600_000),
      ConfigKey.integer("pool.maxConcurrentStarts", 4, 1, 1024),
      ConfigKey.integer("pool.maxColdStartQueue", 256, 0, 1_000_000),
      ConfigKey.duration("pool.startTimeout", "60s", 1, Long.MAX_VALUE / 2),
      ConfigKey.duration("pool.retryAfter", "1s", 1000, 3_600_000),
      ConfigKey.duration("pool.refillBackoffMax", "30s", 1, Long.MAX_VALUE / 2),
      ConfigKey.duration("upstream.connectTimeout", "5s", 1, 600_000),
      ConfigKey.duration("upstream.idleTimeout", "10m", 1, 86_400_000),
      ConfigKey.integer("upstream.maxConnectionsPerSandbox", 64, 1, 100_000),
      ConfigKey.string("process.stateDir", ""),
      ConfigKey.duration("process.readyTimeout", "60s", 1, Long.MAX_VALUE / 2),
      ConfigKey.duration("process.stopGracePeriod", "5s", 0, 600_000),
      ConfigKey.bool("process.keepSandboxesOnStop", false),
      ConfigKey.list("process.sandboxdCommand", List.of("java",
          "-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xss512k",
          "-Djdk.lang.Process.launchMechanism=VFORK", "-jar",
          "$(AGENTCUBE_HOME)/sandboxd/target/agentcube-sandboxd.jar", "--host", "127.0.0.1")),
      ConfigKey.bool("process.sandboxHost", true),
      ConfigKey.integer("process.hostMaxSandboxes", 4096, 1, 65_536),
      ConfigKey.string("isolation.mode", "auto"),
      ConfigKey.list("isolation.networkRuntimes", List.of()),
      ConfigKey.string("kubernetes.kubeconfig", ""),
      ConfigKey.list("kubernetes.namespaces", List.of()),
      ConfigKey.string("kubernetes.identity", ""),
      ConfigKey.string("kubernetes.leaseNamespace", ""),
      ConfigKey.string("kubernetes.leaseName", "agentcube-proxy-leader"),
      ConfigKey.duration("kubernetes.leaseDuration", "15s", 1000, 3_600_000),
      ConfigKey.duration("kubernetes.renewDeadline", "10s", 500, 3_600_000),
      ConfigKey.duration("kubernetes.retryPeriod", "2s", 100, 600_000),
      ConfigKey.duration("kubernetes.reconcileInterval", "5s", 100, 600_000),
      ConfigKey.duration("kubernetes.apiTimeout", "10s", 100, 600_000),
      ConfigKey.string("kubernetes.signingKeySecret", "agentcube-proxy-picod-key"),
      ConfigKey.bool("metrics.requests", true),
      ConfigKey.string("auth.mode", "none"),
      ConfigKey.bool("auth.allowUnauthenticated", false),
      ConfigKey.string("auth.invocations", "token"),
      ConfigKey.string("auth.tokensFile", ""),
      ConfigKey.string("auth.jwt.publicKeyFile", ""),
      ConfigKey.string("auth.jwt.jwksUrl", ""),
      ConfigKey.string("auth.jwt.issuer", ""),
      ConfigKey.list("auth.jwt.audience", List.of()),
      ConfigKey.duration("auth.jwt.leeway", "30s", 0, 600_000),
      ConfigKey.string("auth.jwt.rolesClaim", "roles"),
      ConfigKey.list("auth.kubernetes.audiences", List.of()),
      ConfigKey.duration("auth.kubernetes.timeout", "5s", 100, 60_000),
      ConfigKey.integer("auth.kubernetes.maxConcurrentReviews", 16, 1, 1024),
      ConfigKey.duration("auth.cache.ttl", "30s", 0, 3_600_000),
      ConfigKey.integer("auth.cache.maxSize", 10_000, 1, 1_000_000),
      ConfigKey.string("auth.adminRole", "admin"),
      ConfigKey.list("auth.admins", List.of()),
      ConfigKey.string("auth.requiredRole", ""),
      ConfigKey.string("auth.picod.privateKeyFile", ""),
      ConfigKey.duration("auth.picod.tokenTtl", "1h", 60_000, 7 * 24 * 3_600_000L),
      ConfigKey.duration("shutdown.timeout", "30s", 0, 3_600_000),
      ConfigKey.duration("shutdown.drainGrace", "5s", 0, 3_600_000),
      ConfigKey.duration("shutdown.drainTimeout", "30s", 0, 3_600_000),
      ConfigKey.string("log.format", "text"),
      ConfigKey.bool("log.access", false),
      ConfigKey.bool("tracing.enabled", false));

  private final Map<String, Object> values;

  private ProxyConfig(Map<String, Object> values) {
    this.values = values;
  }

  /** The defaults alone. */
  public static ProxyConfig defaults() {
    return builder().build();
  }

  /**
   * Loads {@code file} (if not {@code null}), then {@code env}, then {@code args}.
   *
   * @param args flags {@code --key=value} or {@code --key value}; {@code --config} is skipped here
   * @throws ConfigException naming the key of the first bad value
   */
  public static ProxyConfig load(Path file, Map<String, String> env, List<String> args) {
    Builder b = builder();
    if (file != null) {
      b.yaml(file);
    }
    for (ConfigKey k : KEYS) {
      String v = env.get(k.envName());
      if (v != null) {
        b.set(k.path(), v, "env " + k.envName());
      }
    }
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (!a.startsWith("--")) {
        throw new ConfigException("unexpected argument '" + a + "' (flags are --key=value)");
      }
      String key;
      String value;
      int eq = a.indexOf('=');
      if (eq > 0) {
        key = a.substring(2, eq);
        value = a.substring(eq + 1);
      } else {
        key = a.substring(2);
        if (i + 1 >= args.size()) {
          throw new ConfigException(key + ": missing value for flag --" + key);
        }
        value = args.get(++i);
      }
      if (!key.equals("config")) {
        b.set(key, value, "flag --" + key);
      }
    }
    return b.build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Collects values; each is converted and checked as it is set. */
  public static final class Builder {
    private final Map<String, Object> values = new LinkedHashMap<>();

    private Builder() {
      for (ConfigKey k : KEYS) {
        values.put(k.path(), k.defaultValue());
      }
    }

    /** Sets {@code key} from a raw value (string or YAML-typed). */
    public Builder set(String key, Object raw, String origin) {
      ConfigKey k = KEYS.stream().filter(x -> x.path().equals(key)).findFirst()
          .orElseThrow(() -> new ConfigException(key + ": unknown configuration key (from " + origin + ")"));
      values.put(key, k.convert(raw, origin));
      return this;
    }

    public Builder set(String key, Object raw) {
      return set(key, raw, "code");
    }

    Builder yaml(Path file) {
      Map<String, Object> tree;
      try {
        tree = YAMLMapper.builder().build().readValue(Files.readString(file), Map.class);
      } catch (IOException | JacksonException e) {
        throw new ConfigException(file + ": cannot read configuration: " + e.getMessage());
      }
      if (tree != null) {
        flatten("", tree, file.toString());
      }
      return this;
    }

    @SuppressWarnings("unchecked")
    private void flatten(String prefix, Map<String, Object> tree, String origin) {
      for (Map.Entry<String, Object> e : tree.entrySet()) {
        String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
        boolean isLeafKey = KEYS.stream().anyMatch(k -> k.path().equals(key));
        if (e.getValue() instanceof Map<?, ?> m && !isLeafKey) {
          flatten(key, (Map<String, Object>) m, origin);
        } else if (e.getValue() != null) {
          set(key, e.getValue(), origin);
        }
      }
    }

    public ProxyConfig build() {
      String backend = (String) values.get("backend");
      if (!backend.equals("process") && !backend.equals("kubernetes")) {
        throw new ConfigException("backend: must be 'process' or 'kubernetes', was '" + backend + "'");
      }
      String logFormat = (String) values.get("log.format");
      if (!logFormat.equals("text") && !logFormat.equals("json")) {
        throw new ConfigException("log.format: must be 'text' or 'json', was '" + logFormat + "'");
      }
      return new ProxyConfig(Map.copyOf(values));
    }
  }

  public String string(String key) {
    return (String) get(key);
  }

  public int integer(String key) {
    return (Integer) get(key);
  }

  public boolean bool(String key) {
    return (Boolean) get(key);
  }

  public Duration duration(String key) {
    return (Duration) get(key);
  }

  @SuppressWarnings("unchecked")
  public List<String> list(String key) {
    return (List<String>) get(key);
  }

  private Object get(String key) {
    Object v = values.get(key);
    if (v == null && !values.containsKey(key)) {
      throw new IllegalArgumentException("no configuration key " + key);
    }
    return v;
  }

  /** The effective configuration, for the start-up log and {@code docs/}. */
  public JsonObject toJson() {
    JsonObject json = new JsonObject();
    for (ConfigKey k : KEYS) {
      Object v = values.get(k.path());
      json.put(k.path(), v instanceof Duration d ? io.agentcube.runtime.Durations.format(d) : v);
    }
    return json;
  }
}
