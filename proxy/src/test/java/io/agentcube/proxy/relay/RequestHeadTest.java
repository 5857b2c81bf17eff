package io.agentcube.proxy.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.agentcube.proxy.relay.RequestHead.Field;
import io.agentcube.proxy.relay.RequestHead.Framing;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** One case per attack on the relay's head parser, named after it; then the valid shapes. */
class RequestHeadTest {

  private static final int LINE = 8192;
  private static final int HEAD = 16384;

  private static ByteBuf buf(String s) {
    return Unpooled.wrappedBuffer(s.getBytes(StandardCharsets.ISO_8859_1));
  }

  /** "complete", or "status reason" of a rejection, or "need more". */
  private static String outcome(String s) {
    RequestHead h = new RequestHead(LINE, HEAD);
    return describe(h, h.parse(buf(s)));
  }

  private static String describe(RequestHead h, int r) {
    return switch (r) {
      case RequestHead.COMPLETE -> "complete";
      case RequestHead.NEED_MORE -> "need more";
      default -> h.status() + " " + h.reason();
    };
  }

  private static void rejects(String head, int status, String reasonPart) {
    assertThat(outcome(head)).startsWith(status + " ").contains(reasonPart);
    assertThat(splitOutcome(head)).startsWith(status + " ").contains(reasonPart);
  }

  /** The outcome when the bytes arrive one at a time. */
  private static String splitOutcome(String s) {
    byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
    RequestHead h = new RequestHead(LINE, HEAD);
    int r = RequestHead.NEED_MORE;
    for (int n = 1; n <= b.length && r == RequestHead.NEED_MORE; n++) {
      r = h.parse(Unpooled.wrappedBuffer(b, 0, n));
    }
    return describe(h, r);
  }

  private static String req(String... headerLines) {
    StringBuilder b = new StringBuilder("POST /a HTTP/1.1\r\nHost: x\r\n");
    for (String l : headerLines) {
      b.append(l).append("\r\n");
    }
    return b.append("\r\n").toString();
  }

  // ---- framing attacks (request smuggling) ----

  @Test
  void contentLengthWithTransferEncoding_rejected400() {
    rejects(req("Content-Length: 5", "Transfer-Encoding: chunked"), 400, "both Content-Length and Transfer-Encoding");
    rejects(req("Transfer-Encoding: chunked", "Content-Length: 5"), 400, "both");
  }

  @Test
  void conflictingContentLengths_rejected400() {
    rejects(req("Content-Length: 5", "Content-Length: 6"), 400, "more than one Content-Length");
  }

  /** Decision: identical duplicates are refused too (Netty's default; no rewriting needed). */
  @Test
  void identicalDuplicateContentLengths_rejected400() {
    rejects(req("Content-Length: 5", "content-length: 5"), 400, "more than one Content-Length");
  }

  @Test
  void contentLengthList_rejected400() {
    rejects(req("Content-Length: 5, 5"), 400, "not a number");
  }

  @Test
  void contentLengthWithSign_rejected400() {
    rejects(req("Content-Length: +5"), 400, "not a number");
    rejects(req("Content-Length: -1"), 400, "not a number");
  }

  @Test
  void contentLengthNotDigits_rejected400() {
    rejects(req("Content-Length: 0x10"), 400, "not a number");
    rejects(req("Content-Length: 5 5"), 400, "not a number");
    rejects(req("Content-Length: 1e3"), 400, "not a number");
    rejects(req("Content-Length:"), 400, "not a number");
  }

  @Test
  void contentLengthOverflow_rejected400() {
    rejects(req("Content-Length: 9223372036854775808"), 400, "overflows");
    rejects(req("Content-Length: 99999999999999999999"), 400, "not a number");
  }

