package io.agentcube.proxy;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.proxy.auth.Authenticator;
import io.agentcube.proxy.logs.AccessLog;
import io.agentcube.proxy.metrics.ProxyMetrics;
import io.agentcube.proxy.tracing.Tracing;
import io.agentcube.runtime.RuntimeCatalog;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.FastThreadLocal;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.SocketAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The data plane's relay, shared by every client connection: what a {@link RelayConnection}
 * needs from the rest of the proxy, the idle upstream connections of each event loop, and the
 * raw error responses it writes.
 *
 * <p><b>Where it sits.</b> The relay is the first HTTP handler of every client connection Vert.x's
 * HTTP server accepts (installed by {@link ClientConnections}, just before Vert.x's request
 * decoder), so Vert.x keeps the listener, the transport (epoll or NIO), accept, the connection
 * cap, idle timeouts and the graceful shutdown, while the bytes of every request pass the relay
 * first. It parses each head in place ({@link io.agentcube.proxy.relay.RequestHead}); an
 * invocation it serves itself, below Vert.x's HTTP layer; anything else (control plane, health,
 * metrics) it passes on, byte for byte, to Vert.x's decoder behind it, which serves it with the
 * router as before. See docs/design-notes.md, "The relay".
 *
 * <p><b>Upstream connections</b> are plain Netty channels on the client connection's own event
 * loop (so a request and its forward never change threads), made with Vert.x's transport. A
 * client connection keeps its upstream connection between requests (affinity); when it closes,
 * the upstream connection goes back to its event loop's idle pool, at most {@code
 * upstream.maxConnectionsPerSandbox} per sandbox port per loop, where the next client connection
 * to that sandbox finds it.
 *
 * <p>Thread-safe: the pools are per event loop ({@link FastThreadLocal}), everything else is final.
 */
final class Relay {

  static final String SESSION_HEADER = "x-agentcube-session-id";
  static final String HANDLER = "agentcubeRelay";
  static final String WATCH = "agentcubeRelayWatch";
  private static final String IDLE = "idle"; // Vert.x's IdleStateHandler
  /**
   * Largest read from a sandbox connection. Netty's adaptive default stops at 64 KiB; a large
   * download then costs a read, a write and a writability turn per 64 KiB. At 256 KiB a 1 GiB
   * download went from 0.54x to 0.77x of direct throughput (1 MiB was no better). Reads start at
   * 2 KiB and grow only while they fill, so small answers are read as before; a read buffer is
   * released once written, so a connection holds at most one such buffer beyond its write queue.
   */
  static final int MAX_UPSTREAM_READ = 256 * 1024;

  final RuntimeCatalog runtimes;
  final SessionRouter sessions;
  final Authenticator auth;
  final ProxyMetrics metrics;
  /** Null when per-request metrics are off. */
  final ProxyMetrics requestMetrics;
  /** Null unless log.access. */
  final AccessLog accessLog;
  /** Null unless tracing.enabled. */
  final Tracing tracing;
  /** The trace fields (lower case) a client's request loses when tracing is on: the forward has its own. */
  final byte[][] traceFields;
  final ClientConnections connections;
  final int maxRequestLine;
  final int maxHeaderSize;
  final long headerReadTimeoutMs;
  final long upstreamIdleTimeoutMs;
  final long upstreamIdleTimeoutNanos;
  private final int maxIdlePerSandbox;
  /** Upstream connections pinned to a client connection now (tests, and the affinity's size). */
  final java.util.concurrent.atomic.AtomicInteger pinned = new java.util.concurrent.atomic.AtomicInteger();
  private final Bootstrap bootstrap;
  private final FastThreadLocal<Map<SocketAddress, ArrayDeque<RelayUpstream>>> idle = new FastThreadLocal<>() {
    @Override
    protected Map<SocketAddress, ArrayDeque<RelayUpstream>> initialValue() {
      return new HashMap<>();
    }
  };

