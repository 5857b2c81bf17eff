package io.agentcube.proxy;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What Vert.x's HTTP/1.1 server needs, below its request objects, to keep framing strict (RFC
 * 9112; the head checks themselves are {@link RequestChecks}):
 *
 * <ul>
 *   <li>{@link Decoder}: Vert.x's own request decoder, except that a request with both
 *       {@code Content-Length} and {@code Transfer-Encoding} keeps both headers. Netty drops the
 *       {@code Content-Length} and decodes chunked; keeping it lets {@link RequestChecks} see the
 *       conflict and refuse the request with its connection, as §6.1 asks of a server that is
 *       not sure every hop reads it the same way.
 *   <li>{@link Guard}, after the codec: a request body whose chunked framing is broken gets
 *       {@code 400 BAD_REQUEST} before the connection closes, when its response has not started
 *       (Vert.x would close without a word); and {@code Connection: close} among other tokens
 *       ({@code close, x-trace}) closes the connection after the response as a lone
 *       {@code close} does (Vert.x compares the whole value); and a request line with a
 *       version other than {@code HTTP/1.1} or {@code HTTP/1.0} gets a JSON 400 (Vert.x sends
 *       a bare 501).
 * </ul>
 *
 * <p>Hand-written because Vert.x has no option for either. It names a Vert.x internal class
 * ({@code VertxHttpRequestDecoder}); a Vert.x upgrade that changes it fails
 * {@code ProtocolStrictnessIT}. The relay of issue 13 replaces all of this.
 */
final class StrictFraming {

  private static final String DECODER = ClientConnections.DECODER;
  private static final String ENCODER = "httpEncoder";

  private StrictFraming() {}

  /** Installs both on a new HTTP/1.1 connection's pipeline. */
  static void install(ChannelPipeline pipeline, HttpServerOptions options) {
    if (pipeline.get(DECODER) == null || pipeline.get(ENCODER) == null) {
      return; // not an HTTP/1.1 pipeline as Vert.x 5 builds it
    }
    pipeline.replace(DECODER, DECODER, new Decoder(options));
    pipeline.addAfter(ENCODER, "agentcubeFraming", new Guard());
  }

  static final class Decoder extends VertxHttpRequestDecoder {
    Decoder(HttpServerOptions options) {
      super(options);
    }

    @Override
    protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
      List<String> lengths = message.headers().getAll(HttpHeaderNames.CONTENT_LENGTH);
      super.handleTransferEncodingChunkedWithContentLength(message); // decodes chunked
      message.headers().add(HttpHeaderNames.CONTENT_LENGTH, lengths); // for RequestChecks to refuse
    }
  }

  /** Confined to its connection's event loop. */
  static final class Guard extends ChannelDuplexHandler {
    private static final byte[] BAD_CHUNK = rawError(AgentCubeException.stackless(ErrorCode.BAD_REQUEST,
        "invalid chunked framing in the request body"));

    private static final byte[] BAD_VERSION = rawError(AgentCubeException.stackless(ErrorCode.BAD_REQUEST,
        "unsupported HTTP version: HTTP/1.1 and HTTP/1.0 are served"));

    private boolean refused;
    /** Request heads read and final response heads written on this connection. */
    private long requests;
    private long responses;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (refused) {
        ReferenceCountUtil.release(msg); // the connection is closing: nothing more is read
        return;
      }
      if (msg instanceof HttpRequest r) {
        requests++;
        if (r.decoderResult().isSuccess() && r.protocolVersion() != HttpVersion.HTTP_1_1
            && r.protocolVersion() != HttpVersion.HTTP_1_0) {
          // e.g. "http/1.1" (versions are case-sensitive) or "HTTP/1.2": Vert.x would answer a
          // bare 501 of its own.
          ReferenceCountUtil.release(r);
          refuse(ctx, BAD_VERSION);
          return;
        }
        closeAmongOtherTokens(r);
      }
      if (msg instanceof HttpContent c && c.decoderResult().isFailure()) {
        ReferenceCountUtil.release(c);
        if (responses < requests) {
          refuse(ctx, BAD_CHUNK);
        } else {
          ctx.close(); // a response is under way: nothing can be said in it any more
        }
        return;
      }
      ctx.fireChannelRead(msg);
    }

    /** Writes a whole error response and closes; what the client sends meanwhile is dropped. */
    private void refuse(ChannelHandlerContext ctx, byte[] response) {
      refused = true;
      // Raw bytes, written from below the response encoder (which takes response objects only).
      ChannelHandlerContext below = ctx.pipeline().context(DECODER);
      (below != null ? below : ctx).writeAndFlush(Unpooled.wrappedBuffer(response))
          .addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (msg instanceof HttpResponse r && (r.status().code() >= 200 || r.status().code() == 101)) {
        responses++;
      }
      ctx.write(msg, promise);
    }

    private static void closeAmongOtherTokens(HttpRequest r) {
      String value = r.headers().get(HttpHeaderNames.CONNECTION);
      if (value == null || value.equalsIgnoreCase("close")) {
        return;
      }
      for (String token : r.headers().getAll(HttpHeaderNames.CONNECTION)) {
        for (String t : token.split(",")) {
          if (t.strip().equalsIgnoreCase("close")) {
            // Vert.x looks for a value equal to "close"; the other tokens stay for HopHeaders.
            r.headers().add(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            return;
          }
        }
      }
    }

    private static byte[] rawError(AgentCubeException e) {
      byte[] body = ApiErrors.body(e).getBytes();
      String head = "HTTP/1.1 " + e.code().status() + " Bad Request\r\ncontent-type: application/json\r\n"
          + "content-length: " + body.length + "\r\nconnection: close\r\n\r\n";
      byte[] h = head.getBytes(StandardCharsets.US_ASCII);
      byte[] out = new byte[h.length + body.length];
      System.arraycopy(h, 0, out, 0, h.length);
      System.arraycopy(body, 0, out, h.length, body.length);
      return out;
    }
  }
}
