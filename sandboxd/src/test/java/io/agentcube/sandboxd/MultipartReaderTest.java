package io.agentcube.sandboxd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MultipartReaderTest {

  /** Hands out at most {@code step} bytes per read, to split delimiters across reads. */
  static InputStream trickle(byte[] body, int step) {
    return new FilterInputStream(new ByteArrayInputStream(body)) {
      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        return super.read(b, off, Math.min(len, step));
      }
    };
  }

  @Test
  void next_partsWithPreambleAndSplitReads_readExactly() throws Exception {
    byte[] content = new byte[150_000];
    new Random(7).nextBytes(content);
    byte[] body = new Multipart("XyZ").field("path", "p.txt").file("file", "f.bin", content).end();
    byte[] preamble = "preamble, ignored\r\n".getBytes();
    byte[] withPreamble = new byte[preamble.length + body.length];
    System.arraycopy(preamble, 0, withPreamble, 0, preamble.length);
    System.arraycopy(body, 0, withPreamble, preamble.length, body.length);

    for (int step : new int[] {1, 3, 7, 4096, Integer.MAX_VALUE}) {
      MultipartReader r = new MultipartReader(trickle(step == 1 ? body : withPreamble, step), "XyZ");
      MultipartReader.Part p1 = r.next();
      assertThat(p1.name()).isEqualTo("path");
      assertThat(r.readText(100)).isEqualTo("p.txt");
      MultipartReader.Part p2 = r.next();
      assertThat(p2.name()).isEqualTo("file");
      assertThat(p2.filename()).isEqualTo("f.bin");
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      r.transferBody(out, Long.MAX_VALUE);
      assertThat(out.toByteArray()).as("step %d", step).isEqualTo(content);
      assertThat(r.next()).isNull();
    }
  }

  @Test
  void next_unreadPartIsSkipped() throws Exception {
    byte[] body = new Multipart("b").field("ignored", "zzz").field("path", "x").end();

    MultipartReader r = new MultipartReader(new ByteArrayInputStream(body), "b");
    r.next();
    assertThat(r.next().name()).isEqualTo("path");
    assertThat(r.readText(10)).isEqualTo("x");
  }

  @Test
  void next_truncatedBody_is400() throws Exception {
    byte[] body = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nabc"
        .getBytes(StandardCharsets.UTF_8);
    MultipartReader r = new MultipartReader(new ByteArrayInputStream(body), "b");
    r.next();

    assertThatThrownBy(() -> r.transferBody(OutputStream0.INSTANCE, Long.MAX_VALUE))
        .isInstanceOf(SandboxdException.class).hasMessageContaining("closing boundary");
  }

  @Test
  void readText_overLimit_is400() throws Exception {
    byte[] body = new Multipart("b").field("path", "x".repeat(100)).end();
    MultipartReader r = new MultipartReader(new ByteArrayInputStream(body), "b");
    r.next();

    assertThatThrownBy(() -> r.readText(10)).isInstanceOf(SandboxdException.class);
  }

  @Test
  void boundary_parsedQuotedOrPlain_elseRejected() {
    assertThat(MultipartReader.boundary("multipart/form-data; boundary=abc")).isEqualTo("abc");
    assertThat(MultipartReader.boundary("multipart/form-data; charset=x; BOUNDARY=\"a b\""))
        .isEqualTo("a b");
    assertThatThrownBy(() -> MultipartReader.boundary("multipart/form-data"))
        .isInstanceOf(SandboxdException.class);
  }

  @Test
  void param_quotedWithSemicolonAndEscapes() {
    String v = "form-data; name=\"file\"; filename=\"a;b \\\"c\\\".txt\"";

    assertThat(MultipartReader.param(v, "name")).isEqualTo("file");
    assertThat(MultipartReader.param(v, "filename")).isEqualTo("a;b \"c\".txt");
    assertThat(MultipartReader.param("form-data; name=plain", "name")).isEqualTo("plain");
  }

  /** A sink that drops everything. */
  static final class OutputStream0 extends java.io.OutputStream {
    static final OutputStream0 INSTANCE = new OutputStream0();

    @Override
    public void write(int b) {}
  }
}
