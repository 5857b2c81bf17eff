package io.agentcube.proxy;

import io.agentcube.jail.IsolationMode;
import io.agentcube.jail.Jail;
import io.agentcube.proxy.auth.PicodTokens;
import io.agentcube.proxy.config.ConfigException;
import io.agentcube.proxy.config.ProxyConfig;
import io.agentcube.runtime.AuthMode;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeFiles;
import io.agentcube.runtime.RuntimeSource;
import io.agentcube.sandbox.LocalSandboxPools;
import io.agentcube.sandbox.PoolOptions;
import io.agentcube.sandbox.SandboxBackend;
import io.agentcube.sandbox.SandboxPools;
import io.agentcube.sandbox.kubernetes.KubernetesOptions;
import io.agentcube.sandbox.kubernetes.KubernetesPlatform;
import io.agentcube.sandbox.process.ProcessBackend;
import io.agentcube.sandbox.process.ProcessBackendOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The one place that turns {@code backend: process | kubernetes} into the parts the proxy runs
 * on: a {@link SandboxBackend}, its {@link SandboxPools}, the {@link RuntimeSource} runtimes come
 * from, and the PicoD signing key. Everything after it holds only those interfaces.
 */
interface Platform {

  SandboxBackend backend();

  SandboxPools pools(PoolOptions options, SandboxPools.Listener listener);

  RuntimeSource runtimes();

  /** The signing identity towards PicoD sandboxes. Blocking work runs off the event loop. */
  Future<PicodTokens> tokens();

  /** Releases the platform (after the backend closed). */
  Future<Void> close();

  /** How sandboxes are kept apart, for {@code /health/ready}. */
  default Isolation isolation() {
    return new Isolation(true, "a pod per sandbox (the cluster's runtime class)");
  }

  /** @param isolated false when sandbox code runs unjailed (isolation: auto without bubblewrap) */
  record Isolation(boolean isolated, String detail) {}

  /**
   * The platform {@code config} names.
   *
   * @param tokens the tokens once {@link #tokens()} completed: sandboxes get their public key
   */
  static Future<Platform> create(ProxyConfig config, Vertx vertx, java.util.function.Supplier<PicodTokens> tokens) {
    String name = config.string("backend");
    String home = Path.of("").toAbsolutePath().toString();
    Function<RuntimeDefinition, Map<String, String>> env = d -> d.authMode() == AuthMode.PICOD
        ? Map.of("PICOD_AUTH_PUBLIC_KEY", tokens.get().publicKeyPem()) : Map.of();
    return switch (name) {
      case "process" -> process(config, vertx, tokens, d -> {
        Map<String, String> m = new java.util.HashMap<>(env.apply(d));
        m.put("AGENTCUBE_HOME", home);
        return m;
      });
      case "kubernetes" -> kubernetes(config, vertx, env);
      // ProxyConfig.build refuses any other name; this is its last line of defence.
      default -> Future.failedFuture(new ConfigException(
          "backend: must be 'process' or 'kubernetes', was '" + name + "'"));
    };
  }

  private static Path stateDir(ProxyConfig config) {
    String dir = config.string("process.stateDir");
    return dir.isEmpty() ? Path.of(System.getProperty("java.io.tmpdir"), "agentcube-proxy") : Path.of(dir);
  }