  @Test
  void contentLengthLeadingZerosAndOws_accepted() {
    RequestHead h = new RequestHead(LINE, HEAD);
    assertThat(h.parse(buf(req("Content-Length: \t0007 ")))).isEqualTo(RequestHead.COMPLETE);
    assertThat(h.contentLength()).isEqualTo(7);
    RequestHead max = new RequestHead(LINE, HEAD);
    assertThat(max.parse(buf(req("Content-Length: 9223372036854775807")))).isEqualTo(RequestHead.COMPLETE);
    assertThat(max.contentLength()).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void transferEncodingChunkedNotFinal_rejected400() {
    rejects(req("Transfer-Encoding: chunked, gzip"), 400, "must end with chunked");
    rejects(req("Transfer-Encoding: chunked", "Transfer-Encoding: gzip"), 400, "must end with chunked");
    rejects(req("Transfer-Encoding: identity"), 400, "must end with chunked");
    rejects(req("Transfer-Encoding:"), 400, "must end with chunked");
  }

  @Test
  void transferEncodingChunkedTwice_rejected400() {
    rejects(req("Transfer-Encoding: chunked, chunked"), 400, "once");
    rejects(req("Transfer-Encoding: chunked", "Transfer-Encoding: chunked"), 400, "once");
  }

  @Test
  void transferEncodingUnknownCoding_rejected501() {
    rejects(req("Transfer-Encoding: gzip, chunked"), 501, "not implemented");
    rejects(req("Transfer-Encoding: x;q=1", "Transfer-Encoding: chunked"), 501, "not implemented");
  }

  @Test
  void transferEncodingMalformed_rejected400() {
    rejects(req("Transfer-Encoding: chunked;x=1"), 400, "no parameters");
    rejects(req("Transfer-Encoding: chun ked"), 400, "invalid transfer coding");
    rejects(req("Transfer-Encoding: \"chunked\""), 400, "invalid transfer coding");
  }

  @Test
  void transferEncodingInHttp10_rejected400() {
    rejects("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0");
  }

  @Test
  void transferEncodingCaseVariantsAndEmptyElements_acceptedAsChunked() {
    for (String v : new String[] {"Chunked", "CHUNKED", " , chunked", "chunked ,"}) {
      RequestHead h = new RequestHead(LINE, HEAD);
      assertThat(h.parse(buf(req("tRANSFER-eNCODING: " + v)))).as(v).isEqualTo(RequestHead.COMPLETE);
      assertThat(h.framing()).isEqualTo(Framing.CHUNKED);
    }
  }

  // ---- line-end and whitespace attacks ----

  @Test
  void obsFold_rejected400() {
    rejects(req("X-A: 1", " continued"), 400, "obs-fold");
    rejects(req("X-A: 1", "\tcontinued"), 400, "obs-fold");
  }

  @Test
  void whitespaceBeforeFirstHeader_rejected400() {
    rejects("GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400, "before the first header");
  }

  @Test
  void bareLfLineEnd_rejected400() {
    rejects("GET / HTTP/1.1\nHost: x\r\n\r\n", 400, "bare LF");
    rejects("GET / HTTP/1.1\r\nHost: x\n\r\n", 400, "bare LF");
    rejects("GET / HTTP/1.1\r\nHost: x\r\n\n", 400, "bare LF");
  }

  @Test
  void bareCr_rejected400() {
    rejects("GET / HTTP/1.1\rHost: x\r\n\r\n", 400, "bare CR");
    rejects("GET / HTTP/1.1\r\nX-A: a\rb\r\nHost: x\r\n\r\n", 400, "bare CR");
  }

  @Test
  void whitespaceBeforeColon_rejected400() {
    rejects(req("Transfer-Encoding : chunked"), 400, "between a header name and its colon");
    rejects(req("Content-Length\t: 5"), 400, "between a header name and its colon");
  }

  @Test
  void emptyHeaderName_rejected400() {
    rejects(req(": x"), 400, "empty header name");
  }

  @Test
  void headerLineWithoutColon_rejected400() {
    rejects(req("X-A"), 400, "without a colon");
  }

  // ---- forbidden bytes ----

  @Test
  void nulInHeaderValue_rejected400() {
    rejects(req("X-A: a\0b"), 400, "NUL");
  }

  @Test
  void controlCharacterInHeaderValue_rejected400() {
    rejects(req("X-A: a\u0001b"), 400, "control character");
    rejects(req("X-A: a\u007fb"), 400, "control character");
    rejects(req("X-A: a\u001bb"), 400, "control character");
  }

  @Test
  void nulInHeaderName_rejected400() {
    rejects(req("X-\0A: 1"), 400, "invalid character in a header name");
  }

  @Test
  void invalidTokenCharacterInHeaderName_rejected400() {
    for (String name : new String[] {"X(A)", "X\"A", "X/A", "X@A", "X{A}", "X\u00e9"}) {
      rejects(req(name + ": 1"), 400, "invalid character in a header name");
    }
  }

  @Test
  void invalidTokenCharacterInMethod_rejected400() {
    rejects("GE(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "method");
    rejects("G\0T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "method");
    rejects(" GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "method is not a token");
    rejects("GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", 400, "method");
  }

  @Test
  void nulOrControlInTarget_rejected400() {
    rejects("GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "request target");
    rejects("GET /a\u007fb HTTP/1.1\r\nHost: x\r\n\r\n", 400, "request target");
    rejects("GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n", 400, "request target");
    rejects("GET /\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "request target");
  }

  @Test
  void spaceInTarget_rejected400() {
    rejects("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "version");
    rejects("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "empty request target");
    rejects("GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400, "malformed HTTP version");
    rejects("GET /\r\nHost: x\r\n\r\n", 400, "no HTTP version");
  }

  @Test
  void fragmentInTarget_rejected400() {
    rejects("GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "'#'");
  }

  @Test
  void targetNotAnyForm_rejected400() {
    rejects("GET a/b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "origin-");
    rejects("GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400, "OPTIONS only");
    rejects("OPTIONS *x HTTP/1.1\r\nHost: x\r\n\r\n", 400, "OPTIONS only");
    rejects("CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "authority-form");
  }

  // ---- Host and the session header ----

  @Test
  void missingHostInHttp11_rejected400() {
    rejects("GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400, "needs a Host");
  }

  @Test
  void duplicateHost_rejected400() {
    rejects("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400, "more than one Host");
    rejects("GET / HTTP/1.0\r\nHost: a\r\nHOST: a\r\n\r\n", 400, "more than one Host");
  }

  @Test
  void duplicateSessionHeader_rejected400() {
    rejects(req("x-agentcube-session-id: a", "X-AgentCube-Session-Id: b"), 400, "x-agentcube-session-id");
  }

  @Test
  void http10WithoutHost_accepted() {
    assertThat(outcome("GET / HTTP/1.0\r\n\r\n")).isEqualTo("complete");
  }

  // ---- versions and limits ----

  @Test
  void unsupportedVersion_rejected505() {
    rejects("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "not supported");
    rejects("GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505, "not supported");
    rejects("GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505, "not supported");
  }

  @Test
  void malformedVersion_rejected400() {
    for (String v : new String[] {"http/1.1", "HTTP/1.10", "HTTP/11", "HTTP/1,1", "HTTPS/1.1", "HTTP/a.1"}) {
      rejects("GET / " + v + "\r\nHost: x\r\n\r\n", 400, "malformed HTTP version");
    }
  }

  @Test
  void requestLineOverLimit_rejected414() {
    String fits = "GET /" + "a".repeat(LINE - 14) + " HTTP/1.1"; // exactly LINE bytes
    assertThat(fits).hasSize(LINE);
    assertThat(outcome(fits + "\r\nHost: x\r\n\r\n")).isEqualTo("complete");
    rejects("GET /" + "a".repeat(LINE - 13) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "maxInitialLineLength");
    // no need to wait for the line end: the limit is known to be passed
    assertThat(outcome("GET /" + "a".repeat(LINE))).startsWith("414 ");
  }

  @Test
  void headOverLimit_rejected431() {
    String start = "GET / HTTP/1.1\r\n";
    String host = "Host: x\r\n";
    // field section = host + filler line + final CRLF
    int fillerValue = HEAD - host.length() - 2 - "X: \r\n".length();
    String fits = start + host + "X: " + "v".repeat(fillerValue) + "\r\n\r\n";
    assertThat(outcome(fits)).isEqualTo("complete");
    String over = start + host + "X: " + "v".repeat(fillerValue + 1) + "\r\n\r\n";
    rejects(over, 431, "maxHeaderSize");
    StringBuilder many = new StringBuilder(start).append(host);
    while (many.length() < HEAD + 100) {
      many.append("X-A: 1\r\n");
    }
    assertThat(outcome(many.toString())).startsWith("431 ");
  }

  @Test
  void limitsFromConstructor_apply() {
    RequestHead h = new RequestHead(64, 64);
    assertThat(h.parse(buf("GET /" + "a".repeat(60) + " HTTP/1.1\r\n"))).isEqualTo(RequestHead.REJECTED);
    assertThat(h.status()).isEqualTo(414);
    RequestHead h2 = new RequestHead(64, 64);
    assertThat(h2.parse(buf("GET / HTTP/1.1\r\nHost: x\r\nX: " + "v".repeat(60) + "\r\n\r\n")))
        .isEqualTo(RequestHead.REJECTED);
    assertThat(h2.status()).isEqualTo(431);
  }

  // ---- valid shapes ----

  @Test
  void plainGet_parsedInPlace() {
    String s = "GET /a/b?c=d%20 HTTP/1.1\r\nHost: example\r\nConnection: keep-alive, Close\r\n"
        + "X-Agentcube-Session-Id:  s-1 \t\r\nUpgrade: websocket\r\nExpect: 100-continue\r\n"
        + "X-Other: \u00e9t\u00e9\r\n\r\n";
    ByteBuf b = buf(s);
    RequestHead h = new RequestHead(LINE, HEAD);
    assertThat(h.parse(b)).isEqualTo(RequestHead.COMPLETE);
    assertThat(h.headLength()).isEqualTo(s.length());
    assertThat(RequestHead.text(b, h.methodStart(), h.methodEnd())).isEqualTo("GET");
    assertThat(RequestHead.text(b, h.targetStart(), h.targetEnd())).isEqualTo("/a/b?c=d%20");
    assertThat(h.versionMinor()).isEqualTo(1);
    assertThat(h.framing()).isEqualTo(Framing.NONE);
    assertThat(h.contentLength()).isEqualTo(-1);
    assertThat(h.headerCount()).isEqualTo(6);
    int sid = h.indexOf(Field.SESSION_ID);
    assertThat(sid).isEqualTo(2);
    assertThat(RequestHead.text(b, h.valueStart(sid), h.valueEnd(sid))).isEqualTo("s-1");
    assertThat(RequestHead.text(b, h.nameStart(sid), h.nameEnd(sid))).isEqualTo("X-Agentcube-Session-Id");
    assertThat(h.hasToken(b, Field.CONNECTION, bytes("close"))).isTrue();
    assertThat(h.hasToken(b, Field.CONNECTION, bytes("upgrade"))).isFalse();
    assertThat(h.valueEqualsIgnoreCase(b, h.indexOf(Field.UPGRADE), bytes("websocket"))).isTrue();
    assertThat(h.hasToken(b, Field.EXPECT, bytes("100-continue"))).isTrue();
    assertThat(h.indexOf(Field.CONTENT_LENGTH)).isEqualTo(-1);
    assertThat(h.is(5, Field.HOST)).isFalse();
    assertThat(h.occurrences(Field.HOST)).isEqualTo(1);
  }

  @Test
  void absoluteFormAsteriskAndAuthorityForm_accepted() {
    assertThat(outcome("GET http://h:1/a HTTP/1.1\r\nHost: h:1\r\n\r\n")).isEqualTo("complete");
    assertThat(outcome("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")).isEqualTo("complete");
    assertThat(outcome("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n")).isEqualTo("complete");
  }

  @Test
  void leadingEmptyLines_skipped() {
    ByteBuf b = buf("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    RequestHead h = new RequestHead(LINE, HEAD);
    assertThat(h.parse(b)).isEqualTo(RequestHead.COMPLETE);
    assertThat(RequestHead.text(b, h.methodStart(), h.methodEnd())).isEqualTo("GET");
  }

  @Test
  void manyHeaders_arraysGrow() {
    StringBuilder s = new StringBuilder("GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 500; i++) {
      s.append("X-").append(i).append(": ").append(i).append("\r\n");
    }
    ByteBuf b = buf(s.append("Content-Length: 3\r\n\r\n").toString());
    RequestHead h = new RequestHead(LINE, HEAD);
    assertThat(h.parse(b)).isEqualTo(RequestHead.COMPLETE);
    assertThat(h.headerCount()).isEqualTo(502);
    assertThat(RequestHead.text(b, h.valueStart(400), h.valueEnd(400))).isEqualTo("399");
    assertThat(h.contentLength()).isEqualTo(3);
  }

  @Test
  void pipelinedHeads_inOneBuffer_parsedInTurn() {
    String one = "POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
    String two = "POST /two HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    String three = "GET /three HTTP/1.0\r\n\r\n";
    ByteBuf b = buf(one + two + three);
    RequestHead h = new RequestHead(LINE, HEAD);

    assertThat(h.parse(b)).isEqualTo(RequestHead.COMPLETE);
    assertThat(RequestHead.text(b, h.targetStart(), h.targetEnd())).isEqualTo("/one");
    assertThat(h.contentLength()).isEqualTo(5);
    b.skipBytes(h.headLength() + 5);

    h.reset();
    assertThat(h.parse(b)).isEqualTo(RequestHead.COMPLETE);
    assertThat(RequestHead.text(b, h.targetStart(), h.targetEnd())).isEqualTo("/two");
    assertThat(h.framing()).isEqualTo(Framing.CHUNKED);
    b.skipBytes(h.headLength());
    ChunkedDecoderState c = new ChunkedDecoderState(4096, 8192);
    b.skipBytes(c.consume(b));
    assertThat(c.isDone()).isTrue();
    assertThat(c.dataBytes()).isEqualTo(3);

    h.reset();
    assertThat(h.parse(b)).isEqualTo(RequestHead.COMPLETE);
    assertThat(RequestHead.text(b, h.targetStart(), h.targetEnd())).isEqualTo("/three");
    assertThat(h.versionMinor()).isZero();
    assertThat(h.headLength()).isEqualTo(b.readableBytes());
  }

  @Test
  void headSplitAtEveryByteBoundary_sameResult() {
    String s = "PUT /x?y=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\nX-A: a b\r\n"
        + "x-agentcube-session-id: abc\r\n\r\nbody-follows";
    byte[] all = s.getBytes(StandardCharsets.ISO_8859_1);
    RequestHead whole = new RequestHead(LINE, HEAD);
    assertThat(whole.parse(Unpooled.wrappedBuffer(all))).isEqualTo(RequestHead.COMPLETE);
    int headLength = whole.headLength();
    for (int cut = 0; cut <= all.length; cut++) {
      // two deliveries: the first cut bytes, then everything (a cumulation buffer grows)
      RequestHead h = new RequestHead(LINE, HEAD);
      int first = h.parse(Unpooled.wrappedBuffer(all, 0, cut));
      assertThat(first).as("cut %d", cut).isEqualTo(cut >= headLength ? RequestHead.COMPLETE : RequestHead.NEED_MORE);
      assertThat(h.parse(Unpooled.wrappedBuffer(all))).as("cut %d", cut).isEqualTo(RequestHead.COMPLETE);
      assertSame(whole, h);
    }
    // and one byte at a time, from a reader index that is not 0
    ByteBuf growing = Unpooled.buffer();
    growing.writeBytes(new byte[] {'z', 'z'}).skipBytes(2);
    RequestHead h = new RequestHead(LINE, HEAD);
    int r = RequestHead.NEED_MORE;
    for (int i = 0; i < all.length && r == RequestHead.NEED_MORE; i++) {
      growing.writeByte(all[i]);
      r = h.parse(growing);
    }
    assertThat(r).isEqualTo(RequestHead.COMPLETE);
    assertSame(whole, h);
  }

  @Test
  void rejectionSplitAtEveryByteBoundary_sameRejection() {
    String[] attacks = {
      req("Content-Length: 5", "Transfer-Encoding: chunked"),
      "GET / HTTP/1.1\r\nHost: x\n\r\n",
      req("X-A: 1", " fold"),
      "GET / HTTP/1.1\rHost: x\r\n\r\n",
    };
    for (String a : attacks) {
      assertThat(splitOutcome(a)).isEqualTo(outcome(a));
    }
  }

  /**
   * The parsers copy heads into one array per thread: two connections' requests and a sandbox's
   * response arriving a byte at a time, interleaved on one thread, each parse as if alone (no
   * byte of one is read as a byte of another).
   */
  @Test
  void interleavedParsersOnOneThread_eachSeesOnlyItsOwnBytes() {
    byte[] a = ("POST /a HTTP/1.1\r\nHost: aaaa\r\nContent-Length: 12345\r\n"
        + "x-agentcube-session-id: sess-a\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
    byte[] b = ("PUT /bb/cc HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\nX-Long: "
        + "y".repeat(700) + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
    byte[] r = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\n"
        .getBytes(StandardCharsets.ISO_8859_1);
    RequestHead wholeA = new RequestHead(LINE, HEAD);
    RequestHead wholeB = new RequestHead(LINE, HEAD);
    assertThat(wholeA.parse(Unpooled.wrappedBuffer(a))).isEqualTo(RequestHead.COMPLETE);
    assertThat(wholeB.parse(Unpooled.wrappedBuffer(b))).isEqualTo(RequestHead.COMPLETE);

    RequestHead ha = new RequestHead(LINE, HEAD);
    RequestHead hb = new RequestHead(LINE, HEAD);
    ResponseHead hr = new ResponseHead(LINE, HEAD);
    int ra = RequestHead.NEED_MORE;
    int rb = RequestHead.NEED_MORE;
    int rr = ResponseHead.NEED_MORE;
    for (int n = 1; n <= b.length; n++) {
      if (n <= a.length && ra == RequestHead.NEED_MORE) {
        ra = ha.parse(Unpooled.wrappedBuffer(a, 0, n));
      }
      if (rb == RequestHead.NEED_MORE) {
        rb = hb.parse(Unpooled.wrappedBuffer(b, 0, n));
      }
      if (n <= r.length && rr == ResponseHead.NEED_MORE) {
        rr = hr.parse(Unpooled.wrappedBuffer(r, 0, n));
      }
    }
    assertThat(new int[] {ra, rb, rr}).containsExactly(RequestHead.COMPLETE, RequestHead.COMPLETE, ResponseHead.COMPLETE);
    assertSame(wholeA, ha);
    assertSame(wholeB, hb);
    assertThat(ha.contentLength()).isEqualTo(12345);
    assertThat(hb.framing()).isEqualTo(Framing.CHUNKED);
    assertThat(hr.contentLength()).isEqualTo(7);
    assertThat(hr.connectionClose()).isTrue();

    // a parser reused for a shorter head after another's long one reads none of the old bytes
    ha.reset();
    assertThat(ha.parse(buf("GET / HTTP/1.0\r\n\r\n"))).isEqualTo(RequestHead.COMPLETE);
    assertThat(ha.headerCount()).isZero();
    assertThat(ha.framing()).isEqualTo(Framing.NONE);
  }

  /** A head longer than the first copy window, read together with a large body: the head's own. */
  @Test
  void longHeadWithLargeBodyInOneBuffer_parsedFromItsOwnBytes() {
    String head = "POST /up HTTP/1.1\r\nHost: x\r\nCookie: " + "c=1; ".repeat(600)
        + "\r\nContent-Length: 100000\r\n\r\n";
    String junk = "\r\nContent-Length: 7\r\n\r\n"; // a body that looks like more head
    byte[] body = new byte[100_000];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) junk.charAt(i % junk.length());
    }
    ByteBuf b = Unpooled.directBuffer().writeBytes(head.getBytes(StandardCharsets.ISO_8859_1)).writeBytes(body);
    RequestHead h = new RequestHead(LINE, HEAD);

    assertThat(h.parse(b)).isEqualTo(RequestHead.COMPLETE);
    assertThat(h.headLength()).isEqualTo(head.length());
    assertThat(h.contentLength()).isEqualTo(100_000);
    assertThat(h.headerCount()).isEqualTo(3);
    b.release();
  }

  /** Pins "no object per header": a warm parse of a 12-field head allocates nothing. */
  @Test
  void parse_warmRealisticHead_allocatesNothing() {
    String s = "POST /v1/namespaces/default/agent-runtimes/echo/invocations/run?x=1 HTTP/1.1\r\n"
        + "Host: proxy.example:8081\r\nUser-Agent: python-httpx/0.27.0\r\nAccept: */*\r\n"
        + "Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\nContent-Type: application/json\r\n"
        + "Content-Length: 27\r\nx-agentcube-session-id: 8c1f7e0a-4b3c-4d2e-9f10-112233445566\r\n"
        + "Traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
        + "X-Request-Id: 7d3c2b1a\r\nCookie: a=b; c=d\r\nAuthorization: Bearer abc.def.ghi\r\n\r\n";
    ByteBuf b = Unpooled.directBuffer().writeBytes(s.getBytes(StandardCharsets.ISO_8859_1));
    RequestHead h = new RequestHead(LINE, HEAD);
    com.sun.management.ThreadMXBean mx =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    int rounds = 200_000;
    for (int i = 0; i < rounds; i++) { // warm-up: JIT-compile the parser
      h.reset();
      h.parse(b);
    }
    long tid = Thread.currentThread().getId();
    long before = mx.getThreadAllocatedBytes(tid);
    for (int i = 0; i < rounds; i++) {
      h.reset();
      if (h.parse(b) != RequestHead.COMPLETE) {
        throw new AssertionError(h.reason());
      }
    }
    long allocated = mx.getThreadAllocatedBytes(tid) - before;
    System.out.printf("RequestHead: %d-byte head, 12 fields: %.3f bytes allocated/parse%n",
        s.length(), (double) allocated / rounds);
    assertThat(allocated).as("bytes allocated by %d parses", rounds).isLessThan(rounds / 10);
    b.release();
  }

  private static void assertSame(RequestHead a, RequestHead b) {
    assertThat(b.headLength()).isEqualTo(a.headLength());
    assertThat(b.methodEnd()).isEqualTo(a.methodEnd());
    assertThat(b.targetStart()).isEqualTo(a.targetStart());
    assertThat(b.targetEnd()).isEqualTo(a.targetEnd());
    assertThat(b.versionMinor()).isEqualTo(a.versionMinor());
    assertThat(b.framing()).isEqualTo(a.framing());
    assertThat(b.contentLength()).isEqualTo(a.contentLength());
    assertThat(b.headerCount()).isEqualTo(a.headerCount());
    for (int i = 0; i < a.headerCount(); i++) {
      assertThat(new int[] {b.nameStart(i), b.nameEnd(i), b.valueStart(i), b.valueEnd(i)})
          .containsExactly(a.nameStart(i), a.nameEnd(i), a.valueStart(i), a.valueEnd(i));
    }
    for (Field f : Field.values()) {
      assertThat(b.indexOf(f)).isEqualTo(a.indexOf(f));
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }
}
