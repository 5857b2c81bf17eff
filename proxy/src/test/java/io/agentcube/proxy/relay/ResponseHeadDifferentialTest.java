package io.agentcube.proxy.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Feeds a seeded corpus of generated sandbox responses, valid and hostile, to {@link
 * ResponseHead} + {@link ChunkedDecoderState} (or Content-Length counting, or reading to the end)
 * and to Netty's {@code HttpResponseDecoder} in an {@code EmbeddedChannel} (same limits, {@code
 * allowDuplicateContentLengths} on: RFC 9110 §8.6's rule, which the relay follows), response by
 * response, the input ending with a close (which completes a body read until close). Where both
 * accept a response they must agree on status, version, framing and body length; where they
 * disagree on acceptance, the relay's parser must be the one that refuses. No request is HEAD
 * (Netty's decoder would need telling). Set {@code -Drelay.seed=N} to replay a run, {@code
 * -Drelay.corpus=N} for its size; the seed is printed and is in every failure message.
 */
class ResponseHeadDifferentialTest {

  private static final int LINE = 8192;
  private static final int HEAD = 16384;
  private static final int CORPUS = Integer.getInteger("relay.corpus", 3000);
  private static final int MAX_MESSAGES = 4;

  /** What one parser made of one response. */
  record Verdict(String head, int status, String version, String framing, String body, long bodyBytes) {}

  private static Verdict headOnly(String head) {
    return new Verdict(head, 0, null, null, "-", 0);
  }

  @Test
  void corpus_relayAgreesWithNettyOrIsStricter() {
    long seed = Long.getLong("relay.seed", System.nanoTime());
    System.out.println("ResponseHeadDifferentialTest seed=" + seed + " corpus=" + CORPUS);
    Random rnd = new Random(seed);
    Map<String, Integer> stricter = new TreeMap<>();
    Map<String, String> examples = new TreeMap<>();
    Map<String, Integer> mutations = new TreeMap<>();
    List<String> failures = new ArrayList<>();
    int bothAccept = 0;
    int bothReject = 0;
    int bothIncomplete = 0;
    int messages = 0;
    for (int n = 0; n < CORPUS; n++) {
      Generated g = generate(rnd);
      for (String m : g.mutations) {
        mutations.merge(m, 1, Integer::sum);
      }
      byte[] input = g.bytes();
      List<Verdict> ours = ours(input);
      List<Verdict> netty = netty(input);
      for (int i = 0; i < Math.max(ours.size(), netty.size()); i++) {
        Verdict a = i < ours.size() ? ours.get(i) : null;
        Verdict b = i < netty.size() ? netty.get(i) : headOnly("incomplete");
        messages++;
        String problem = null;
        if (a == null) {
          problem = "Netty saw response " + i + " where the relay's parser had no bytes left";
        } else if (a.head.equals("ok") && b.head.equals("ok")) {
          if (a.status != b.status || !a.version.equals(b.version) || !a.framing.equals(b.framing)) {
            problem = "both accept, disagree on the head";
          } else if (a.body.equals("ok") && b.body.equals("ok")) {
            bothAccept++;
            if (a.bodyBytes != b.bodyBytes) {
              problem = "both accept, disagree on the body length";
            }
          } else if (a.body.equals("incomplete") && b.body.equals("incomplete")) {
            bothIncomplete++;
          } else if (isRejection(a.body) && isRejection(b.body)) {
            bothReject++;
          } else if (isRejection(a.body)) {
            String key = "body: " + a.body;
            stricter.merge(key, 1, Integer::sum);
            examples.putIfAbsent(key, printable(input));
          } else {
            problem = "body: ours " + a.body + ", netty " + b.body;
          }
        } else if (isRejection(a.head) && isRejection(b.head)) {
          bothReject++;
        } else if (isRejection(a.head)) {
          String key = (b.head.equals("ok") ? "head: " : "head (netty incomplete): ") + a.head;
          stricter.merge(key, 1, Integer::sum);
          examples.putIfAbsent(key, printable(input));
        } else if (a.head.equals("incomplete") && b.head.equals("incomplete")) {
          bothIncomplete++;
        } else {
          problem = "head: ours " + a.head + ", netty " + b.head;
        }
        if (problem != null) {
          failures.add("seed " + seed + " input " + n + ": " + problem + " in " + g.mutations + "\n  ours  " + a
              + "\n  netty " + b + "\n  input " + printable(input));
        }
        if (a == null || !a.head.equals("ok") || !b.head.equals("ok") || !a.body.equals("ok")
            || !b.body.equals("ok") || a.status == 101) {
          break; // neither goes on after a refused or unfinished response, or a switch of protocols
        }
      }
    }
    int relayOnly = stricter.values().stream().mapToInt(Integer::intValue).sum();
    StringBuilder report = new StringBuilder();
    report.append("seed=").append(seed).append(" corpus=").append(CORPUS).append(" responses=").append(messages)
        .append(" bothAccept=").append(bothAccept).append(" bothReject=").append(bothReject)
        .append(" bothIncomplete=").append(bothIncomplete).append(" relayOnlyRejects=").append(relayOnly)
        .append(" relayLaxerOrDisagree=").append(failures.size()).append('\n');
    report.append("mutations applied:\n");
    mutations.forEach((k, v) -> report.append("  ").append(v).append("  ").append(k).append('\n'));
    report.append("relay rejects, Netty accepts or still waits (relay reason):\n");
    stricter.forEach((k, v) -> report.append("  ").append(v).append("  ").append(k).append('\n')
        .append("      e.g. ").append(examples.get(k), 0, Math.min(160, examples.get(k).length())).append('\n'));
    System.out.println(report);
    assertThat(failures).as("seed %d: relay accepts what Netty refuses, or they disagree", seed)
        .isEmpty();
    assertThat(bothAccept).as("seed %d: the corpus has valid responses", seed).isGreaterThan(CORPUS / 5);
  }

