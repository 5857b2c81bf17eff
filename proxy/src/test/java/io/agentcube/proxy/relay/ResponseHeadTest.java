package io.agentcube.proxy.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.agentcube.proxy.relay.ResponseHead.Framing;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** One case per attack by a hostile sandbox on the relay's response head parser; then the valid shapes. */
class ResponseHeadTest {

  private static final int LINE = 8192;
  private static final int HEAD = 16384;

  private static ByteBuf buf(String s) {
    return Unpooled.wrappedBuffer(s.getBytes(StandardCharsets.ISO_8859_1));
  }

  /** "complete", or "rejected: reason", or "need more". */
  private static String outcome(String s) {
    ResponseHead h = new ResponseHead(LINE, HEAD);
    return describe(h, h.parse(buf(s)));
  }

  private static String describe(ResponseHead h, int r) {
    return switch (r) {
      case ResponseHead.COMPLETE -> "complete";
      case ResponseHead.NEED_MORE -> "need more";
      default -> "rejected: " + h.reason();
    };
  }

  /** The outcome when the bytes arrive one at a time. */
  private static String splitOutcome(String s) {
    byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
    ResponseHead h = new ResponseHead(LINE, HEAD);
    int r = ResponseHead.NEED_MORE;
    for (int n = 1; n <= b.length && r == ResponseHead.NEED_MORE; n++) {
      r = h.parse(Unpooled.wrappedBuffer(b, 0, n));
    }
    return describe(h, r);
  }

  private static void rejects(String head, String reasonPart) {
    assertThat(outcome(head)).startsWith("rejected: ").contains(reasonPart);
    assertThat(splitOutcome(head)).isEqualTo(outcome(head));
  }

  private static ResponseHead complete(String head) {
    ResponseHead h = new ResponseHead(LINE, HEAD);
    assertThat(describe(h, h.parse(buf(head)))).as(head).isEqualTo("complete");
    return h;
  }

  private static String res(String... headerLines) {
    StringBuilder b = new StringBuilder("HTTP/1.1 200 OK\r\n");
    for (String l : headerLines) {
      b.append(l).append("\r\n");
    }
    return b.append("\r\n").toString();
  }

  // ---- status line ----

  @Test
  void versionOtherThan10Or11_rejected() {
    for (String v : new String[] {"HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "http/1.1", "HTTP/1.10", "HTTP/11", "ICAP/1.0",
        "HTTPS/1.1", "HTTP/1"}) {
      rejects(v + " 200 OK\r\n\r\n", "not an HTTP/1.1 or HTTP/1.0 status line");
    }
  }

  @Test
  void statusCodeNotThreeDigits_rejected() {
    rejects("HTTP/1.1 20 OK\r\n\r\n", "three digits");
    rejects("HTTP/1.1 2000 OK\r\n\r\n", "three digits");
    rejects("HTTP/1.1 2x0 OK\r\n\r\n", "three digits");
    rejects("HTTP/1.1 +20 OK\r\n\r\n", "three digits");
    rejects("HTTP/1.1  200 OK\r\n\r\n", "three digits");
    rejects("HTTP/1.1\t200 OK\r\n\r\n", "status line");
  }

  @Test
  void statusCodeOutOfRange_rejected() {
    rejects("HTTP/1.1 099 X\r\n\r\n", "100-599");
    rejects("HTTP/1.1 600 X\r\n\r\n", "100-599");
    rejects("HTTP/1.1 000 X\r\n\r\n", "100-599");
  }

  @Test
  void controlInReasonPhrase_rejected() {
    rejects("HTTP/1.1 200 O\0K\r\n\r\n", "reason phrase");
    rejects("HTTP/1.1 200 O\u007fK\r\n\r\n", "reason phrase");
    rejects("HTTP/1.1 200 O\u001bK\r\n\r\n", "reason phrase");
  }

  @Test
  void missingOrEmptyReasonPhrase_accepted() {
    assertThat(complete("HTTP/1.1 200\r\n\r\n").status()).isEqualTo(200);
    assertThat(complete("HTTP/1.1 404 \r\n\r\n").status()).isEqualTo(404);
    ResponseHead h = complete("HTTP/1.0 503 Service \tUnavailable \u00e9\r\nX: y\r\n\r\n");
    assertThat(h.status()).isEqualTo(503);
    assertThat(h.versionMinor()).isZero();
    assertThat(h.fieldsStart()).isEqualTo("HTTP/1.0 503 Service \tUnavailable \u00e9\r\n".length());
  }

