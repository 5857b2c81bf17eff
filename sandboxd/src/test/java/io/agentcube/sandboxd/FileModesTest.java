package io.agentcube.sandboxd;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class FileModesTest {

  @Test
  void parseUploadMode_octalOrDefault() {
    assertThat(FileModes.parseUploadMode("0755")).isEqualTo(0755);
    assertThat(FileModes.parseUploadMode("600")).isEqualTo(0600);
    assertThat(FileModes.parseUploadMode(null)).isEqualTo(0644);
    assertThat(FileModes.parseUploadMode("rwx")).isEqualTo(0644);
    assertThat(FileModes.parseUploadMode("4755")).isEqualTo(0644); // above 0777, as PicoD
  }

  @Test
  void goString_matchesGoFileModeString() {
    assertThat(FileModes.goString(0100644)).isEqualTo("-rw-r--r--");
    assertThat(FileModes.goString(0040755)).isEqualTo("drwxr-xr-x");
    assertThat(FileModes.goString(0120777)).isEqualTo("Lrwxrwxrwx");
    assertThat(FileModes.goString(0104755)).isEqualTo("urwxr-xr-x");
    assertThat(FileModes.goString(0041777)).isEqualTo("dtrwxrwxrwx");
  }

  @Test
  void attachment_quotesAndEncodesNames() {
    assertThat(MediaTypes.attachment("a.txt")).isEqualTo("attachment; filename=\"a.txt\"");
    assertThat(MediaTypes.attachment("a\"b.txt")).isEqualTo("attachment; filename=\"a_b.txt\"");
    assertThat(MediaTypes.attachment("é.txt"))
        .isEqualTo("attachment; filename=\"_.txt\"; filename*=UTF-8''%C3%A9.txt");
  }
}