  private static boolean isRejection(String s) {
    return !s.equals("ok") && !s.equals("incomplete") && !s.equals("-");
  }

  // ---- the two parsers ----

  static List<Verdict> ours(byte[] input) {
    List<Verdict> out = new ArrayList<>();
    ByteBuf buf = Unpooled.wrappedBuffer(input);
    ResponseHead h = new ResponseHead(LINE, HEAD);
    ChunkedDecoderState c = new ChunkedDecoderState(LINE, HEAD);
    while (buf.isReadable() && out.size() < MAX_MESSAGES) {
      h.reset();
      int r = h.parse(buf);
      if (r != ResponseHead.COMPLETE) {
        out.add(headOnly(r == ResponseHead.NEED_MORE ? "incomplete" : "rejected: " + h.reason()));
        break;
      }
      int fieldSection = h.headLength() - h.fieldsStart();
      buf.skipBytes(h.headLength());
      String framing;
      String body;
      long bodyBytes = 0;
      switch (h.framing(false)) {
        case LENGTH -> {
          framing = "length " + h.contentLength();
          if (buf.readableBytes() >= h.contentLength()) {
            buf.skipBytes((int) h.contentLength());
            body = "ok";
            bodyBytes = h.contentLength();
          } else {
            body = "incomplete";
          }
        }
        case CHUNKED -> {
          framing = "chunked";
          c.reset(HEAD - fieldSection); // trailers share the head's budget, as in Netty
          buf.skipBytes(c.consume(buf));
          body = c.isDone() ? "ok" : c.isRejected() ? "rejected: " + c.reason() : "incomplete";
          bodyBytes = c.dataBytes();
        }
        case UNTIL_CLOSE -> {
          framing = "until close";
          body = "ok"; // the input ends with a close
          bodyBytes = buf.readableBytes();
          buf.skipBytes(buf.readableBytes());
        }
        default -> {
          framing = "none";
          body = "ok";
        }
      }
      out.add(new Verdict("ok", h.status(), "HTTP/1." + h.versionMinor(), framing, body, bodyBytes));
      if (!body.equals("ok") || h.status() == 101) {
        break;
      }
    }
    return out;
  }