  @Test
  void leadingEmptyLine_rejected() {
    rejects("\r\nHTTP/1.1 200 OK\r\n\r\n", "empty line before the status line");
  }

  @Test
  void statusLineOverLimit_rejected() {
    ResponseHead h = new ResponseHead(32, HEAD);
    assertThat(h.parse(buf("HTTP/1.1 200 " + "r".repeat(19) + "\r\n\r\n"))).isEqualTo(ResponseHead.COMPLETE);
    h = new ResponseHead(32, HEAD);
    assertThat(h.parse(buf("HTTP/1.1 200 " + "r".repeat(20) + "\r\n\r\n"))).isEqualTo(ResponseHead.REJECTED);
    assertThat(h.reason()).contains("status line longer");
    // without a line end in sight: refused as soon as the limit is passed
    h = new ResponseHead(32, HEAD);
    assertThat(h.parse(buf("HTTP/1.1 200 " + "r".repeat(40)))).isEqualTo(ResponseHead.REJECTED);
  }

  // ---- line ends ----

  @Test
  void bareLfLineEnd_rejected() {
    rejects("HTTP/1.1 200 OK\n\r\n", "bare LF");
    rejects(res("X: 1").replace("X: 1\r\n", "X: 1\n"), "bare LF");
    rejects("HTTP/1.1 200 OK\r\nX: 1\r\n\n", "bare LF");
  }

  @Test
  void bareCr_rejected() {
    rejects("HTTP/1.1 200 OK\rX: 1\r\n\r\n", "bare CR");
    rejects("HTTP/1.1 200 OK\r\nX: 1\r2\r\n\r\n", "bare CR");
  }

  // ---- fields ----

  @Test
  void obsFold_rejected() {
    rejects(res("X-A: 1", " fold"), "obs-fold");
    rejects(res("X-A: 1", "\tfold"), "obs-fold");
  }

  @Test
  void whitespaceBeforeFirstField_rejected() {
    rejects(res(" X: 1"), "whitespace before the first header field");
  }

  @Test
  void whitespaceBeforeColon_rejected() {
    rejects(res("Content-Length : 5"), "whitespace between a header name and its colon");
  }

  @Test
  void headerNameNotAToken_rejected() {
    rejects(res("X(: 1"), "invalid character in a header name");
    rejects(res("X\0: 1"), "invalid character in a header name");
    rejects(res(": 1"), "empty header name");
    rejects(res("NoColon"), "without a colon");
  }

  @Test
  void nulOrControlInValue_rejected() {
    rejects(res("X: a\0b"), "NUL in a header value");
    rejects(res("X: a\u0001b"), "control character");
    rejects(res("X: a\u007fb"), "control character");
  }

  @Test
  void fieldSectionOverLimit_rejected() {
    // field section = "X: " + v + CRLF + CRLF
    String fits = "HTTP/1.1 200 OK\r\nX: " + "v".repeat(64 - 7) + "\r\n\r\n";
    ResponseHead h = new ResponseHead(LINE, 64);
    assertThat(h.parse(buf(fits))).isEqualTo(ResponseHead.COMPLETE);
    h = new ResponseHead(LINE, 64);
    assertThat(h.parse(buf(fits.replace("X: ", "X: v")))).isEqualTo(ResponseHead.REJECTED);
    assertThat(h.reason()).contains("header fields larger");
    h = new ResponseHead(LINE, 64);
    assertThat(h.parse(buf("HTTP/1.1 200 OK\r\nX: " + "v".repeat(100)))).isEqualTo(ResponseHead.REJECTED);
  }

  // ---- framing attacks (response splitting / desync) ----

  @Test
  void contentLengthWithTransferEncoding_rejected() {
    rejects(res("Content-Length: 5", "Transfer-Encoding: chunked"), "both Content-Length and Transfer-Encoding");
    rejects(res("Transfer-Encoding: chunked", "Content-Length: 5"), "both");
  }

