package io.agentcube.proxy.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Issue 12 item 7: the configuration reference is checked against the code. Every key of
 * {@link ProxyConfig#KEYS} has exactly one row in {@code docs/configuration.md} whose default,
 * read as YAML and converted as the key converts any value, is the key's default; no row names a
 * key the proxy does not have; units are stated (a duration is written with its unit, a size says
 * {@code bytes}); and every key of {@code conf/agentcube.yaml} carries a comment. (That the shipped
 * file lists every key with its default is {@code ProxyConfigTest}'s.)
 */
class ConfigurationReferenceTest {

  private static final Path DOC = Path.of("..", "docs", "configuration.md");
  private static final Path SHIPPED = Path.of("..", "conf", "agentcube.yaml");
  /** A table row whose first cell is one `key` and second one `default`. */
  private static final Pattern ROW = Pattern.compile("^\\|\\s*`([A-Za-z0-9.]+)`\\s*\\|\\s*`(.*?)`\\s*\\|(.*)\\|\\s*$");
  /** Integer keys that are sizes in bytes: their meaning must say so. */
  private static final Pattern BYTE_SIZED = Pattern.compile(".*(HeaderSize|LineLength|BodySize)$");
  private static final YAMLMapper YAML = YAMLMapper.builder().build();

  record Row(String key, String dflt, String meaning, int line) {}

  @Test
  void doc_everyKeyOnce_withTheCodesDefault() throws IOException {
    Map<String, Row> rows = rows();

    List<String> missing = ProxyConfig.KEYS.stream().map(ConfigKey::path)
        .filter(k -> !rows.containsKey(k)).toList();
    List<String> unknown = rows.keySet().stream()
        .filter(k -> ProxyConfig.KEYS.stream().noneMatch(c -> c.path().equals(k))).toList();
    assertThat(missing).as("keys of ProxyConfig without a row in docs/configuration.md").isEmpty();
    assertThat(unknown).as("rows of docs/configuration.md naming no key of ProxyConfig").isEmpty();

    List<String> wrong = new ArrayList<>();
    for (ConfigKey k : ProxyConfig.KEYS) {
      Row row = rows.get(k.path());
      Object documented;
      try {
        Object raw = YAML.readValue(row.dflt(), Object.class); // null for an empty cell
        documented = k.convert(raw == null ? "" : raw, "docs");
      } catch (RuntimeException e) {
        wrong.add(k.path() + " (line " + row.line() + "): `" + row.dflt() + "` is no value of it: " + e.getMessage());
        continue;
      }
      if (!documented.equals(k.defaultValue())) {
        wrong.add(k.path() + " (line " + row.line() + "): documented `" + row.dflt() + "`, code says "
            + k.defaultValue());
      }
    }
    assertThat(wrong).as("defaults in docs/configuration.md that differ from ProxyConfig").isEmpty();
  }

  @Test
  void doc_unitsStated() throws IOException {
    Map<String, Row> rows = rows();
    List<String> unitless = new ArrayList<>();
    for (ConfigKey k : ProxyConfig.KEYS) {
      Row row = rows.get(k.path());
      if (row == null) {
        continue; // reported by doc_everyKeyOnce_withTheCodesDefault
      }
      if (k.type() == ConfigKey.Type.DURATION && !row.dflt().matches("[0-9.]+(ns|us|µs|ms|s|m|h).*")) {
        unitless.add(k.path() + ": duration `" + row.dflt() + "` without a unit");
      }
      if (k.type() == ConfigKey.Type.INT && BYTE_SIZED.matcher(k.path()).matches()
          && !row.meaning().contains("bytes")) {
        unitless.add(k.path() + ": a size whose meaning does not say bytes");
      }
    }
    assertThat(unitless).isEmpty();
  }

  /** The design's rule for the shipped file: every key has a default and a comment. */
  @Test
  void shippedFile_everyKeyCommented() throws IOException {
    List<String> lines = Files.readAllLines(SHIPPED);
    JsonNode tree = YAML.readTree(String.join("\n", lines));
    assertThat(tree.isObject()).isTrue();
    Pattern leaf = Pattern.compile("^(\\s*)([A-Za-z0-9]+):\\s*([^\\s#].*)?$");
    List<String> bare = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      Matcher m = leaf.matcher(lines.get(i));
      if (!m.matches() || m.group(3) == null) {
        continue; // a section, a comment, a continuation line
      }
      boolean commentHere = m.group(3).contains("#");
      boolean commentAbove = i > 0 && lines.get(i - 1).trim().startsWith("#");
      if (!commentHere && !commentAbove) {
        bare.add("line " + (i + 1) + ": " + lines.get(i).trim());
      }
    }
    assertThat(bare).as("keys of conf/agentcube.yaml without a comment").isEmpty();
  }

  /** Key → its row, from every `| key | default | meaning |` table; a key listed twice fails. */
  private static Map<String, Row> rows() throws IOException {
    List<String> lines = Files.readAllLines(DOC);
    Map<String, Row> rows = new LinkedHashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      Matcher m = ROW.matcher(lines.get(i));
      if (m.matches()) {
        Row previous = rows.put(m.group(1), new Row(m.group(1), m.group(2), m.group(3), i + 1));
        assertThat(previous).as("%s is listed twice (lines %s and %d)", m.group(1),
            previous == null ? "" : previous.line(), i + 1).isNull();
      }
    }
    assertThat(rows).as("rows found in %s", DOC).isNotEmpty();
    return rows;
  }
}
