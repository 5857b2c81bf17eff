package io.agentcube.proxy;

import java.nio.file.Files;
import java.nio.file.Path;

/** Runtime YAML for tests, running the project's echo agent as the sandbox. */
final class TestRuntimes {

  /** The echo agent of the default conf; tests run with the module directory as cwd. */
  static final Path ECHO_AGENT = Path.of("..", "conf", "runtimes", "echo_agent.py").toAbsolutePath().normalize();

  private TestRuntimes() {}

  static String echo(String name, int warmPoolSize, String sessionTimeout, String maxSessionDuration) {
    return agent(name, warmPoolSize, sessionTimeout, maxSessionDuration,
        java.util.List.of("python3", "-S", "-u", ECHO_AGENT.toString()));
  }

  /** The CodeInterpreter {@code python} of namespace {@code default}, served by the bundled sandboxd. */
  static String python(int warmPoolSize) {
    return """
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: CodeInterpreter
        metadata:
          name: python
        spec:
          languages: [python, bash]
          warmPoolSize: %d
        """.formatted(warmPoolSize);
  }

  /** An AgentRuntime of namespace {@code default} whose sandboxes run {@code command}. */
  static String agent(String name, int warmPoolSize, String sessionTimeout, String maxSessionDuration,
      java.util.List<String> command) {
    String argv = command.stream().map(a -> "'" + a.replace("'", "''") + "'")
        .collect(java.util.stream.Collectors.joining(", ", "[", "]"));
    return """
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: AgentRuntime
        metadata:
          name: %s
          namespace: default
        spec:
          targetPort:
            - name: http
              port: 8080
              pathPrefix: /
          podTemplate:
            spec:
              containers:
                - name: echo
                  command: %s
          sessionTimeout: %s
          maxSessionDuration: %s
          warmPoolSize: %d
        """.formatted(name, argv, sessionTimeout, maxSessionDuration, warmPoolSize);
  }

  /**
   * An AgentRuntime for the Kubernetes backend: one container of {@code image} (the test kubelet
   * picks the local program by image) listening on 8080, with the given environment.
   */
  static String pod(String name, String namespace, String image, String sessionTimeout,
      String maxSessionDuration, int warmPoolSize, java.util.Map<String, String> env) {
    StringBuilder envYaml = new StringBuilder();
    if (!env.isEmpty()) {
      envYaml.append("          env:\n");
      env.forEach((k, v) -> envYaml.append("            - name: ").append(k)
          .append("\n              value: \"").append(v).append("\"\n"));
    }
    return """
        apiVersion: runtime.agentcube.volcano.sh/v1alpha1
        kind: AgentRuntime
        metadata:
          name: %s
          namespace: %s
        spec:
          targetPort:
            - name: http
              port: 8080
              pathPrefix: /
          podTemplate:
            spec:
              containers:
                - name: agent
                  image: %s
        %s          ports:
                    - containerPort: 8080
          sessionTimeout: %s
          maxSessionDuration: %s
          warmPoolSize: %d
        """.formatted(name, namespace, image, envYaml, sessionTimeout, maxSessionDuration, warmPoolSize);
  }

  static Path write(Path dir, String file, String yaml) throws java.io.IOException {
    Files.createDirectories(dir);
    return Files.writeString(dir.resolve(file), yaml);
  }
}
