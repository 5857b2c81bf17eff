package io.agentcube.proxy;

import io.agentcube.proxy.config.ConfigException;
import io.agentcube.proxy.config.ProxyConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code java -jar agentcube-proxy.jar [--config conf/agentcube.yaml] [--key=value ...]}.
 *
 * <p>Exit codes: 0 after a normal stop (SIGTERM, SIGINT), 1 when start-up fails, 2 for a bad
 * configuration (the message names the key).
 *
 * <p>A stop runs in the shutdown hook: the drain ({@code shutdown.drainGrace} +
 * {@code shutdown.drainTimeout}, docs/operations.md "Drain and upgrades"), then the sandbox stop
 * ({@code shutdown.timeout}).
 */
public final class Main {

  private Main() {}

  public static void main(String[] argv) {
    List<String> args = Arrays.asList(argv);
    if (args.contains("--help") || args.contains("-h")) {
      System.out.println("usage: agentcube-proxy [--config FILE] [--<key>=<value> ...]\n"
          + "keys and defaults: docs/configuration.md; env AGENTCUBE_<KEY> overrides the file,"
          + " flags override both");
      return;
    }
    ProxyConfig config;
    try {
      config = ProxyConfig.load(configFile(args), System.getenv(), args);
      io.agentcube.proxy.logs.Logs.configure(config); // before the first line is logged
    } catch (ConfigException e) {
      System.err.println("agentcube-proxy: configuration error: " + e.getMessage());
      System.exit(2);
      return;
    }
    AgentCubeProxy proxy;
    try {
      proxy = AgentCubeProxy.start(config).toCompletionStage().toCompletableFuture()
          .get(config.duration("process.readyTimeout").toSeconds() + 60, TimeUnit.SECONDS);
    } catch (Exception e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof ConfigException) {
        // found at start-up (a key file, the listener without authentication): still a bad value
        System.err.println("agentcube-proxy: configuration error: " + cause.getMessage());
        System.exit(2);
        return;
      }
      System.err.println("agentcube-proxy: start-up failed: " + cause);
      System.exit(1);
      return;
    }
    long stopSeconds = config.duration("shutdown.timeout").toSeconds();
    // The drain bounds itself (grace + timeout); the margin is for a drain that cannot end.
    long drainMs = config.duration("shutdown.drainGrace").plus(config.duration("shutdown.drainTimeout"))
        .toMillis() + 5_000;
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        proxy.drain().toCompletionStage().toCompletableFuture().get(drainMs, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        System.err.println("agentcube-proxy: drain incomplete: " + e);
      }
      try {
        proxy.close().toCompletionStage().toCompletableFuture().get(stopSeconds, TimeUnit.SECONDS);
      } catch (Exception e) {
        System.err.println("agentcube-proxy: shutdown incomplete: " + e);
      }
    }, "agentcube-shutdown"));
    exitZeroOnSignals();
  }

  /**
   * SIGTERM and SIGINT are a normal stop: exit code 0 once the shutdown hook is done, where the
   * JVM's own handlers would exit with 128 + the signal's number (143, 130).
   */
  private static void exitZeroOnSignals() {
    for (String name : List.of("TERM", "INT")) {
      try {
        sun.misc.Signal.handle(new sun.misc.Signal(name), signal -> System.exit(0));
      } catch (IllegalArgumentException e) {
        // -Xrs, or a signal the VM uses itself: the JVM's handler stays (exit 128 + signal).
        System.err.println("agentcube-proxy: SIG" + name + " keeps the JVM's handler: " + e.getMessage());
      }
    }
  }

  private static Path configFile(List<String> args) {
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.startsWith("--config=")) {
        return Path.of(a.substring("--config=".length()));
      }
      if (a.equals("--config") && i + 1 < args.size()) {
        return Path.of(args.get(i + 1));
      }
    }
    Path dflt = Path.of("conf", "agentcube.yaml");
    return Files.exists(dflt) ? dflt : null;
  }
}
