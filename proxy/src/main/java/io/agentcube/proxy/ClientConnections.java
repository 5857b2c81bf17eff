package io.agentcube.proxy;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.proxy.config.ConfigException;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpConnection;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Limits on client connections, enforced at the Netty level by handlers installed from the
 * {@link io.vertx.core.http.HttpServer#connectionHandler HttpServer's connection hook}:
 *
 * <ul>
 *   <li><b>Connection cap</b>: at most {@link #max()} open client connections. One beyond it is
 *       answered {@code 503 TOO_MANY_CONNECTIONS} to its first request head, then closed; it never
 *       reaches Vert.x's request handling.</li>
 *   <li><b>Header-read timeout</b>: once the first byte of a request head has arrived (the
 *       connection's first byte, or the first byte after the previous request ended), the whole
 *       head must be decoded within {@code headerReadTimeout}, else the connection is closed. Vert.x
 *       has only idle timeouts, which every byte restarts, so a client sending one byte per second
 *       would hold its connection forever (slowloris): this timer is not restarted by bytes.</li>
 * </ul>
 *
 * <p>The header-read timeout is the relay's ({@link RelayConnection}), which sees every head
 * first; this class installs the relay on every connection under the cap ({@link #relay}).
 *
 * <p><b>Drain</b> ({@link #drain}): from then on every final response head written on an HTTP
 * connection (by Vert.x, or by the relay, which asks {@link #draining}) carries {@code Connection: close}, and the connection is shut down after that response
 * (Vert.x's {@link HttpConnection#shutdown graceful connection shutdown}: closed once the response in
 * progress has ended, or at the drain's deadline). Keep-alive clients thus learn to reconnect
 * elsewhere with their next response, and no idle connection is closed under a request that is
 * on its way; the idle ones left are the listener's shutdown's ({@link Drain}). A small outbound
 * handler just before Vert.x's own sets the header, on connections open when the drain begins and
 * on every connection accepted after.
 *
 * <p>The cap leaves file descriptors for everything else ({@link #cap}): runtime reloads, sandbox
 * starts and stops, upstream connections.
 *
 * <p>Thread-safe: the count is shared by every event loop; each connection's handlers run on its
 * own event loop.
 */
final class ClientConnections implements Handler<HttpConnection> {

  private static final Logger log = LoggerFactory.getLogger(ClientConnections.class);
  static final String DECODER = "httpDecoder"; // Vert.x's name for its request decoder
  static final String VERTX_HANDLER = "handler"; // Vert.x's connection handler, last in the pipeline
  private static final String ENCODER = "httpEncoder"; // Vert.x's response encoder

  /**
   * Connections over the cap held open to be told {@code 503} (until their first head or the
   * header-read timeout); more than that are closed at once, so a flood costs at most this many
   * descriptors of {@code server.fdReserve} beyond the cap.
   */
  static final int REFUSALS_HELD = 64;

  private final int max;
  private final long headerReadTimeoutMs;
  private final AtomicInteger open = new AtomicInteger();
  /** Accepted (not refused) connections, for the drain; removed when their channel closes. */
  private final Set<HttpConnection> accepted = ConcurrentHashMap.newKeySet();
  /** {@link System#nanoTime} by which draining connections must be closed; 0 while not draining. */
  private volatile long drainDeadline;
  private final byte[] refusal;
  private volatile Relay relay;

  /**
   * @param max open client connections at most
   * @param headerReadTimeoutMs 0 = no header-read timeout
   */
  ClientConnections(int max, long headerReadTimeoutMs) {
    this.max = max;
    this.headerReadTimeoutMs = headerReadTimeoutMs;
    this.refusal = ApiErrors.body(AgentCubeException.stackless(ErrorCode.TOO_MANY_CONNECTIONS,
        "too many open connections (server.maxConnections " + max + "); try again later")).getBytes();
  }

  /**
   * The connection cap: {@code maxConnections}, or when 0 derived from the file-descriptor limit.
   * Every proxied client connection may hold one upstream connection to its sandbox as well, so
   * the derived cap is {@code (fdLimit - fdReserve) / 2}; the reserve is for everything else the
   * proxy opens (runtime files, sandbox processes and their pipes, the sandbox host, the
   * Kubernetes API, JVM files).
   *
   * @param fdLimit the process's file-descriptor limit, or a negative number when unknown
   * @throws ConfigException when the limit leaves no room, or {@code maxConnections} exceeds it
   */
  static int cap(int maxConnections, int fdReserve, long fdLimit) {
    if (fdLimit < 0) {
      return maxConnections == 0 ? 10_000 : maxConnections;
    }
    long room = (fdLimit - fdReserve) / 2;
    if (room < 1) {
      throw new ConfigException("server.fdReserve: " + fdReserve + " leaves no file descriptors for"
          + " client connections under the limit of " + fdLimit + " (ulimit -n); raise the limit or"
          + " lower server.fdReserve");
    }
    if (maxConnections > room) {
      throw new ConfigException("server.maxConnections: " + maxConnections + " is more than the"
          + " file-descriptor limit allows: (" + fdLimit + " - server.fdReserve " + fdReserve
          + ") / 2 = " + room + "; raise the limit (ulimit -n), lower server.fdReserve, or set"
          + " server.maxConnections to at most " + room);
    }
    return maxConnections == 0 ? (int) Math.min(room, Integer.MAX_VALUE) : maxConnections;
  }

  /** The process's file-descriptor limit, or -1 where the JVM cannot tell. */
  static long fdLimit() {
    if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
      return unix.getMaxFileDescriptorCount();
    }
    return -1;
  }

  int max() {
    return max;
  }

  /** Every accepted connection from now on gets {@code relay} in front of Vert.x's decoder. */
  void relay(Relay relay) {
    this.relay = relay;
  }

  /** Whether the drain has begun: every response then closes its connection. */
  boolean draining() {
    return drainDeadline != 0;
  }

  /** Client connections open now. */
  int open() {
    return open.get();
  }

  /** Called by Vert.x on the connection's event loop, before it reads any request. */
  @Override
  public void handle(HttpConnection connection) {
    Channel channel = ((io.vertx.core.net.impl.ConnectionBase) connection).channel();
    int n = open.incrementAndGet();
    channel.closeFuture().addListener(f -> open.decrementAndGet());
    ChannelPipeline pipeline = channel.pipeline();
    if (n > max + REFUSALS_HELD) {
      // A flood: holding each one to answer it 503 would spend the descriptors the cap keeps
      // for everything else. Closed at once, unanswered.
      log.debug("connection closed at once open={} max={} remote={}", n, max, channel.remoteAddress());
      channel.close();
      return;
    }
    if (n > max) {
      log.debug("connection refused open={} max={} remote={}", n, max, channel.remoteAddress());
      pipeline.addBefore(VERTX_HANDLER, "agentcubeRefuse", new Refusal());
      return;
    }
    Relay r = relay;
    if (r != null) {
      // The relay parses every head (strictly) and times it (the header-read timeout): see Relay.
      r.install(pipeline, ((io.vertx.core.net.impl.ConnectionBase) connection).context());
    }
    accepted.add(connection);
    channel.closeFuture().addListener(f -> accepted.remove(connection));
    // Read after the add: either this sees the drain, or the drain's sweep sees this connection.
    long deadline = drainDeadline;
    if (deadline != 0) {
      closeAfterResponse(channel, connection, deadline);
    }
  }

  /**
   * Starts the drain (see the class comment): every HTTP connection, open now or accepted later,
   * answers its next response with {@code Connection: close} and is closed after it, at the latest
   * {@code timeoutMs} from now. Idempotent: the first deadline holds.
   *
   * @return completes once every connection open now has been marked on its event loop: a request
   *     read after that is answered with {@code Connection: close}
   */
  CompletableFuture<Void> drain(long timeoutMs) {
    synchronized (this) {
      if (drainDeadline != 0) {
        return CompletableFuture.completedFuture(null);
      }
      drainDeadline = Math.max(1, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs));
    }
    long deadline = drainDeadline;
    List<CompletableFuture<Void>> marked = new ArrayList<>();
    for (HttpConnection c : accepted) {
      Channel channel = ((io.vertx.core.net.impl.ConnectionBase) c).channel();
      CompletableFuture<Void> done = new CompletableFuture<>();
      marked.add(done);
      try {
        channel.eventLoop().execute(() -> {
          closeAfterResponse(channel, c, deadline);
          done.complete(null);
        });
      } catch (RejectedExecutionException e) {
        done.complete(null); // the loop is shutting down: the connection with it
      }
    }
    return CompletableFuture.allOf(marked.toArray(CompletableFuture[]::new));
  }

  /** Closes every accepted connection now (the drain's timeout). @return how many were open */
  int closeAll() {
    int n = 0;
    for (HttpConnection c : accepted) {
      Channel channel = ((io.vertx.core.net.impl.ConnectionBase) c).channel();
      if (channel.isOpen()) {
        n++;
        RelayConnection r = channel.pipeline().get(RelayConnection.class);
        if (r != null) {
          r.forceClose(); // even with a relay exchange in progress
        } else {
          channel.close();
        }
      }
    }
    return n;
  }

  /** On the channel's event loop: marks an HTTP connection for the drain (once). */
  private static void closeAfterResponse(Channel channel, HttpConnection connection, long deadline) {
    ChannelPipeline pipeline = channel.pipeline();
    if (!channel.isActive() || pipeline.get(ENCODER) == null || pipeline.get(VERTX_HANDLER) == null
        || pipeline.get(CloseAfterResponse.NAME) != null) {
      return; // closed, a tunnel now (no longer HTTP), or marked already
    }
    pipeline.addBefore(VERTX_HANDLER, CloseAfterResponse.NAME, new CloseAfterResponse(connection, deadline));
  }

  /**
   * Sets {@code Connection: close} on every final response head Vert.x writes, and has Vert.x shut
   * the connection down after the first: it closes once no response is in progress (a request
   * pipelined behind it is dropped, as the header announced), or at the deadline.
   */
  private static final class CloseAfterResponse extends ChannelOutboundHandlerAdapter {
    static final String NAME = "agentcubeDrain";
    private final HttpConnection connection;
    private final long deadline;
    private boolean shutdown;

    CloseAfterResponse(HttpConnection connection, long deadline) {
      this.connection = connection;
      this.deadline = deadline;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      // 1xx heads (100 Continue, 101 Switching Protocols) are not the final response.
      if (msg instanceof HttpResponse head && head.status().code() >= 200) {
        head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        if (!shutdown) {
          shutdown = true;
          long ms = Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
          // After this write: Vert.x's shutdown then waits for the response in progress to end.
          ctx.executor().execute(() -> connection.shutdown(ms, TimeUnit.MILLISECONDS));
        }
      }
      ctx.write(msg, promise);
    }
  }

  /**
   * A connection over the cap: its first request head gets {@code 503 TOO_MANY_CONNECTIONS} and
   * {@code Connection: close}; nothing reaches Vert.x. Closed anyway after the header-read timeout
   * (or 10 s) if no head arrives.
   */
  private final class Refusal extends ChannelInboundHandlerAdapter {
    private boolean answered;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      long ms = headerReadTimeoutMs > 0 ? headerReadTimeoutMs : 10_000;
      ctx.executor().schedule(() -> ctx.channel().close(), ms, TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      boolean head = msg instanceof HttpRequest;
      ReferenceCountUtil.release(msg);
      if (head && !answered) {
        answered = true;
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
            HttpResponseStatus.SERVICE_UNAVAILABLE, Unpooled.wrappedBuffer(refusal));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
            .setInt(HttpHeaderNames.CONTENT_LENGTH, refusal.length)
            .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
            .set(HttpHeaderNames.RETRY_AFTER, "1");
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
      }
    }
  }
}