  static List<Verdict> netty(byte[] input) {
    EmbeddedChannel ch = new EmbeddedChannel(new HttpResponseDecoder(new HttpDecoderConfig()
        .setMaxInitialLineLength(LINE).setMaxHeaderSize(HEAD).setAllowDuplicateContentLengths(true)));
    List<Verdict> out = new ArrayList<>();
    try {
      ch.writeInbound(Unpooled.wrappedBuffer(input));
      ch.finish(); // the sandbox closes: a body read until close ends here
      Object m;
      HttpResponse res = null;
      String framing = null;
      long bodyBytes = 0;
      while ((m = ch.readInbound()) != null && out.size() < MAX_MESSAGES) {
        try {
          if (m instanceof HttpResponse r) {
            if (r.decoderResult().isFailure()) {
              out.add(headOnly(outcome(r.decoderResult().cause())));
              return out;
            }
            res = r;
            bodyBytes = 0;
            int code = r.status().code();
            framing = code < 200 || code == 204 || code == 304 ? "none"
                : HttpUtil.isTransferEncodingChunked(r) ? "chunked"
                : r.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
                    ? "length " + HttpUtil.getContentLength(r, -1L) : "until close";
          }
          if (m instanceof HttpContent content) {
            if (content.decoderResult().isFailure()) {
              out.add(verdict(res, framing, outcome(content.decoderResult().cause()), bodyBytes));
              return out;
            }
            bodyBytes += content.content().readableBytes();
            if (m instanceof LastHttpContent) {
              out.add(verdict(res, framing, "ok", bodyBytes));
              res = null;
            }
          }
          // a ByteBuf after a 101: the bytes of the new protocol, not HTTP
        } finally {
          ReferenceCountUtil.release(m);
        }
      }
      if (res != null) {
        out.add(verdict(res, framing, "incomplete", bodyBytes));
      }
      return out;
    } finally {
      ch.finishAndReleaseAll();
    }
  }

  private static Verdict verdict(HttpResponse r, String framing, String body, long bodyBytes) {
    return new Verdict("ok", r.status().code(), r.protocolVersion().text(), framing, body, bodyBytes);
  }

  /** A close before the end of a head or body is "incomplete", not a refusal. */
  private static String outcome(Throwable t) {
    if (t instanceof PrematureChannelClosureException) {
      return "incomplete";
    }
    String msg = t.getMessage() == null ? "" : t.getMessage();
    msg = msg.replaceAll("[0-9]+", "N");
    if (msg.length() > 60) {
      msg = msg.substring(0, 60);
    }
    return "rejected: " + t.getClass().getSimpleName() + " " + msg;
  }

