package io.agentcube.proxy.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
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
 * Feeds a seeded corpus of generated requests, valid and hostile, to {@link RequestHead} +
 * {@link ChunkedDecoderState} and to Netty's {@code HttpRequestDecoder} (in an {@code
 * EmbeddedChannel}, with the server's limits), message by message. Where both accept a message
 * they must agree on method, target, version, body framing and body length, and on where the next
 * message starts; where they disagree on acceptance, the relay's parser must be the one that
 * refuses. Set {@code -Drelay.seed=N} to replay a run; the seed is printed.
 */
class RelayParserDifferentialTest {

  private static final int LINE = 8192;
  private static final int HEAD = 16384;
  private static final int CORPUS = Integer.getInteger("relay.corpus", 5000);
  private static final int MAX_MESSAGES = 4;

  /** What one parser made of one message. */
  record Verdict(String head, String method, String target, String version, String framing,
      String body, long bodyBytes) {}

  @Test
  void corpus_relayAgreesWithNettyOrIsStricter() {
    long seed = Long.getLong("relay.seed", System.nanoTime());
    System.out.println("RelayParserDifferentialTest seed=" + seed + " corpus=" + CORPUS);
    Random rnd = new Random(seed);
    Map<String, Integer> stricter = new TreeMap<>();
    Map<String, Integer> nettyEarlier = new TreeMap<>();
    Map<String, String> examples = new TreeMap<>();
    Map<String, Integer> mutations = new TreeMap<>();
    List<String> failures = new ArrayList<>();
    int bothAccept = 0;
    int bothReject = 0;
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
        // Netty says nothing about a message it has not finished reading the head of
        Verdict b = i < netty.size() ? netty.get(i)
            : new Verdict("incomplete", null, null, null, null, "-", 0);
        messages++;
        String problem = null;
        if (a == null) {
          problem = "Netty saw message " + i + " where the relay's parser had no bytes left";
        } else if (a.head.equals("ok") && b.head.equals("ok")) {
          if (!a.method.equals(b.method) || !a.target.equals(b.target) || !a.version.equals(b.version)
              || !a.framing.equals(b.framing)) {
            problem = "both accept, disagree on the head";
          } else if (a.body.equals("ok") && b.body.equals("ok")) {
            bothAccept++;
            if (a.bodyBytes != b.bodyBytes) {
              problem = "both accept, disagree on the body length";
            }
          } else if (a.body.equals(b.body) || isRejection(a.body) && isRejection(b.body)) {
            bothReject += isRejection(a.body) ? 1 : 0;
          } else if (isRejection(a.body) && !isRejection(b.body)) {
            String key = (b.body.equals("incomplete") ? "body (netty still waiting): " : "body: ") + a.body;
            stricter.merge(key, 1, Integer::sum);
            examples.putIfAbsent(key, printable(input));
          } else if (a.body.equals("incomplete") && isRejection(b.body)) {
            nettyEarlier.merge("body: " + b.body, 1, Integer::sum);
          } else {
            problem = "body: ours " + a.body + ", netty " + b.body;
          }
        } else if (isRejection(a.head) && isRejection(b.head)) {
          bothReject++;
        } else if (isRejection(a.head) && b.head.equals("ok")) {
          stricter.merge("head: " + a.head, 1, Integer::sum);
          examples.putIfAbsent("head: " + a.head, printable(input));
        } else if (a.head.equals("incomplete") && b.head.equals("incomplete")) {
          // both wait for more bytes
        } else if (a.head.equals("incomplete") && isRejection(b.head)) {
          nettyEarlier.merge("head: " + b.head, 1, Integer::sum);
        } else if (isRejection(a.head) && b.head.equals("incomplete")) {
          stricter.merge("head (netty still waiting): " + a.head, 1, Integer::sum);
          examples.putIfAbsent("head (netty still waiting): " + a.head, printable(input));
        } else {
          problem = "head: ours " + a.head + ", netty " + b.head;
        }
        if (problem != null) {
          failures.add(problem + " in " + g.mutations + "\n  ours  " + a + "\n  netty " + b + "\n  input "
              + printable(input));
        }
        if (a == null || !a.head.equals("ok") || !b.head.equals("ok")
            || !a.body.equals("ok") || !b.body.equals("ok")) {
          break; // neither goes on after a refused or unfinished message
        }
      }
    }
    StringBuilder report = new StringBuilder();
    report.append("corpus=").append(CORPUS).append(" messages=").append(messages)
        .append(" bothAccept=").append(bothAccept).append(" bothReject=").append(bothReject)
        .append(" relayStricter=").append(stricter.values().stream().mapToInt(Integer::intValue).sum())
        .append(" relayLaxerOrDisagree=").append(failures.size()).append('\n');
    report.append("mutations applied:\n");
    mutations.forEach((k, v) -> report.append("  ").append(v).append("  ").append(k).append('\n'));
    report.append("relay rejects, Netty accepts (relay reason):\n");
    stricter.forEach((k, v) -> report.append("  ").append(v).append("  ").append(k).append('\n')
        .append("      e.g. ").append(examples.get(k), 0, Math.min(160, examples.get(k).length())).append('\n'));
    report.append("Netty rejects while the relay still waits for bytes (Netty's reason):\n");
    nettyEarlier.forEach((k, v) -> report.append("  ").append(v).append("  ").append(k).append('\n'));
    System.out.println(report);
    assertThat(failures).as("seed %d: relay accepts what Netty refuses, or they disagree", seed)
        .isEmpty();
    assertThat(bothAccept).as("the corpus has valid requests").isGreaterThan(CORPUS / 5);
  }

  private static boolean isRejection(String s) {
    return !s.equals("ok") && !s.equals("incomplete") && !s.equals("-");
  }

  // ---- the two parsers ----

  static List<Verdict> ours(byte[] input) {
    List<Verdict> out = new ArrayList<>();
    ByteBuf buf = Unpooled.wrappedBuffer(input);
    RequestHead h = new RequestHead(LINE, HEAD);
    ChunkedDecoderState c = new ChunkedDecoderState(LINE, HEAD);
    while (buf.isReadable() && out.size() < MAX_MESSAGES) {
      h.reset();
      int r = h.parse(buf);
      if (r != RequestHead.COMPLETE) {
        out.add(new Verdict(r == RequestHead.NEED_MORE ? "incomplete" : h.status() + " " + h.reason(),
            null, null, null, null, "-", 0));
        break;
      }
      String method = RequestHead.text(buf, h.methodStart(), h.methodEnd());
      String target = RequestHead.text(buf, h.targetStart(), h.targetEnd());
      String version = "HTTP/1." + h.versionMinor();
      buf.skipBytes(h.headLength());
      String framing;
      String body;
      long bodyBytes = 0;
      switch (h.framing()) {
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
          c.reset(HEAD - h.fieldSectionLength()); // trailers share the head's budget, as in Netty
          buf.skipBytes(c.consume(buf));
          body = c.isDone() ? "ok" : c.isRejected() ? "rejected" : "incomplete";
          bodyBytes = c.dataBytes();
        }
        default -> {
          framing = "none";
          body = "ok";
        }
      }
      out.add(new Verdict("ok", method, target, version, framing,
          body.equals("rejected") ? "rejected: " + c.reason() : body, bodyBytes));
      if (!body.equals("ok")) {
        break;
      }
    }
    return out;
  }

  static List<Verdict> netty(byte[] input) {
    EmbeddedChannel ch = new EmbeddedChannel(new HttpRequestDecoder(
        new HttpDecoderConfig().setMaxInitialLineLength(LINE).setMaxHeaderSize(HEAD)));
    List<Verdict> out = new ArrayList<>();
    try {
      ch.writeInbound(Unpooled.wrappedBuffer(input));
      Object m;
      HttpRequest req = null;
      String framing = null;
      long bodyBytes = 0;
      while ((m = ch.readInbound()) != null) {
        try {
          if (m instanceof HttpRequest r) {
            if (r.decoderResult().isFailure()) {
              out.add(new Verdict("rejected: " + cause(r.decoderResult().cause()), null, null, null, null, "-", 0));
              return out;
            }
            req = r;
            bodyBytes = 0;
            framing = HttpUtil.isTransferEncodingChunked(r) ? "chunked"
                : r.headers().contains(HttpHeaderNames.CONTENT_LENGTH)
                    ? "length " + HttpUtil.getContentLength(r, -1L) : "none";
          }
          if (m instanceof HttpContent content) {
            if (content.decoderResult().isFailure()) {
              out.add(verdict(req, framing, "rejected: " + cause(content.decoderResult().cause()), bodyBytes));
              return out;
            }
            bodyBytes += content.content().readableBytes();
            if (m instanceof LastHttpContent) {
              out.add(verdict(req, framing, "ok", bodyBytes));
              req = null;
            }
          }
        } finally {
          ReferenceCountUtil.release(m);
        }
      }
      if (req != null) {
        out.add(verdict(req, framing, "incomplete", bodyBytes));
      }
      return out.size() > MAX_MESSAGES ? out.subList(0, MAX_MESSAGES) : out;
    } finally {
      ch.finishAndReleaseAll();
    }
  }

  private static Verdict verdict(HttpRequest r, String framing, String body, long bodyBytes) {
    return new Verdict("ok", r.method().name(), r.uri(), r.protocolVersion().text(), framing, body, bodyBytes);
  }

  private static String cause(Throwable t) {
    String msg = t.getMessage() == null ? "" : t.getMessage();
    msg = msg.replaceAll("[0-9]+", "N");
    if (msg.length() > 60) {
      msg = msg.substring(0, 60);
    }
    return t.getClass().getSimpleName() + " " + msg;
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

  /** A request as parts a mutation can change: lines (without ends), their ends, a body. */
  static final class Generated {
    String requestLine;
    final List<String> fields = new ArrayList<>();
    final List<String> ends = new ArrayList<>(); // one per field, then one for the empty line
    String requestLineEnd = "\r\n";
    String leading = "";
    String body = "";
    String after = "";
    final List<String> mutations = new ArrayList<>();

    byte[] bytes() {
      StringBuilder b = new StringBuilder(leading).append(requestLine).append(requestLineEnd);
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

  private static final String[] METHODS = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "M-SEARCH"};
  private static final String[] TARGETS = {"/", "/a/b?c=d&e=%20", "/v1/namespaces/ns/agent-runtimes/rt/invocations/x",
    "/x;p=1", "http://h.example:8080/a?b", "/%7e~!$&'()*+,;=:@"};
  private static final String[] CTL = {"\0", "\u0001", "\u0007", "\u000b", "\u000c", "\u001b", "\u007f", "\r", "\n"};

  static Generated generate(Random rnd) {
    Generated g = new Generated();
    g.ends.add("\r\n");
    String method = METHODS[rnd.nextInt(METHODS.length)];
    String target = method.equals("OPTIONS") && rnd.nextInt(3) == 0 ? "*" : TARGETS[rnd.nextInt(TARGETS.length)];
    boolean http10 = rnd.nextInt(8) == 0;
    g.requestLine = method + " " + target + " HTTP/1." + (http10 ? "0" : "1");
    g.add("Host: " + (rnd.nextBoolean() ? "h.example" : "127.0.0.1:8080"));
    int extra = rnd.nextInt(5);
    for (int i = 0; i < extra; i++) {
      g.add(randomField(rnd));
    }
    int framing = http10 ? rnd.nextInt(2) : rnd.nextInt(3);
    if (framing == 1) {
      String data = "d".repeat(rnd.nextInt(40));
      g.add("Content-Length: " + data.length());
      g.body = data;
    } else if (framing == 2) {
      g.add("Transfer-Encoding: chunked");
      g.body = chunkedBody(rnd);
    }
    if (rnd.nextInt(6) == 0) {
      g.after = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n"; // a pipelined second request
    }
    int count = rnd.nextInt(10) < 3 ? 0 : 1 + rnd.nextInt(2);
    for (int i = 0; i < count; i++) {
      mutate(g, rnd);
    }
    return g;
  }

  private static String randomField(Random rnd) {
    return switch (rnd.nextInt(6)) {
      case 0 -> "Connection: " + (rnd.nextBoolean() ? "keep-alive" : "close");
      case 1 -> "x-agentcube-session-id: s-" + rnd.nextInt(1000);
      case 2 -> "Accept: */*";
      case 3 -> "User-Agent: gen/1.0 (x; y)";
      case 4 -> "Expect: 100-continue";
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
      g.add(randomField(rnd)); // a removed Host left none for the field mutations
    }
    int kind = rnd.nextInt(23);
    String name;
    switch (kind) {
      case 0 -> {
        name = "duplicate Content-Length, other value";
        g.add("Content-Length: " + (g.body.length() + 1 + rnd.nextInt(5)));
      }
      case 1 -> {
        name = "duplicate Content-Length, same value";
        g.add("Content-Length: " + g.body.length());
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
      }
      case 4 -> {
        name = "second Transfer-Encoding field";
        g.add("Transfer-Encoding: " + pick(rnd, "chunked", "gzip", "identity"));
      }
      case 5 -> {
        name = "Content-Length variant";
        String v = pick(rnd, "+" + g.body.length(), "-1", " " + g.body.length() + " ", g.body.length() + "," + g.body.length(),
            "0x" + Integer.toHexString(g.body.length()), "", "99999999999999999999", "9223372036854775808",
            "00" + g.body.length(), g.body.length() + ".0", g.body.length() + " 1");
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
        name = "odd whitespace in the request line";
        g.requestLine = switch (rnd.nextInt(5)) {
          case 0 -> g.requestLine.replaceFirst(" ", "  ");
          case 1 -> g.requestLine + " ";
          case 2 -> g.requestLine.replaceFirst(" ", "\t");
          case 3 -> " " + g.requestLine;
          default -> g.requestLine.replace(" HTTP/", "  HTTP/");
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
        name = "control character in the request line";
        int at = rnd.nextInt(g.requestLine.length());
        g.requestLine = g.requestLine.substring(0, at) + CTL[rnd.nextInt(CTL.length)] + g.requestLine.substring(at);
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
          g.requestLineEnd = end;
        } else {
          g.ends.set(i, end);
        }
      }
      case 13 -> {
        name = "long request line";
        int len = LINE - g.requestLine.length() + rnd.nextInt(5) - 2;
        g.requestLine = g.requestLine.replaceFirst(" (\\S+) ", " /" + "a".repeat(Math.max(0, len)) + " ");
      }
      case 14 -> {
        name = "long field section";
        int used = 0;
        for (String f : g.fields) {
          used += f.length() + 2;
        }
        int len = HEAD - used - 2 - "X-Long: \r\n".length() + rnd.nextInt(7) - 3;
        g.add("X-Long: " + "v".repeat(Math.max(0, len)));
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
        name = rnd.nextBoolean() ? "Host missing" : "Host duplicated";
        int i = g.indexOf("host");
        if (name.equals("Host missing")) {
          if (i >= 0) {
            g.fields.remove(i);
            g.ends.remove(i);
          }
        } else {
          g.add("Host: " + pick(rnd, "h.example", "other.example", ""));
        }
      }
      case 18 -> {
        name = "version variant";
        String v = pick(rnd, "HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "http/1.1", "HTTP/1.10", "HTTP/11", "HTTP/1.1 ",
            "HTTPS/1.1", "HTTP/1", "HTTP/1.1x", "HTTP/3.0");
        g.requestLine = g.requestLine.replaceFirst("HTTP/1\\.[01]$", v);
      }
      case 19 -> {
        name = "invalid token character in a name or method";
        String bad = pick(rnd, "(", ")", "<", "@", ",", ";", "\"", "/", "[", "{", "\u00e9", "=", "?");
        if (rnd.nextBoolean()) {
          g.requestLine = g.requestLine.replaceFirst("^(\\S)", "$1" + bad);
        } else {
          int i = rnd.nextInt(g.fields.size());
          String f = g.fields.get(i);
          int colon = Math.max(1, f.indexOf(':'));
          g.fields.set(i, f.substring(0, colon - 1) + bad + f.substring(colon - 1));
        }
      }
      case 20 -> {
        name = rnd.nextBoolean() ? "fragment in the target" : "empty lines before the request line";
        if (name.startsWith("fragment")) {
          g.requestLine = g.requestLine.replaceFirst(" (\\S+) ", " $1#frag ");
        } else {
          g.leading = pick(rnd, "\r\n", "\r\n\r\n", "\n", "\r");
        }
      }
      case 21 -> {
        name = "Content-Length other than the body (desync attempt)";
        int i = g.indexOf("content-length");
        String v = String.valueOf(Math.max(0, g.body.length() + rnd.nextInt(7) - 3));
        if (i >= 0) {
          g.fields.set(i, "Content-Length: " + v);
        } else {
          g.add("Content-Length: " + v);
          g.body = "d".repeat(rnd.nextInt(10));
        }
        if (g.after.isEmpty()) {
          g.after = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
        }
      }
      default -> {
        name = "random byte flipped in the head";
        String head = g.requestLine;
        int at = rnd.nextInt(head.length());
        g.requestLine = head.substring(0, at) + (char) rnd.nextInt(256) + head.substring(at + 1);
      }
    }
    g.mutations.add(name);
  }
}
