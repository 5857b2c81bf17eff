package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.vertx.core.json.JsonArray;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code proxy/Dockerfile} against what {@code mvn package} built, without building the image
 * (no registry to pull its base from here; docs/kubernetes.md says so): every COPY source exists
 * in the build context and is what .dockerignore sends, the base is a Java 17 runtime, the user
 * is the non-root uid k8s/base/deployment.yaml runs as, and the ENTRYPOINT's command, run on this
 * machine's Java 17 with the jar where COPY puts it, from a directory without {@code conf/} (the
 * image's WORKDIR has none), starts a proxy that answers its health routes, the ones the
 * Deployment's probes call. The Kubernetes backend it runs in a pod is ReplicasKubeIT's; here the
 * process backend with no runtimes stands in.
 */
class ImageIT {

  private static final Path CONTEXT = Path.of("").toAbsolutePath();
  private static final Path DOCKERFILE = CONTEXT.resolve("Dockerfile");
  private static final Pattern INSTRUCTION = Pattern.compile("^([A-Z]+)\\s+(.*)$");
  private static final Pattern LISTENING = Pattern.compile("listening on http://[^:]+:(\\d+)");

  @TempDir Path tmp;
  private Process process;

  @AfterEach
  void stop() throws InterruptedException {
    if (process != null) {
      process.destroy();
      if (!process.waitFor(40, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }

  @Test
  void dockerfile_copySourcesExistAfterPackage_baseIsJava17_userIsTheDeployments() throws IOException {
    Map<String, String> copies = copies();

    assertThat(copies).containsEntry("target/agentcube-proxy.jar", "/app/agentcube-proxy.jar");
    assertThat(copies.keySet()).allSatisfy(source ->
        assertThat(CONTEXT.resolve(source)).as("COPY source in the build context").isRegularFile());
    // .dockerignore sends each of them (and nothing else).
    List<String> ignore = Files.readAllLines(CONTEXT.resolve(".dockerignore")).stream()
        .filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
    assertThat(ignore).first().isEqualTo("*");
    assertThat(ignore).containsAll(copies.keySet().stream().map(s -> "!" + s).toList());
    assertThat(only("FROM")).isEqualTo("eclipse-temurin:17-jre");
    // runAsUser / runAsGroup of k8s/base/deployment.yaml (runAsNonRoot needs a numeric USER).
    assertThat(only("USER")).isEqualTo("65532:65532");
    String deployment = Files.readString(CONTEXT.resolveSibling("k8s/base/deployment.yaml"));
    assertThat(deployment).contains("runAsUser: 65532", "runAsGroup: 65532");
    assertThat(only("EXPOSE")).isEqualTo("8080");
  }

  @Test
  void entrypoint_asTheImageRunsIt_startsAProxyThatAnswersTheProbes() throws Exception {
    List<String> command = new ArrayList<>(execForm(only("ENTRYPOINT")));
    assertThat(command.get(0)).isEqualTo("java");
    command.set(0, ProcessHandle.current().info().command().orElse("java"));
    // The jar where COPY put it in the image is, here, its COPY source.
    copies().forEach((source, target) -> command.replaceAll(
        arg -> arg.equals(target) ? CONTEXT.resolve(source).toString() : arg));
    Files.createDirectories(tmp.resolve("runtimes"));
    command.addAll(List.of("--server.port=0", "--runtimes.dirs=" + tmp.resolve("runtimes"),
        "--process.stateDir=" + tmp.resolve("state")));
    Path log = tmp.resolve("proxy.log");
    process = new ProcessBuilder(command).directory(tmp.toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();

    int[] port = new int[1];
    await("proxy listening").atMost(Duration.ofSeconds(60)).until(() -> {
      if (!process.isAlive()) {
        throw new IllegalStateException("proxy exited: " + Files.readString(log));
      }
      Matcher m = LISTENING.matcher(Files.readString(log));
      if (m.find()) {
        port[0] = Integer.parseInt(m.group(1));
        return true;
      }
      return false;
    });
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    for (String probe : List.of("/health/live", "/health/ready")) {
      HttpResponse<String> response = http.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + port[0] + probe)).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).as(probe + " " + response.body()).isEqualTo(200);
    }
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
