package io.agentcube.sandboxd;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Entry point: {@code java -jar agentcube-sandboxd.jar [--workspace DIR] [--port N] [--host H]
 * [--no-auth]} (all flags in {@link SandboxdOptions}).
 *
 * <p>On success it prints exactly one line to stdout, {@code sandboxd listening on port N}, so a
 * launcher that asked for port 0 can read the port; logs go to stderr. It exits with 2 on a
 * configuration error (including a missing {@code PICOD_AUTH_PUBLIC_KEY} without
 * {@code --no-auth}) and 1 when it cannot listen, in both cases with one line on stderr saying
 * why. SIGTERM stops the server and kills running commands (a host also deletes its sandboxes).
 * With {@code --exit-on-stdin-eof} the process does the same, and exits 0, once its stdin
 * reaches end of file: a launcher that keeps the pipe open (and never writes to it) takes
 * sandboxd down with it, even when killed with SIGKILL.
 */
public final class SandboxdMain {

  /** Exit status for a bad flag, variable or key. */
  public static final int EXIT_CONFIG = 2;
  /** Exit status when the workspace or the port cannot be had. */
  public static final int EXIT_START = 1;

  private static final Logger log = LoggerFactory.getLogger(SandboxdMain.class);

  private SandboxdMain() {}

  public static void main(String[] args) {
    int status = run(args, System.getenv(), System.in, System.out, System.err);
    if (status != 0) {
      System.exit(status);
    }
  }

  /**
   * Starts sandboxd and returns 0 while it keeps running on its own threads, or the exit status
   * of a failed start.
   */
  static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
    return run(args, env, InputStream.nullInputStream(), out, err);
  }

  /**
   * As {@link #run(String[], Map, PrintStream, PrintStream)}, watching {@code in} for end of
   * file when {@code --exit-on-stdin-eof} is set.
   */
  static int run(String[] args, Map<String, String> env, InputStream in, PrintStream out,
      PrintStream err) {
    SandboxdOptions options;
    try {
      options = SandboxdOptions.parse(args, env);
      if (options.help()) {
        out.println(SandboxdOptions.usage());
        return 0;
      }
      options.validate();
    } catch (IllegalArgumentException | IllegalStateException e) {
      err.println("sandboxd: " + e.getMessage());
      err.println(SandboxdOptions.usage());
      return EXIT_CONFIG;
    }
    SandboxdServer server;
    try {
      server = SandboxdServer.start(options, java.time.Clock.systemUTC(), env);
    } catch (IllegalArgumentException | IllegalStateException e) {
      err.println("sandboxd: " + e.getMessage());
      return EXIT_CONFIG;
    } catch (IOException e) {
      err.println("sandboxd: " + e.getMessage());
      return EXIT_START;
    }
    if (options.noAuth()) {
      err.println("sandboxd: WARNING authentication is disabled (--no-auth)");
    }
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "sandboxd-shutdown"));
    if (options.exitOnStdinEof()) {
      Thread watcher = new Thread(() -> exitAtEof(in), "sandboxd-stdin");
      watcher.setDaemon(true);
      watcher.start();
    }
    out.println("sandboxd listening on port " + server.port());
    out.flush();
    return 0;
  }

  /**
   * Reads (and drops) {@code in} until end of file, then exits 0; the shutdown hook stops the
   * server (the JVM waits for it). Not {@code server.close()} here: stopping the HTTP server ends
   * the last non-daemon thread, and the JVM would exit in the middle of the close.
   */
  private static void exitAtEof(InputStream in) {
    byte[] scratch = new byte[512];
    try {
      while (in.read(scratch) >= 0) {
        // a launcher has nothing to say; it only keeps the pipe open
      }
    } catch (IOException e) {
      // a broken pipe is an end too
    }
    log.info("stdin closed: stopping");
    System.exit(0);
  }
}