  @Test
  void differingContentLengths_rejected() {
    rejects(res("Content-Length: 5", "Content-Length: 6"), "Content-Length values differ");
    rejects(res("Content-Length: 5, 6"), "Content-Length values differ");
  }

  @Test
  void identicalContentLengths_acceptedAsOne() {
    ResponseHead h = complete(res("Content-Length: 5", "content-length: 5"));
    assertThat(h.framing(false)).isEqualTo(Framing.LENGTH);
    assertThat(h.contentLength()).isEqualTo(5);
    assertThat(complete(res("Content-Length: 5 ,5,\t5")).contentLength()).isEqualTo(5);
    assertThat(complete("HTTP/1.0 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n").contentLength())
        .isEqualTo(5);
  }

  /** "Identical" means the same digits: 5 and 05 may be one number, but Netty refuses them, so do we. */
  @Test
  void sameNumberDifferentDigits_rejected() {
    rejects(res("Content-Length: 005", "Content-Length: 5"), "Content-Length values differ");
    rejects(res("Content-Length: 5, 05"), "Content-Length values differ");
  }

  /** HTTP/1.0's Content-Length is 1*DIGIT (RFC 1945 §10.4): no list to recover from. */
  @Test
  void contentLengthListInHttp10_rejected() {
    rejects("HTTP/1.0 200 OK\r\nContent-Length: 5, 5\r\n\r\n", "HTTP/1.0");
  }

  @Test
  void contentLengthWithSign_rejected() {
    rejects(res("Content-Length: +5"), "not a number");
    rejects(res("Content-Length: -1"), "not a number");
  }

  @Test
  void contentLengthEmptyOrNotDigits_rejected() {
    rejects(res("Content-Length:"), "not a number");
    rejects(res("Content-Length: 5,"), "not a number");
    rejects(res("Content-Length: 0x10"), "not a number");
    rejects(res("Content-Length: 5 5"), "not a number");
    rejects(res("Content-Length: 1e3"), "not a number");
  }