  Relay(RuntimeCatalog runtimes, SessionRouter sessions, Authenticator auth, ProxyMetrics metrics,
      ProxyMetrics requestMetrics, AccessLog accessLog, Tracing tracing, ClientConnections connections,
      ChannelFactory<? extends Channel> channels, int maxRequestLine, int maxHeaderSize,
      long headerReadTimeoutMs, long upstreamIdleTimeoutMs, long connectTimeoutMs, int maxIdlePerSandbox) {
    this.runtimes = runtimes;
    this.sessions = sessions;
    this.auth = auth;
    this.metrics = metrics;
    this.requestMetrics = requestMetrics;
    this.accessLog = accessLog;
    this.tracing = tracing;
    this.traceFields = tracing == null ? new byte[0][]
        : tracing.fields().stream().map(f -> f.toLowerCase(java.util.Locale.ROOT).getBytes(StandardCharsets.US_ASCII))
            .toArray(byte[][]::new);
    this.connections = connections;
    this.maxRequestLine = maxRequestLine;
    this.maxHeaderSize = maxHeaderSize;
    this.headerReadTimeoutMs = headerReadTimeoutMs;
    this.upstreamIdleTimeoutMs = upstreamIdleTimeoutMs;
    this.upstreamIdleTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(upstreamIdleTimeoutMs);
    this.maxIdlePerSandbox = maxIdlePerSandbox;
    this.bootstrap = new Bootstrap()
        .channelFactory(channels)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.RECVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(64, 2048, MAX_UPSTREAM_READ))
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectTimeoutMs));
  }

  /** Puts the relay in front of Vert.x's decoder on a new client connection's pipeline. */
  void install(ChannelPipeline pipeline, ContextInternal context) {
    RelayConnection connection = new RelayConnection(this, context);
    pipeline.addBefore(ClientConnections.DECODER, HANDLER, connection);
    // Vert.x's idle timeout (server.clientIdleTimeout) sits behind its decoder, where it would see
    // no byte of the relay's traffic: it moves in front of the relay, to see every byte both ways.
    // (A handler is added once: a new one with the same times takes its place.)
    // An all-idle timeout (what server.clientIdleTimeout sets) becomes an IdleTimeout, which costs
    // no promise per write; reader or writer idle times (not set by this proxy) keep Netty's handler.
    if (pipeline.get(IDLE) instanceof IdleStateHandler idle) {
      pipeline.remove(idle);
      pipeline.addBefore(HANDLER, IDLE,
          idle.getReaderIdleTimeInMillis() == 0 && idle.getWriterIdleTimeInMillis() == 0
              ? new IdleTimeout(idle.getAllIdleTimeInMillis())
              : new IdleStateHandler(false, idle.getReaderIdleTimeInMillis(), idle.getWriterIdleTimeInMillis(),
                  idle.getAllIdleTimeInMillis(), TimeUnit.MILLISECONDS));
    }
    pipeline.addBefore(ClientConnections.VERTX_HANDLER, WATCH, connection.vertxWatch());
  }

  /**
   * An idle connection to {@code address} from this event loop's pool, now owned by {@code owner};
   * null when there is none.
   */
  RelayUpstream takeIdle(SocketAddress address, RelayConnection owner) {
    ArrayDeque<RelayUpstream> q = idle.get().get(address);
    RelayUpstream up;
    while (q != null && (up = q.pollLast()) != null) {
      if (up.channel.isActive()) {
        up.own(owner);
        return up;
      }
    }
    return null;
  }

  /** Puts a reusable upstream connection back in its loop's pool, or closes it when that is full. */
  void giveBack(RelayUpstream up) {
    up.disown();
    if (!up.channel.isActive()) {
      return;
    }
    ArrayDeque<RelayUpstream> q = idle.get().computeIfAbsent(up.address, a -> new ArrayDeque<>(4));
    if (q.size() >= maxIdlePerSandbox) {
      up.channel.close();
      return;
    }
    up.channel.config().setAutoRead(true); // an idle connection that speaks is closed
    q.addLast(up);
  }

  /** An idle upstream connection closed: out of its pool. On its event loop. */
  void forget(RelayUpstream up) {
    Map<SocketAddress, ArrayDeque<RelayUpstream>> pools = idle.get();
    ArrayDeque<RelayUpstream> q = pools.get(up.address);
    if (q != null && q.remove(up) && q.isEmpty()) {
      pools.remove(up.address);
    }
  }

  /** Opens a connection to {@code address} on {@code loop}, owned by {@code owner} from the start. */
  ChannelFuture connect(EventLoop loop, SocketAddress address, RelayConnection owner, RelayUpstream up) {
    up.own(owner);
    long idleMs = upstreamIdleTimeoutMs;
    ChannelFuture f = bootstrap.clone(loop).handler(new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel ch) {
        if (idleMs > 0) {
          ch.pipeline().addLast(new IdleTimeout(idleMs));
        }
        ch.pipeline().addLast(up);
      }
    }).connect(new InetSocketAddress(address.host(), address.port()));
    up.channel = f.channel();
    return f;
  }

  // ---- raw responses ----

  static final byte[] CRLF_BYTES = {'\r', '\n'};

  /**
   * A whole JSON error response, as {@link ApiErrors#send} writes it through Vert.x: status,
   * {@code content-type}, {@code content-length}, {@code retry-after} and {@code www-authenticate}
   * when the error has them, the session header when {@code sessionId} is not null, and
   * {@code connection: close} when {@code close}.
   */
  static ByteBuf error(ByteBufAllocator alloc, AgentCubeException e, String sessionId, int versionMinor,
      boolean close) {
    byte[] body = ApiErrors.body(e).getBytes();
    StringBuilder head = new StringBuilder(160);
    head.append(versionMinor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ").append(e.status()).append(' ')
        .append(HttpResponseStatus.valueOf(e.status()).reasonPhrase())
        .append("\r\ncontent-type: application/json\r\ncontent-length: ").append(body.length).append("\r\n");
    if (e.code() == ErrorCode.UNAUTHENTICATED) {
      head.append("www-authenticate: Bearer realm=\"agentcube\"\r\n");
    }
    if (e.retryAfter() != null) {
      head.append("retry-after: ").append(Math.max(1, e.retryAfter().toSeconds())).append("\r\n");
    }
    if (sessionId != null) {
      head.append(Relay.SESSION_HEADER).append(": ").append(sessionId).append("\r\n");
    }
    if (close) {
      head.append("connection: close\r\n");
    } else if (versionMinor == 0) {
      head.append("connection: keep-alive\r\n");
    }
    head.append("\r\n");
    ByteBuf out = alloc.directBuffer(head.length() + body.length);
    out.writeCharSequence(head, StandardCharsets.ISO_8859_1);
    out.writeBytes(body);
    return out;
  }

  /** The error a head the relay's parser refused is answered with (the connection closes after). */
  static AgentCubeException refusal(int status, String reason) {
    ErrorCode code = switch (status) {
      case 414 -> ErrorCode.URI_TOO_LONG;
      case 431 -> ErrorCode.HEADERS_TOO_LARGE;
      case 501 -> ErrorCode.NOT_IMPLEMENTED;
      case 505 -> ErrorCode.HTTP_VERSION_NOT_SUPPORTED;
      default -> ErrorCode.BAD_REQUEST;
    };
    return AgentCubeException.stackless(code, reason);
  }

  /**
   * Appends {@code len} bytes of {@code src} from {@code index} to {@code dst}. {@code
   * src.getBytes} into a direct buffer copies memory to memory; {@code dst.writeBytes(src, ...)}
   * would make a {@code ByteBuffer} slice of {@code dst} per call (the largest allocation left in
   * the T1 profile).
   */
  static void append(ByteBuf dst, ByteBuf src, int index, int len) {
    dst.ensureWritable(len);
    int w = dst.writerIndex();
    src.getBytes(index, dst, w, len);
    dst.writerIndex(w + len);
  }

  static void crlf(ByteBuf out) {
    out.writeShort(0x0d0a);
  }
}
