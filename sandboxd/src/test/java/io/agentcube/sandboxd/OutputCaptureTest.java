package io.agentcube.sandboxd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import org.junit.jupiter.api.Test;

class OutputCaptureTest {

  @Test
  void drain_underLimit_keepsAllWithoutMarker() {
    OutputCapture c = new OutputCapture(10);
    c.drain(new ByteArrayInputStream("hello\n".getBytes()));

    assertThat(c.text()).isEqualTo("hello\n");
    assertThat(c.discarded()).isZero();
  }

  @Test
  void drain_overLimit_keepsPrefixCountsRestAndMarks() {
    OutputCapture c = new OutputCapture(4);
    c.drain(new ByteArrayInputStream("abcdefghij".getBytes()));

    assertThat(c.discarded()).isEqualTo(6);
    assertThat(c.text()).isEqualTo("abcd\n[sandboxd: output truncated after 4 bytes; 6 more bytes discarded]\n");
  }

  @Test
  void seal_stopsKeeping() {
    OutputCapture c = new OutputCapture(100);
    c.append("ab".getBytes(), 2);
    assertThat(c.seal()).isEqualTo("ab");

    c.append("cd".getBytes(), 2);

    assertThat(c.text()).isEmpty();
  }
}