  @Test
  void contentLengthOverflow_rejected() {
    rejects(res("Content-Length: 9223372036854775808"), "overflows");
    rejects(res("Content-Length: 99999999999999999999"), "not a number");
    assertThat(complete(res("Content-Length: 9223372036854775807")).contentLength()).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void transferEncodingChunkedNotLast_rejected() {
    rejects(res("Transfer-Encoding: chunked, gzip"), "not the last");
    rejects(res("Transfer-Encoding: chunked", "Transfer-Encoding: gzip"), "not the last");
  }

  @Test
  void transferEncodingChunkedTwice_rejected() {
    rejects(res("Transfer-Encoding: chunked, chunked"), "twice");
    rejects(res("Transfer-Encoding: chunked", "Transfer-Encoding: chunked"), "twice");
  }

  @Test
  void transferEncodingMalformed_rejected() {
    rejects(res("Transfer-Encoding: \"chunked\""), "invalid transfer coding");
    rejects(res("Transfer-Encoding: chunked;q=1"), "chunked takes no parameters");
  }

  @Test
  void transferEncodingInHttp10_rejected() {
    rejects("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.0");
  }

  @Test
  void transferEncodingChunkedLast_chunked() {
    assertThat(complete(res("Transfer-Encoding: gzip, CHUNKED")).framing(false)).isEqualTo(Framing.CHUNKED);
    assertThat(complete(res("Transfer-Encoding: gzip", "Transfer-Encoding: ,chunked")).framing(false))
        .isEqualTo(Framing.CHUNKED);
  }

  @Test
  void transferEncodingWithoutChunked_untilClose() {
    assertThat(complete(res("Transfer-Encoding: gzip")).framing(false)).isEqualTo(Framing.UNTIL_CLOSE);
    assertThat(complete(res("Transfer-Encoding:")).framing(false)).isEqualTo(Framing.UNTIL_CLOSE);
  }

  @Test
  void noLengthNoCoding_untilClose() {
    ResponseHead h = complete(res("X: 1"));
    assertThat(h.framing(false)).isEqualTo(Framing.UNTIL_CLOSE);
    assertThat(h.contentLength()).isEqualTo(-1);
  }

  @Test
  void headRequest1xx204And304_noBody() {
    ResponseHead h = complete(res("Content-Length: 20"));
    assertThat(h.framing(true)).isEqualTo(Framing.NONE);
    assertThat(h.framing(false)).isEqualTo(Framing.LENGTH);
    assertThat(complete(res("Transfer-Encoding: chunked")).framing(true)).isEqualTo(Framing.NONE);
    for (String s : new String[] {"100 Continue", "101 Switching Protocols", "103 Early Hints", "204 No Content",
        "304 Not Modified"}) {
      ResponseHead r = complete("HTTP/1.1 " + s + "\r\nContent-Length: 7\r\n\r\n");
      assertThat(r.framing(false)).as(s).isEqualTo(Framing.NONE);
      assertThat(r.contentLength()).isEqualTo(7);
    }
    assertThat(complete("HTTP/1.1 205 Reset Content\r\nContent-Length: 0\r\n\r\n").framing(false))
        .isEqualTo(Framing.LENGTH);
  }

  // ---- hop-by-hop and Connection ----

  @Test
  void hopByHop_fixedNamesAndConnectionNominated() {
    String s = res("Connection: X-Secret ,  close, Keep-Alive, upgrade", "KEEP-ALIVE: timeout=5", "Proxy-Connection: x",
        "Proxy-Authenticate: Basic", "proxy-authorization: y", "TE: trailers", "Trailer: X-T", "Upgrade: websocket",
        "x-secret: 1", "X-Public: 2", "Content-Length: 0", "Content-Type: text/plain", "X-Secret-Not: 3");
    ByteBuf b = buf(s);
    ResponseHead h = new ResponseHead(LINE, HEAD);
    assertThat(h.parse(b)).isEqualTo(ResponseHead.COMPLETE);
    StringBuilder kept = new StringBuilder();
    for (int i = 0; i < h.headerCount(); i++) {
      if (!h.hopByHop(i)) {
        kept.append(b.toString(h.nameStart(i), h.nameEnd(i) - h.nameStart(i), StandardCharsets.US_ASCII)).append(' ');
      }
    }
    assertThat(kept.toString().trim()).isEqualTo("X-Public Content-Length Content-Type X-Secret-Not");
    assertThat(h.connectionClose()).isTrue();
    assertThat(h.connectionKeepAlive()).isTrue();
    assertThat(h.upgradeIndex()).isEqualTo(7);
    ResponseHead te = complete(res("Transfer-Encoding: chunked"));
    assertThat(te.hopByHop(0)).isTrue();
  }

  @Test
  void connectionTokens_caseInsensitiveLists() {
    ResponseHead h = complete(res("Connection: ,\tCLOSE ,"));
    assertThat(h.connectionClose()).isTrue();
    assertThat(h.connectionKeepAlive()).isFalse();
    assertThat(h.upgradeIndex()).isEqualTo(-1);
    h = complete(res("Connection: foo", "connection: keep-ALIVE"));
    assertThat(h.connectionClose()).isFalse();
    assertThat(h.connectionKeepAlive()).isTrue();
    assertThat(complete(res("Connection: closed")).connectionClose()).isFalse();
  }

  @Test
  void connectionNotTokens_rejected() {
    rejects(res("Connection: close keep-alive"), "not a list of tokens");
    rejects(res("Connection: \"close\""), "not a list of tokens");
  }

  /** Dropping Content-Length as hop-by-hop while framing the body by it would mis-frame downstream. */
  @Test
  void connectionNominatesContentLength_rejected() {
    rejects(res("Content-Length: 3", "Connection: Content-Length"), "nominates Content-Length");
  }

  // ---- shapes and contract ----

  @Test
  void plainResponse_parsedInPlace() {
    String head = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length:  \t12 \r\n\r\n";
    ByteBuf b = Unpooled.buffer().writeBytes(new byte[] {'z', 'z'});
    b.skipBytes(2);
    b.writeBytes((head + "{\"ok\":true}\n").getBytes(StandardCharsets.US_ASCII));
    ResponseHead h = new ResponseHead(LINE, HEAD);
    assertThat(h.parse(b)).isEqualTo(ResponseHead.COMPLETE);
    assertThat(b.readerIndex()).isEqualTo(2);
    assertThat(h.headLength()).isEqualTo(head.length());
    assertThat(h.status()).isEqualTo(201);
    assertThat(h.versionMinor()).isEqualTo(1);
    assertThat(h.headerCount()).isEqualTo(2);
    assertThat(text(b, h.nameStart(1), h.nameEnd(1))).isEqualTo("Content-Length");
    assertThat(text(b, h.valueStart(1), h.valueEnd(1))).isEqualTo("12");
    assertThat(h.framing(false)).isEqualTo(Framing.LENGTH);
    assertThat(h.contentLength()).isEqualTo(12);
    assertThat(h.reason()).isNull();
    assertThat(h.parse(b)).as("same answer again").isEqualTo(ResponseHead.COMPLETE);
  }

  @Test
  void interimThenFinal_parsedInTurnAfterReset() {
    ByteBuf b = buf("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    ResponseHead h = new ResponseHead(LINE, HEAD);
    assertThat(h.parse(b)).isEqualTo(ResponseHead.COMPLETE);
    assertThat(h.status()).isEqualTo(100);
    assertThat(h.framing(false)).isEqualTo(Framing.NONE);
    b.skipBytes(h.headLength());
    h.reset();
    assertThat(h.parse(b)).isEqualTo(ResponseHead.COMPLETE);
    assertThat(h.status()).isEqualTo(200);
    assertThat(h.headLength() + h.contentLength()).isEqualTo(b.readableBytes());
  }

  @Test
  void manyFields_arraysGrow() {
    StringBuilder s = new StringBuilder("HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 300; i++) {
      s.append("X-").append(i).append(": ").append(i).append("\r\n");
    }
    s.append("Connection: x-250\r\nContent-Length: 3\r\n\r\n");
    ByteBuf b = buf(s.toString());
    ResponseHead h = new ResponseHead(LINE, HEAD);
    assertThat(h.parse(b)).isEqualTo(ResponseHead.COMPLETE);
    assertThat(h.headerCount()).isEqualTo(302);
    assertThat(text(b, h.valueStart(200), h.valueEnd(200))).isEqualTo("200");
    assertThat(h.hopByHop(250)).isTrue();
    assertThat(h.hopByHop(249)).isFalse();
    assertThat(h.hopByHop(300)).isTrue();
    assertThat(h.contentLength()).isEqualTo(3);
  }

  @Test
  void headSplitAtEveryByteBoundary_sameResult() {
    String s = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: X-A, close\r\nX-A: a b\r\n"
        + "Upgrade: h2c\r\n\r\nbody-follows";
    byte[] all = s.getBytes(StandardCharsets.ISO_8859_1);
    ResponseHead whole = new ResponseHead(LINE, HEAD);
    assertThat(whole.parse(Unpooled.wrappedBuffer(all))).isEqualTo(ResponseHead.COMPLETE);
    int headLength = whole.headLength();
    for (int cut = 0; cut <= all.length; cut++) {
      ResponseHead h = new ResponseHead(LINE, HEAD);
      int first = h.parse(Unpooled.wrappedBuffer(all, 0, cut));
      assertThat(first).as("cut %d", cut).isEqualTo(cut >= headLength ? ResponseHead.COMPLETE : ResponseHead.NEED_MORE);
      assertThat(h.parse(Unpooled.wrappedBuffer(all))).as("cut %d", cut).isEqualTo(ResponseHead.COMPLETE);
      assertSame(whole, h);
    }
    ByteBuf growing = Unpooled.buffer();
    growing.writeBytes(new byte[] {'z', 'z'}).skipBytes(2);
    ResponseHead h = new ResponseHead(LINE, HEAD);
    int r = ResponseHead.NEED_MORE;
    for (int i = 0; i < all.length && r == ResponseHead.NEED_MORE; i++) {
      growing.writeByte(all[i]);
      r = h.parse(growing);
    }
    assertThat(r).isEqualTo(ResponseHead.COMPLETE);
    assertSame(whole, h);
  }

  @Test
  void rejectionSplitAtEveryByteBoundary_sameRejection() {
    String[] attacks = {
      res("Content-Length: 5", "Transfer-Encoding: chunked"),
      "HTTP/1.1 200 OK\r\nX: x\n\r\n",
      res("X-A: 1", " fold"),
      "HTTP/1.1 200 OK\rX: x\r\n\r\n",
      "\r\nHTTP/1.1 200 OK\r\n\r\n",
      res("Content-Length: 1", "Content-Length: 2"),
    };
    for (String a : attacks) {
      byte[] all = a.getBytes(StandardCharsets.ISO_8859_1);
      for (int cut = 0; cut <= all.length; cut++) {
        ResponseHead h = new ResponseHead(LINE, HEAD);
        int first = h.parse(Unpooled.wrappedBuffer(all, 0, cut));
        int second = first == ResponseHead.NEED_MORE ? h.parse(Unpooled.wrappedBuffer(all)) : first;
        assertThat(describe(h, second)).as("cut %d of %s", cut, a).isEqualTo(outcome(a));
      }
      assertThat(splitOutcome(a)).isEqualTo(outcome(a));
    }
  }

  /** Pins "no object per header": a warm parse of a 12-field response head allocates nothing. */
  @Test
  void parse_warmRealisticHead_allocatesNothing() {
    String s = "HTTP/1.1 200 OK\r\nServer: uvicorn\r\nDate: Mon, 07 Dec 2026 18:00:00 GMT\r\n"
        + "Content-Type: application/json\r\nContent-Length: 27\r\nConnection: keep-alive, X-Trace\r\n"
        + "Keep-Alive: timeout=5\r\nX-Trace: abc\r\nCache-Control: no-store\r\nVary: Accept-Encoding\r\n"
        + "X-Request-Id: 7d3c2b1a\r\nSet-Cookie: a=b; Path=/\r\nStrict-Transport-Security: max-age=1\r\n\r\n";
    ByteBuf b = Unpooled.directBuffer().writeBytes(s.getBytes(StandardCharsets.ISO_8859_1));
    ResponseHead h = new ResponseHead(LINE, HEAD);
    com.sun.management.ThreadMXBean mx =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    int rounds = 200_000;
    for (int i = 0; i < rounds; i++) {
      h.reset();
      h.parse(b);
    }
    long tid = Thread.currentThread().getId();
    long before = mx.getThreadAllocatedBytes(tid);
    for (int i = 0; i < rounds; i++) {
      h.reset();
      if (h.parse(b) != ResponseHead.COMPLETE || !h.hopByHop(6)) {
        throw new AssertionError(h.reason());
      }
    }
    long allocated = mx.getThreadAllocatedBytes(tid) - before;
    System.out.printf("ResponseHead: %d-byte head, 12 fields: %.3f bytes allocated/parse%n",
        s.length(), (double) allocated / rounds);
    assertThat(allocated).as("bytes allocated by %d parses", rounds).isLessThan(rounds / 10);
    b.release();
  }

  private static void assertSame(ResponseHead a, ResponseHead b) {
    assertThat(b.headLength()).isEqualTo(a.headLength());
    assertThat(b.status()).isEqualTo(a.status());
    assertThat(b.versionMinor()).isEqualTo(a.versionMinor());
    assertThat(b.fieldsStart()).isEqualTo(a.fieldsStart());
    assertThat(b.framing(false)).isEqualTo(a.framing(false));
    assertThat(b.contentLength()).isEqualTo(a.contentLength());
    assertThat(b.connectionClose()).isEqualTo(a.connectionClose());
    assertThat(b.connectionKeepAlive()).isEqualTo(a.connectionKeepAlive());
    assertThat(b.upgradeIndex()).isEqualTo(a.upgradeIndex());
    assertThat(b.headerCount()).isEqualTo(a.headerCount());
    for (int i = 0; i < a.headerCount(); i++) {
      assertThat(new int[] {b.nameStart(i), b.nameEnd(i), b.valueStart(i), b.valueEnd(i)})
          .containsExactly(a.nameStart(i), a.nameEnd(i), a.valueStart(i), a.valueEnd(i));
      assertThat(b.hopByHop(i)).isEqualTo(a.hopByHop(i));
    }
  }

  private static String text(ByteBuf b, int start, int end) {
    return b.toString(b.readerIndex() + start, end - start, StandardCharsets.ISO_8859_1);
  }
}
