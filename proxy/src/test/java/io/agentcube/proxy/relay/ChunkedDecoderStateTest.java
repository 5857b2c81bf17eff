package io.agentcube.proxy.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** One case per attack on the chunked-body framing reader, named after it; then the valid shapes. */
class ChunkedDecoderStateTest {

  private static final int LINE = 64;
  private static final int TRAILERS = 128;

  /** "done <data bytes> <bytes taken>", "need more", or "400 reason". */
  private static String outcome(String body) {
    ChunkedDecoderState c = new ChunkedDecoderState(LINE, TRAILERS);
    int taken = c.consume(Unpooled.wrappedBuffer(body.getBytes(StandardCharsets.ISO_8859_1)));
    return describe(c, taken);
  }

  private static String describe(ChunkedDecoderState c, int taken) {
    if (c.isRejected()) {
      return c.status() + " " + c.reason();
    }
    return c.isDone() ? "done " + c.dataBytes() + " " + taken : "need more";
  }

  /** The outcome when the bytes arrive one at a time, each taken byte dropped from the buffer. */
  private static String splitOutcome(String body) {
    byte[] b = body.getBytes(StandardCharsets.ISO_8859_1);
    ChunkedDecoderState c = new ChunkedDecoderState(LINE, TRAILERS);
    int taken = 0;
    for (int i = 0; i < b.length && !c.isDone() && !c.isRejected(); i++) {
      taken += c.consume(b, i, 1);
    }
    return describe(c, taken);
  }

  private static void rejects(String body, String reasonPart) {
    assertThat(outcome(body)).startsWith("400 ").contains(reasonPart);
    assertThat(splitOutcome(body)).isEqualTo(outcome(body));
  }

  @Test
  void nonHexChunkSize_rejected400() {
    rejects("g\r\nabc\r\n0\r\n\r\n", "start with a hex digit");
    rejects("1g\r\na\r\n0\r\n\r\n", "invalid character in a chunk size");
  }

  @Test
  void emptyChunkSize_rejected400() {
    rejects("\r\nabc\r\n0\r\n\r\n", "start with a hex digit");
  }

  @Test
  void signedOrPrefixedChunkSize_rejected400() {
    rejects("+3\r\nabc\r\n0\r\n\r\n", "hex digit");
    rejects("-3\r\nabc\r\n0\r\n\r\n", "hex digit");
    rejects("0x3\r\nabc\r\n0\r\n\r\n", "invalid character");
  }

  @Test
  void chunkSizeOverflow_rejected400() {
    rejects("10000000000000000\r\n", "overflows");
    assertThat(outcome("7fffffffffffffff\r\n")).isEqualTo("need more");
  }

  @Test
  void chunkSizeLineOverLimit_rejected400() {
    rejects("0".repeat(LINE + 1) + "\r\n\r\n", "longer than its limit");
    rejects("1;" + "e".repeat(LINE) + "\r\na\r\n0\r\n\r\n", "longer than its limit");
  }

  @Test
  void bareLfAfterChunkSize_rejected400() {
    rejects("3\nabc\r\n0\r\n\r\n", "bare LF");
  }

  @Test
  void bareCrAfterChunkSize_rejected400() {
    rejects("3\rabc\r\n0\r\n\r\n", "bare CR");
  }

  @Test
  void chunkDataLongerThanSize_rejected400() {
    rejects("3\r\nabcd\r\n0\r\n\r\n", "longer than its size");
  }

  @Test
  void bareLfAfterChunkData_rejected400() {
    rejects("3\r\nabc\n0\r\n\r\n", "no CRLF after it");
    rejects("3\r\nabc\rx0\r\n\r\n", "bare CR after chunk data");
  }

  @Test
  void controlCharacterInChunkExtension_rejected400() {
    rejects("3;a=\0\r\nabc\r\n0\r\n\r\n", "control character in a chunk extension");
    rejects("3;a\nb\r\nabc\r\n0\r\n\r\n", "control character in a chunk extension");
  }

  @Test
  void whitespaceAfterSizeWithoutExtension_rejected400() {
    rejects("3 \r\nabc\r\n0\r\n\r\n", "without an extension");
    rejects("3 4\r\nabc\r\n0\r\n\r\n", "without an extension");
  }

  @Test
  void trailerObsFold_rejected400() {
    rejects("0\r\nX-T: 1\r\n folded\r\n\r\n", "obs-fold");
  }

  @Test
  void trailerWhitespaceBeforeColon_rejected400() {
    rejects("0\r\nX-T : 1\r\n\r\n", "between a trailer name and its colon");
  }

  @Test
  void trailerWithoutColonOrName_rejected400() {
    rejects("0\r\nX-T\r\n\r\n", "without a colon");
    rejects("0\r\n: v\r\n\r\n", "empty trailer field name");
  }

  @Test
  void trailerControlCharacters_rejected400() {
    rejects("0\r\nX-T: a\0b\r\n\r\n", "control character in a trailer value");
    rejects("0\r\nX\u0001T: a\r\n\r\n", "invalid character in a trailer name");
  }

  @Test
  void trailerBareLineEnds_rejected400() {
    rejects("0\r\nX-T: 1\n\r\n", "bare LF");
    rejects("0\r\nX-T: 1\r\n\n", "bare LF");
    rejects("0\r\n\rx", "bare CR");
  }

  @Test
  void trailerSectionOverLimit_rejected400() {
    rejects("0\r\nX-T: " + "v".repeat(TRAILERS) + "\r\n\r\n", "trailer section larger");
  }

  @Test
  void validBodies_endWhereTheyEnd() {
    assertThat(outcome("0\r\n\r\n")).isEqualTo("done 0 5");
    assertThat(outcome("3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\nNEXT")).isEqualTo("done 13 28");
    assertThat(outcome("3;name=\"v a\" ; flag\r\nabc\r\n0;last\r\n\r\n")).isEqualTo("done 3 36");
    assertThat(outcome("3 ;x\r\nabc\r\n0\r\nX-T: 1\r\nX-U:\r\n\r\n")).isEqualTo("done 3 30");
    assertThat(outcome("00000003\r\nabc\r\n0\r\n\r\n")).isEqualTo("done 3 20");
    assertThat(outcome("3\r\nab")).isEqualTo("need more");
  }

  @Test
  void bodySplitAtEveryByteBoundary_sameResult() {
    String body = "3;e=1\r\nabc\r\n1a\r\n" + "z".repeat(26) + "\r\n0\r\nX-T: t\r\n\r\n";
    String whole = outcome(body + "GET");
    byte[] b = body.getBytes(StandardCharsets.ISO_8859_1);
    for (int cut = 0; cut <= b.length; cut++) {
      ChunkedDecoderState c = new ChunkedDecoderState(LINE, TRAILERS);
      int taken = c.consume(b, 0, cut);
      assertThat(taken).isEqualTo(cut);
      taken += c.consume(b, cut, b.length - cut);
      assertThat(describe(c, taken)).as("cut %d", cut).isEqualTo(whole);
    }
    assertThat(splitOutcome(body)).isEqualTo(whole);
  }

  @Test
  void reset_startsANewBody() {
    ChunkedDecoderState c = new ChunkedDecoderState(LINE, TRAILERS);
    c.consume(Unpooled.wrappedBuffer("x".getBytes(StandardCharsets.US_ASCII)));
    assertThat(c.isRejected()).isTrue();
    c.reset();
    c.consume(Unpooled.wrappedBuffer("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
    assertThat(c.isDone()).isTrue();
  }
}