  private static Future<Platform> process(ProxyConfig config, Vertx vertx,
      java.util.function.Supplier<PicodTokens> tokens,
      Function<RuntimeDefinition, Map<String, String>> env) {
    IsolationMode isolation;
    try {
      isolation = IsolationMode.parse(config.string("isolation.mode"));
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new ConfigException("isolation.mode: " + e.getMessage()));
    }
    java.util.Set<String> network = java.util.Set.copyOf(config.list("isolation.networkRuntimes"));
    return vertx.executeBlocking(() -> Jail.probe(isolation), false).compose(jail -> {
      ProcessBackendOptions.HostOptions host = config.bool("process.sandboxHost")
          ? new ProcessBackendOptions.HostOptions(isolation.toString(),
              () -> tokens.get().hostAuthorization(), () -> tokens.get().hostKey(),
              d -> network.contains(d.ref().namespace() + "/" + d.ref().name()),
              config.integer("process.hostMaxSandboxes"))
          : null;
      ProcessBackendOptions options = new ProcessBackendOptions(stateDir(config),
          config.duration("process.readyTimeout"), config.duration("process.stopGracePeriod"),
          config.list("process.sandboxdCommand"), env, config.bool("process.keepSandboxesOnStop"),
          jail, host);
      return processPlatform(config, vertx, options,
          new Isolation(jail.enabled(), jail.describe()));
    });
  }

  private static Future<Platform> processPlatform(ProxyConfig config, Vertx vertx,
      ProcessBackendOptions options, Isolation isolation) {
    return ProcessBackend.create(vertx, options).map(backend -> new Platform() {
      @Override
      public SandboxBackend backend() {
        return backend;
      }

      @Override
      public Isolation isolation() {
        return isolation;
      }

      @Override
      public SandboxPools pools(PoolOptions pools, SandboxPools.Listener listener) {
        return new LocalSandboxPools(backend, vertx, pools, listener, Clock.systemUTC());
      }

      @Override
      public RuntimeSource runtimes() {
        List<Path> dirs = config.list("runtimes.dirs").stream().map(Path::of).toList();
        return new RuntimeFiles(dirs, backend::problems);
      }

      @Override
      public Future<PicodTokens> tokens() {
        return vertx.executeBlocking(() -> {
          String keyFile = config.string("auth.picod.privateKeyFile");
          // Without a configured key the generated one lives in the state directory, so that
          // sandboxes adopted after a restart still accept the proxy's tokens.
          return PicodTokens.create(vertx, keyFile.isEmpty() ? null : Path.of(keyFile),
              stateDir(config).resolve("picod-signing-key.pem"), config.duration("auth.picod.tokenTtl"));
        });
      }

      @Override
      public Future<Void> close() {
        return Future.succeededFuture();
      }
    });
  }

  private static Future<Platform> kubernetes(ProxyConfig config, Vertx vertx,
      Function<RuntimeDefinition, Map<String, String>> env) {
    String identity = config.string("kubernetes.identity");
    if (identity.isEmpty()) {
      identity = System.getenv().getOrDefault("POD_NAME", hostName());
    }
    String leaseNamespace = config.string("kubernetes.leaseNamespace");
    if (leaseNamespace.isEmpty()) {
      leaseNamespace = System.getenv().getOrDefault("POD_NAMESPACE", "agentcube-system");
    }
    KubernetesOptions options = new KubernetesOptions(config.list("kubernetes.namespaces"), identity,
        leaseNamespace, config.string("kubernetes.leaseName"), config.duration("kubernetes.leaseDuration"),
        config.duration("kubernetes.renewDeadline"), config.duration("kubernetes.retryPeriod"),
        config.duration("kubernetes.reconcileInterval"), config.duration("kubernetes.apiTimeout"), env);
    String kubeconfig = config.string("kubernetes.kubeconfig");
    return KubernetesPlatform.create(vertx, kubeconfig.isEmpty() ? null : Path.of(kubeconfig), options)
        .map(k8s -> new Platform() {
          @Override
          public SandboxBackend backend() {
            return k8s.backend();
          }

          @Override
          public SandboxPools pools(PoolOptions pools, SandboxPools.Listener listener) {
            return k8s.pools(pools, listener, Clock.systemUTC());
          }

          @Override
          public RuntimeSource runtimes() {
            return k8s.runtimes();
          }

          @Override
          public Future<PicodTokens> tokens() {
            String keyFile = config.string("auth.picod.privateKeyFile");
            if (!keyFile.isEmpty()) {
              return vertx.executeBlocking(() -> PicodTokens.create(vertx, Path.of(keyFile),
                  config.duration("auth.picod.tokenTtl")));
            }
            // One key for every replica: sandboxes accept tokens from any of them.
            String secret = config.string("kubernetes.signingKeySecret");
            return k8s.sharedSigningKey(secret, PicodTokens::generatePem)
                .compose(pem -> vertx.executeBlocking(() -> PicodTokens.fromPem(vertx, pem,
                    "secret " + secret, config.duration("auth.picod.tokenTtl"))));
          }

          @Override
          public Future<Void> close() {
            return k8s.close();
          }
        });
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "agentcube-proxy-" + ProcessHandle.current().pid();
    }
  }
}
