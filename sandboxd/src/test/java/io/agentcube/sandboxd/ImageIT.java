package io.agentcube.sandboxd;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sandboxd/Dockerfile} against what {@code mvn package} built, without building the image
 * (no registry to pull its base from here; docs/kubernetes.md says so): every COPY source exists
 * in the build context, the image runs as a non-root user with the tools the daemon uses, and its
 * ENTRYPOINT's {@code java} command, run on this machine's Java 17 with the jar where COPY puts
 * it, serves a PicoD client: an authenticated {@code python3} execution in the workspace. Only
 * the init in front of it ({@code tini}, PID 1 in the pod) is left out.
 */
class ImageIT {

  private static final Path CONTEXT = Path.of("").toAbsolutePath();
  private static final Path DOCKERFILE = CONTEXT.resolve("Dockerfile");
  private static final Pattern INSTRUCTION = Pattern.compile("^([A-Z]+)\\s+(.*)$");

  @TempDir Path workspace;
  private Process process;

  @AfterEach
  void stop() throws InterruptedException {
    if (process != null) {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }

  @Test
  void dockerfile_copySourcesExistAfterPackage_baseIsJava17_userIsNotRoot() throws IOException {
    Map<String, String> copies = copies();

    assertThat(copies).containsEntry("target/agentcube-sandboxd.jar", "/app/agentcube-sandboxd.jar");
    assertThat(copies.keySet()).allSatisfy(source ->
        assertThat(CONTEXT.resolve(source)).as("COPY source in the build context").isRegularFile());
    // .dockerignore sends each of them (and nothing else).
    List<String> ignore = Files.readAllLines(CONTEXT.resolve(".dockerignore")).stream()
        .filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
    assertThat(ignore).first().isEqualTo("*");
    assertThat(ignore).containsAll(copies.keySet().stream().map(s -> "!" + s).toList());
    assertThat(only("FROM")).isEqualTo("eclipse-temurin:17-jre");
    assertThat(only("USER")).matches("[1-9][0-9]*:[1-9][0-9]*");
    // What the daemon runs and needs: commands in python3, the jail, an init that reaps.
    assertThat(String.join("\n", all("RUN"))).contains("python3", "bubblewrap", "util-linux",
        "tini");
  }

  @Test
  @Timeout(120)
  void entrypoint_asTheImageRunsIt_servesAnAuthenticatedPythonExecution() throws Exception {
    List<String> entrypoint = execForm(only("ENTRYPOINT"));
    assertThat(entrypoint.subList(0, 2)).containsExactly("/usr/bin/tini", "--");
    List<String> command = new ArrayList<>(entrypoint.subList(2, entrypoint.size()));
    assertThat(command.get(0)).isEqualTo("java");
    command.set(0, ProcessHandle.current().info().command().orElse("java"));
    // The jar where COPY put it in the image is, here, its COPY source.
    copies().forEach((source, target) -> command.replaceAll(
        arg -> arg.equals(target) ? CONTEXT.resolve(source).toString() : arg));
    // CMD as the image has it, with this machine's addresses: a free port on loopback, a temp
    // workspace.
    List<String> cmd = execForm(only("CMD"));
    assertThat(cmd).containsExactly("--workspace", "/workspace", "--port", "8080");
    command.addAll(List.of("--workspace", workspace.toString(), "--port", "0",
        "--host", "127.0.0.1"));
    KeyPair keys = TestTokens.newKeyPair();
    ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
    pb.environment().remove("AGENTCUBE_SESSION_ID");
    pb.environment().put("PICOD_AUTH_PUBLIC_KEY", TestTokens.pem(keys.getPublic()));
    process = pb.start();

    TestClient client = new TestClient(SandboxdJarIT.port(process))
        .token(TestTokens.token(keys.getPrivate(), "image-session"));
    assertThat(client.get("/health").status()).isEqualTo(200);
    Map<String, Object> run = client.execute(Map.of(
        "command", List.of("python3", "-c", "print(6*7)"), "timeout", "30s")).json();
    assertThat(run).containsEntry("exit_code", 0).containsEntry("stdout", "42\n");
  }

  /** COPY source -> destination, in order. */
  private static Map<String, String> copies() throws IOException {
    Map<String, String> copies = new LinkedHashMap<>();
    for (String copy : all("COPY")) {
      String[] parts = copy.trim().split("\\s+");
      assertThat(parts).as("COPY " + copy).hasSize(2);
      copies.put(parts[0], parts[1]);
    }
    return copies;
  }

  private static String only(String instruction) throws IOException {
    List<String> found = all(instruction);
    assertThat(found).as(instruction + " in " + DOCKERFILE).hasSize(1);
    return found.get(0).trim();
  }

  /** The arguments of every {@code instruction}, continuation lines joined. */
  private static List<String> all(String instruction) throws IOException {
    List<String> found = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : Files.readAllLines(DOCKERFILE)) {
      if (line.isBlank() || line.stripLeading().startsWith("#")) {
        continue;
      }
      current.append(line.strip());
      if (line.endsWith("\\")) {
        current.setLength(current.length() - 1);
        current.append(' ');
        continue;
      }
      Matcher m = INSTRUCTION.matcher(current);
      if (m.matches() && m.group(1).equals(instruction)) {
        found.add(m.group(2));
      }
      current.setLength(0);
    }
    return found;
  }

  /** An exec-form (JSON array) ENTRYPOINT or CMD. */
  private static List<String> execForm(String json) {
    assertThat(json).as("exec form, so signals reach the process").startsWith("[");
    List<String> args = new ArrayList<>();
    new JsonArray(json).forEach(a -> args.add((String) a));
    return args;
  }
}