  private static String printable(byte[] b) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < b.length && s.length() < 600; i++) {
      int c = b[i] & 0xff;
      if (c == '\r') {
        s.append("\\r");
      } else if (c == '\n') {
        s.append("\\n");
      } else if (c < 0x20 || c >= 0x7f) {
        s.append(String.format("\\x%02x", c));
      } else {
        s.append((char) c);
      }
    }
    return s.toString();
  }

  // ---- the generator ----

  /** A response as parts a mutation can change: lines (without ends), their ends, a body. */
  static final class Generated {
    String before = "";
    String statusLine;
    String statusLineEnd = "\r\n";
    final List<String> fields = new ArrayList<>();
    final List<String> ends = new ArrayList<>(); // one per field, then one for the empty line
    String body = "";
    String after = "";
    int code;
    boolean untilClose;
    final List<String> mutations = new ArrayList<>();

    byte[] bytes() {
      StringBuilder b = new StringBuilder(before).append(statusLine).append(statusLineEnd);
      for (int i = 0; i < fields.size(); i++) {
        b.append(fields.get(i)).append(ends.get(i));
      }
      b.append(ends.get(fields.size())).append(body).append(after);
      return b.toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    void add(String field) {
      fields.add(field);
      ends.add(ends.size() - 1, "\r\n");
    }

    void insert(int at, String field) {
      fields.add(at, field);
      ends.add(at, "\r\n");
    }

    int indexOf(String lowerName) {
      for (int i = 0; i < fields.size(); i++) {
        if (fields.get(i).toLowerCase().startsWith(lowerName + ":")) {
          return i;
        }
      }
      return -1;
    }
  }

  private static final String[] STATUSES = {"200 OK", "200 OK", "200 OK", "201 Created", "202 Accepted",
    "206 Partial Content", "302 Found", "400 Bad Request", "404 Not Found", "500 Internal Server Error",
    "503 Service Unavailable", "200", "200 ", "299 Odd \t Reason \u00e9", "418 I'm a teapot", "599 Last",
    "204 No Content", "304 Not Modified", "100 Continue", "103 Early Hints"};
  private static final String[] CTL = {"\0", "\u0001", "\u0007", "\u000b", "\u000c", "\u001b", "\u007f", "\r", "\n"};
  private static final String NEXT = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext";

  static Generated generate(Random rnd) {
    Generated g = new Generated();
    g.ends.add("\r\n");
    String status = STATUSES[rnd.nextInt(STATUSES.length)];
    g.code = Integer.parseInt(status.substring(0, 3));
    boolean http10 = rnd.nextInt(8) == 0;
    g.statusLine = "HTTP/1." + (http10 ? "0" : "1") + " " + status;
    int extra = rnd.nextInt(5);
    for (int i = 0; i < extra; i++) {
      g.add(randomField(rnd));
    }
    boolean bodiless = g.code < 200 || g.code == 204 || g.code == 304;
    int framing = http10 ? rnd.nextInt(2) : rnd.nextInt(3);
    if (rnd.nextInt(4) == 0) {
      framing = 3; // neither: read until close
    }
    if (framing == 1 || framing == 0 && !bodiless) {
      String data = "d".repeat(rnd.nextInt(40));
      g.add("Content-Length: " + data.length());
      g.body = bodiless ? "" : data;
    } else if (framing == 2) {
      g.add("Transfer-Encoding: chunked");
      g.body = bodiless ? "" : chunkedBody(rnd);
    } else if (!bodiless) {
      g.untilClose = true;
      g.body = "u".repeat(rnd.nextInt(50));
    }
    if (g.code < 200) {
      g.after = NEXT; // an interim response, then the final one
    } else if (!g.untilClose && rnd.nextInt(6) == 0) {
      g.after = NEXT; // a second response on a kept-alive connection
    }
    int count = rnd.nextInt(10) < 3 ? 0 : 1 + rnd.nextInt(2);
    for (int i = 0; i < count; i++) {
      mutate(g, rnd);
    }
    return g;
  }

  private static String randomField(Random rnd) {
    return switch (rnd.nextInt(9)) {
      case 0 -> "Connection: " + pick(rnd, "keep-alive", "close", "X-Hop, close", "Keep-Alive, X-Hop");
      case 1 -> "Content-Type: application/json";
      case 2 -> "Server: sandbox/1.0 (x; y)";
      case 3 -> "Date: Mon, 07 Dec 2026 18:00:00 GMT";
      case 4 -> "Keep-Alive: timeout=5, max=100";
      case 5 -> "X-Hop: secret";
      case 6 -> "Set-Cookie: a=b; Path=/";
      case 7 -> "Upgrade: h2c";
      default -> "X-F" + rnd.nextInt(100) + ":" + (rnd.nextBoolean() ? " " : "") + "v" + rnd.nextInt(100)
          + (rnd.nextBoolean() ? " \t" : "");
    };
  }

  private static String chunkedBody(Random rnd) {
    StringBuilder b = new StringBuilder();
    int chunks = rnd.nextInt(4);
    for (int i = 0; i < chunks; i++) {
      int size = 1 + rnd.nextInt(30);
      b.append(Integer.toHexString(size));
      if (rnd.nextInt(4) == 0) {
        b.append(";ext=").append(rnd.nextInt(9));
      }
      b.append("\r\n").append("c".repeat(size)).append("\r\n");
    }
    b.append("0\r\n");
    if (rnd.nextInt(4) == 0) {
      b.append("X-Trailer: t\r\n");
    }
    return b.append("\r\n").toString();
  }

  private static String pick(Random rnd, String... options) {
    return options[rnd.nextInt(options.length)];
  }

  private static String randomCase(Random rnd, String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      b.append(rnd.nextBoolean() ? Character.toUpperCase(c) : Character.toLowerCase(c));
    }
    return b.toString();
  }

  private static void mutate(Generated g, Random rnd) {
    if (g.fields.isEmpty()) {
      g.add(randomField(rnd));
    }
    int kind = rnd.nextInt(24);
    String name;
    int len = g.body.length();
    switch (kind) {
      case 0 -> {
        name = "duplicate Content-Length, other value";
        g.add("Content-Length: " + (len + 1 + rnd.nextInt(5)));
      }
      case 1 -> {
        name = "duplicate Content-Length, same value";
        if (g.indexOf("content-length") < 0) {
          g.add("Content-Length: " + len);
        }
        g.add(pick(rnd, "Content-Length: ", "content-length:", "CONTENT-LENGTH:\t") + len);
      }
      case 2 -> {
        name = "Content-Length and Transfer-Encoding";
        if (g.indexOf("transfer-encoding") < 0) {
          g.add("Transfer-Encoding: chunked");
        } else {
          g.insert(rnd.nextInt(g.fields.size() + 1), "Content-Length: " + rnd.nextInt(20));
        }
      }
      case 3 -> {
        String v = pick(rnd, "chunked, chunked", "gzip, chunked", "chunked, gzip", "identity", "Chunked",
            " chunked ", "chunked;q=1", "xchunked", "chunked\t", "\"chunked\"", ", chunked", "chunked,",
            "CHUNKED", "deflate", "chunked, identity", "gzip;q=0.5, chunked", "");
        name = "Transfer-Encoding variant";
        int i = g.indexOf("transfer-encoding");
        if (i >= 0) {
          g.fields.set(i, "Transfer-Encoding: " + v);
        } else {
          g.add("Transfer-Encoding: " + v);
          g.body = chunkedBody(rnd);
        }
        g.after = "";
      }
      case 4 -> {
        name = "second Transfer-Encoding field";
        g.add("Transfer-Encoding: " + pick(rnd, "chunked", "gzip", "identity"));
      }
      case 5 -> {
        name = "Content-Length variant";
        String v = pick(rnd, "+" + len, "-1", " " + len + " ", len + "," + len, len + ", " + len + " ,\t" + len,
            len + ", " + (len + 1), "0x" + Integer.toHexString(len), "", "99999999999999999999",
            "9223372036854775808", "00" + len, len + ".0", len + " 1", len + ",", "," + len);
        int i = g.indexOf("content-length");
        if (i >= 0) {
          g.fields.set(i, "Content-Length: " + v);
        } else {
          g.add("Content-Length: " + v);
        }
      }
      case 6 -> {
        name = "whitespace before the colon";
        int i = rnd.nextInt(g.fields.size());
        g.fields.set(i, g.fields.get(i).replaceFirst(":", pick(rnd, " :", "\t:", "  :")));
      }
      case 7 -> {
        name = "odd whitespace in the status line";
        g.statusLine = switch (rnd.nextInt(5)) {
          case 0 -> g.statusLine.replaceFirst(" ", "  ");
          case 1 -> g.statusLine + " ";
          case 2 -> g.statusLine.replaceFirst(" ", "\t");
          case 3 -> " " + g.statusLine;
          default -> g.statusLine.replaceFirst("^(\\S+ \\d\\d\\d)", "$1\t");
        };
      }
      case 8 -> {
        name = "control character in a field value";
        int i = rnd.nextInt(g.fields.size());
        String f = g.fields.get(i);
        int at = f.indexOf(':') + 1 + rnd.nextInt(Math.max(1, f.length() - f.indexOf(':')));
        g.fields.set(i, f.substring(0, Math.min(at, f.length())) + CTL[rnd.nextInt(CTL.length)]
            + f.substring(Math.min(at, f.length())));
      }
      case 9 -> {
        name = "control character in a field name";
        int i = rnd.nextInt(g.fields.size());
        String f = g.fields.get(i);
        int at = rnd.nextInt(Math.max(1, f.indexOf(':')));
        g.fields.set(i, f.substring(0, at) + CTL[rnd.nextInt(CTL.length)] + f.substring(at));
      }
      case 10 -> {
        name = "control character in the status line";
        int at = rnd.nextInt(g.statusLine.length());
        g.statusLine = g.statusLine.substring(0, at) + CTL[rnd.nextInt(CTL.length)] + g.statusLine.substring(at);
      }
      case 11 -> {
        name = "obs-fold";
        g.insert(1 + rnd.nextInt(g.fields.size()), pick(rnd, " folded", "\tfolded", " ", "  chunked"));
      }
      case 12 -> {
        name = "bare LF or bare CR as a line end";
        String end = pick(rnd, "\n", "\r", "\n\r");
        int i = rnd.nextInt(g.ends.size() + 1);
        if (i == g.ends.size()) {
          g.statusLineEnd = end;
        } else {
          g.ends.set(i, end);
        }
      }
      case 13 -> {
        name = "long status line";
        int pad = LINE - g.statusLine.length() + rnd.nextInt(5) - 3;
        g.statusLine = g.statusLine.length() > 12 ? g.statusLine + "r".repeat(Math.max(0, pad))
            : g.statusLine + " " + "r".repeat(Math.max(0, pad - 1));
      }
      case 14 -> {
        name = "long field section";
        int used = 0;
        for (String f : g.fields) {
          used += f.length() + 2;
        }
        int pad = HEAD - used - 2 - "X-Long: \r\n".length() + rnd.nextInt(7) - 3;
        g.add("X-Long: " + "v".repeat(Math.max(0, pad)));
      }
      case 15 -> {
        name = "bad chunk size";
        if (g.indexOf("transfer-encoding") < 0) {
          g.add("Transfer-Encoding: chunked");
        }
        g.body = pick(rnd, "g\r\nabc\r\n0\r\n\r\n", "-3\r\nabc\r\n0\r\n\r\n", "+3\r\nabc\r\n0\r\n\r\n",
            "0x3\r\nabc\r\n0\r\n\r\n", "10000000000000000\r\n", "fffffffffffffffff\r\n", "3\nabc\r\n0\r\n\r\n",
            "3 \r\nabc\r\n0\r\n\r\n", "3;a=\0\r\nabc\r\n0\r\n\r\n", "3\r\nabcd\r\n0\r\n\r\n",
            "3\r\nab\r\n0\r\n\r\n", "\r\nabc\r\n0\r\n\r\n", "3\r\nabc\n0\r\n\r\n", "0\r\nX: 1\r\n folded\r\n\r\n",
            "0\r\nX : 1\r\n\r\n", "0\r\n\n", "3\r\nabc\r\n0\r\n", " 3\r\nabc\r\n0\r\n\r\n", "3\t;x\r\nabc\r\n0\r\n\r\n",
            "0\r\nX\0: 1\r\n\r\n", "00000000000000000003\r\nabc\r\n0\r\n\r\n");
        g.after = "";
      }
      case 16 -> {
        name = "header name case variant";
        int i = rnd.nextInt(g.fields.size());
        String f = g.fields.get(i);
        int colon = f.indexOf(':');
        if (colon > 0) {
          g.fields.set(i, randomCase(rnd, f.substring(0, colon)) + f.substring(colon));
        }
      }
      case 17 -> {
        name = "status code variant";
        String c = pick(rnd, "20", "2000", "099", "600", "999", "000", "+20", "2x0", "-20", "1e2", " 200", "２00");
        g.statusLine = g.statusLine.replaceFirst("^(\\S+) \\d\\d\\d", "$1 " + c);
      }
      case 18 -> {
        name = "version variant";
        String v = pick(rnd, "HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "http/1.1", "HTTP/1.10", "HTTP/11", "HTTPS/1.1",
            "HTTP/1", "HTTP/1.1x", "HTTP/3.0", "ICAP/1.0", "RTSP/1.0", "HTTP/1.01");
        g.statusLine = g.statusLine.replaceFirst("^HTTP/1\\.[01]", v);
      }
      case 19 -> {
        name = "invalid token character in a name";
        String bad = pick(rnd, "(", ")", "<", "@", ",", ";", "\"", "/", "[", "{", "\u00e9", "=", "?");
        int i = rnd.nextInt(g.fields.size());
        String f = g.fields.get(i);
        int colon = Math.max(1, f.indexOf(':'));
        g.fields.set(i, f.substring(0, colon - 1) + bad + f.substring(colon - 1));
      }
      case 20 -> {
        name = "empty lines or junk before the status line";
        g.before = pick(rnd, "\r\n", "\r\n\r\n", "\n", "\r", " ", "\0");
      }
      case 21 -> {
        name = "Content-Length other than the body (desync attempt)";
        int i = g.indexOf("content-length");
        String v = String.valueOf(Math.max(0, len + rnd.nextInt(7) - 3));
        if (i >= 0) {
          g.fields.set(i, "Content-Length: " + v);
        } else {
          g.add("Content-Length: " + v);
          g.body = "d".repeat(rnd.nextInt(10));
        }
        if (g.after.isEmpty()) {
          g.after = NEXT;
        }
      }
      case 22 -> {
        name = "Connection variant";
        g.add("Connection: " + pick(rnd, "close", "CLOSE, x-hop", "keep-alive, Upgrade", ",, close ,", "close keep-alive",
            "\"close\"", "Content-Length", "x-a;b", "te, trailer"));
      }
      default -> {
        name = "random byte flipped in the head";
        int at = rnd.nextInt(g.statusLine.length());
        g.statusLine = g.statusLine.substring(0, at) + (char) rnd.nextInt(256) + g.statusLine.substring(at + 1);
      }
    }
    g.mutations.add(name);
  }
}
