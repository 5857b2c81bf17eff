package io.agentcube.sandboxd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkspacePathsTest {

  @TempDir Path base;
  Path ws;
  Path outside;
  WorkspacePaths paths;

  @BeforeEach
  void setUp() throws Exception {
    ws = Files.createDirectories(base.resolve("ws"));
    outside = Files.createDirectories(base.resolve("outside"));
    paths = new WorkspacePaths(ws);
  }

  static void assertRefused(WorkspacePaths p, String path) {
    assertThatThrownBy(() -> p.resolve(path))
        .as(path)
        .isInstanceOfSatisfying(SandboxdException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.BAD_REQUEST));
  }

  @Test
  void resolve_relative_insideWorkspace() throws Exception {
    assertThat(paths.resolve("a/b.txt")).isEqualTo(ws.toRealPath().resolve("a/b.txt"));
    assertThat(paths.resolve("./a//b.txt")).isEqualTo(ws.toRealPath().resolve("a/b.txt"));
    assertThat(paths.resolve(".")).isEqualTo(ws.toRealPath());
  }

  @Test
  void resolve_dotDotAnywhere_refused() {
    assertRefused(paths, "..");
    assertRefused(paths, "../x");
    assertRefused(paths, "a/../../x");
    assertRefused(paths, "a/../b"); // stays inside, refused all the same
  }

  @Test
  void resolve_absolute_onlyInsideAccepted() throws Exception {
    assertThat(paths.resolve(ws.toString() + "/f.txt")).isEqualTo(ws.toRealPath().resolve("f.txt"));
    assertRefused(paths, "/etc/passwd");
    assertRefused(paths, outside.toString());
    assertRefused(paths, ws.toString() + "-sibling/x"); // prefix trick
  }

  @Test
  void resolve_emptyOrNul_refused() {
    assertRefused(paths, "");
    assertRefused(paths, null);
    assertRefused(paths, "a\0b");
  }

  @Test
  void resolve_symlinkOutside_refusedAsFileOrParent() throws Exception {
    Files.writeString(outside.resolve("s.txt"), "s");
    Files.createSymbolicLink(ws.resolve("f"), outside.resolve("s.txt"));
    Files.createSymbolicLink(ws.resolve("d"), outside);
    Files.createDirectories(ws.resolve("sub"));
    Files.createSymbolicLink(ws.resolve("sub/up"), base);
    Files.createSymbolicLink(ws.resolve("chain"), ws.resolve("d")); // inside -> outside

    assertRefused(paths, "f");
    assertRefused(paths, "d");
    assertRefused(paths, "d/s.txt");
    assertRefused(paths, "d/new/file.txt");
    assertRefused(paths, "sub/up/outside/s.txt");
    assertRefused(paths, "chain/s.txt");
  }

  @Test
  void resolve_danglingSymlink_refused() throws Exception {
    Files.createSymbolicLink(ws.resolve("dangling"), outside.resolve("missing"));

    assertRefused(paths, "dangling");
    assertRefused(paths, "dangling/x");
  }

  @Test
  void resolve_symlinkInside_followed() throws Exception {
    Files.createDirectories(ws.resolve("real"));
    Files.createSymbolicLink(ws.resolve("alias"), ws.resolve("real"));

    assertThat(paths.resolve("alias/x.txt")).isEqualTo(ws.toRealPath().resolve("real/x.txt"));
  }

  @Test
  void workspace_reachedThroughSymlink_acceptsItsAbsoluteName() throws Exception {
    Path link = Files.createSymbolicLink(base.resolve("wslink"), ws);
    WorkspacePaths viaLink = new WorkspacePaths(link);

    assertThat(viaLink.root()).isEqualTo(ws.toRealPath());
    assertThat(viaLink.resolve(link + "/a.txt")).isEqualTo(ws.toRealPath().resolve("a.txt"));
    assertThat(viaLink.relativize(viaLink.resolve("x/y"))).isEqualTo("x/y");
  }

  @Test
  void resolve_relativeLinks_followedInsideRefusedOutside() throws Exception {
    Files.createDirectories(ws.resolve("a/b"));
    Files.createDirectories(base.resolve("sibling"));
    Files.createSymbolicLink(ws.resolve("a/up"), Path.of(".."));            // -> the root
    Files.createSymbolicLink(ws.resolve("a/b/deep"), Path.of("../../a"));    // -> a
    Files.createSymbolicLink(ws.resolve("sib"), Path.of("../sibling"));     // -> outside
    Files.createSymbolicLink(ws.resolve("a/b/far"), Path.of("../../../ws/a")); // leaves, comes back

    assertThat(paths.resolve("a/up/a/b")).isEqualTo(ws.toRealPath().resolve("a/b"));
    assertThat(paths.resolve("a/b/deep/b/new.txt")).isEqualTo(ws.toRealPath().resolve("a/b/new.txt"));
    assertRefused(paths, "sib");
    assertRefused(paths, "sib/x");
    assertRefused(paths, "a/b/far/b");
  }

  @Test
  void resolve_linkLoop_refused() throws Exception {
    Files.createSymbolicLink(ws.resolve("loop1"), Path.of("loop2"));
    Files.createSymbolicLink(ws.resolve("loop2"), Path.of("loop1"));

    assertRefused(paths, "loop1");
    assertRefused(paths, "loop1/x");
  }

  @Test
  void resolve_jailRoot_acceptedAsTheWorkspaceInPathsAndLinks() throws Exception {
    WorkspacePaths jailed = new WorkspacePaths(ws, "/workspace");
    Files.createDirectories(ws.resolve("real"));
    Files.createSymbolicLink(ws.resolve("abs"), Path.of("/workspace/real"));
    Files.createSymbolicLink(ws.resolve("escape"), Path.of("/workspace/../etc"));

    assertThat(jailed.resolve("/workspace/x.txt")).isEqualTo(ws.toRealPath().resolve("x.txt"));
    assertThat(jailed.resolve("abs/y")).isEqualTo(ws.toRealPath().resolve("real/y"));
    assertRefused(jailed, "/workspaces/x");
    assertRefused(jailed, "escape/passwd");
    assertRefused(paths, "/workspace/x.txt"); // only a jailed workspace has that name
  }

  @Test
  void removeAll_neverFollowsLinks() throws Exception {
    Files.writeString(outside.resolve("keep.txt"), "keep");
    Files.createDirectories(ws.resolve("d/e"));
    Files.writeString(ws.resolve("d/e/f.txt"), "f");
    Files.createSymbolicLink(ws.resolve("d/out"), outside);
    Files.createSymbolicLink(ws.resolve("file-out"), outside.resolve("keep.txt"));

    paths.removeAll();

    assertThat(ws).doesNotExist();
    assertThat(outside.resolve("keep.txt")).hasContent("keep");
  }
}
