package io.agentcube.proxy;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.proxy.auth.Caller;
import io.agentcube.proxy.metrics.Route;
import io.agentcube.proxy.tracing.Tracing;
import io.agentcube.proxy.relay.ChunkedDecoderState;
import io.agentcube.proxy.relay.RequestHead;
import io.agentcube.proxy.relay.RequestHead.Field;
import io.agentcube.proxy.relay.RequestHead.Framing;
import io.agentcube.proxy.relay.ResponseHead;
import io.agentcube.runtime.AuthMode;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeRef;
import io.agentcube.sandbox.Sandbox;
import io.agentcube.session.Session;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundInvoker;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import io.vertx.core.Future;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.net.SocketAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection as the relay sees it ({@link Relay}): a Netty handler in front of Vert.x's
 * request decoder, confined to the connection's event loop. It holds at most one exchange at a
 * time, so the exchange's state lives in its fields and nothing is allocated per request but the
 * strings routing needs (path, session id) and the buffers that carry bytes.
 *
 * <h2>A request, in order</h2>
 * <ol>
 *   <li><b>Head.</b> Bytes gather in {@link #in} until {@link RequestHead} has the whole head (the
 *       header-read timeout runs from its first byte). A refused head is answered with its JSON
 *       error and the connection closes.</li>
 *   <li><b>Not an invocation</b> ({@link InvocationTarget#parse} says null): head and body are
 *       passed, as they came, to Vert.x's decoder behind this handler; the body's end is found
 *       by its framing, so the next head is the relay's again. An invocation behind a request
 *       Vert.x still answers waits for that answer ({@link #vertxWatch}), so responses keep the
 *       order of requests.</li>
 *   <li><b>Invocation.</b> Reading stops while the session is resolved (authentication, the
 *       session header's session, or a new session: warm claim or cold start), exactly as
 *       {@link InvocationHandler} documents; then the upstream connection: the one this client
 *       connection used last if it goes to the same sandbox port, else an idle one of this event
 *       loop's pool, else a new one.</li>
 *   <li><b>Forward.</b> The rewritten request line, {@code Host}, the client's field lines minus
 *       hop-by-hop ones (copied as bytes, in runs), the proxy's fields ({@code X-Forwarded-*},
 *       the session header, PicoD's {@code Authorization}), then the body by its framing: a
 *       length counted, chunked framing checked as it passes ({@link ChunkedDecoderState}).
 *       {@code Expect: 100-continue} is answered here, once the sandbox is known.</li>
 *   <li><b>Answer.</b> The sandbox's head ({@link ResponseHead}), 1xx heads other than 101
 *       dropped; its status line and fields minus hop-by-hop ones, the session header, and
 *       the framing the client can read: the sandbox's length, chunked passed through (or its
 *       framing removed for an HTTP/1.0 client, whose body then ends with the connection), a
 *       body delimited by close re-chunked for HTTP/1.1 clients. {@code 101} joins the two
 *       connections into a byte tunnel.</li>
 *   <li><b>End.</b> The exchange's metric, its execution record and the session's in-flight mark
 *       end once; the upstream connection stays with this client connection when both sides
 *       framed their messages and neither asked to close.</li>
 * </ol>
 *
 * <p>Back-pressure both ways: a side that cannot take more stops the other side's reading until
 * it can (channel writability). Writes are flushed once per read batch.
 *
 * <p>Failures before the answer's head are the data plane's one failure path (the mapping of
 * {@link ApiErrors#dataPlane}, as {@link Forwarder#fail} applies it); after it, the client's
 * connection is closed, so a cut body is never passed off as whole.
 */
final class RelayConnection extends ChannelDuplexHandler {

  private static final Logger log = LoggerFactory.getLogger(RelayConnection.class);

  // request side
  private static final int HEAD = 0;
  private static final int TO_VERTX = 1; // a control-plane body passing to Vert.x
  private static final int WAIT_VERTX = 2; // an invocation's head waits for Vert.x's answers
  private static final int ROUTING = 3; // reading stopped while the session is resolved
  private static final int UPLOAD = 4;
  private static final int DISCARD = 5; // the rest of a body whose exchange was answered
  private static final int SENT = 6; // the whole request is forwarded; waiting for the answer
  private static final int TUNNEL = 7;
  private static final int CLOSED = 8;

  // response side
  private static final int R_NONE = 0;
  private static final int R_HEAD = 1;
  private static final int R_LENGTH = 2;
  private static final int R_CHUNKED = 3; // passed through
  private static final int R_DECHUNK = 4; // framing removed (HTTP/1.0 client)
  private static final int R_CLOSE_CHUNK = 5; // until close, re-chunked
  private static final int R_CLOSE_RAW = 6; // until close, then close the client
  private static final int R_DONE = 7;

  /** Bytes of body at most that {@link #respond} copies into the head's buffer. */
  private static final int INLINE_BODY = 2048;
  private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] HTTP11 = "HTTP/1.1 ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] HTTP10 = "HTTP/1.0 ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] UPSTREAM_VERSION = " HTTP/1.1\r\nhost: ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] SESSION = (Relay.SESSION_HEADER + ": ").getBytes(StandardCharsets.US_ASCII);
  private static final byte[] AUTHORIZATION = "authorization: ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] XFF = "x-forwarded-for: ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] XFH = "x-forwarded-host: ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] XFP = "x-forwarded-proto: http\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CHUNKED = "transfer-encoding: chunked\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] UPGRADE = "connection: upgrade\r\nupgrade: ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CLOSE = "connection: close\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] KEEP_ALIVE = "connection: keep-alive\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] TOKEN_CLOSE = "close".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] TOKEN_KEEP_ALIVE = "keep-alive".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] TOKEN_UPGRADE = "upgrade".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] WEBSOCKET = "websocket".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CONTINUE_100 = "100-continue".getBytes(StandardCharsets.US_ASCII);
  private static final Field[] DROPPED = {Field.CONNECTION, Field.KEEP_ALIVE, Field.PROXY_CONNECTION,
      Field.PROXY_AUTHENTICATE, Field.PROXY_AUTHORIZATION, Field.TE, Field.TRAILER,
      Field.TRANSFER_ENCODING, Field.UPGRADE, Field.HOST, Field.EXPECT, Field.SESSION_ID,
      Field.X_FORWARDED_FOR};

  private final Relay relay;
  private final ContextInternal context;
  private final RequestHead head;
  private final ResponseHead answer;
  private final ChunkedDecoderState requestChunks;
  private final ChunkedDecoderState responseChunks;
  private ChannelHandlerContext ctx;
  private String remote; // the client's address, for X-Forwarded-For
  private byte[] lastHost; // the Host value last found valid on this connection

  /** Client bytes not yet passed on, from the first byte of the current head. */
  private ByteBuf in;
  /** Sandbox bytes not yet passed on. */
  private ByteBuf out;
  private int state = HEAD;
  private int responseState = R_NONE;
  /** Requests passed to Vert.x whose responses have not ended. */
  private int vertxInFlight;
  private boolean closeAfterVertx;
  private ScheduledFuture<?> headTimer;
  private ChannelPromise deferredClose;
  private volatile boolean forced;
  private boolean flushUpstream;
  /** In {@link #channelRead}: Vert.x gets its read-complete from the socket's. */
  private boolean reading;
  /** Bytes went to Vert.x since its last read-complete. */
  private boolean vertxFed;
  /** A request of this connection has gone to Vert.x: its handlers see every read batch end. */
  private boolean vertxUsed;
  private boolean flushClient;

  // ---- the exchange in progress (one at a time) ----
  private boolean active;
  private long startNanos;
  private Route route;
  private boolean execution;
  private Session<Sandbox> session;
  private int status;
  private int versionMinor;
  private boolean keepAlive;
  private boolean headRequest;
  private boolean webSocket;
  private boolean expectContinue;
  private Framing framing;
  private long bodyLeft;
  private long responseLeft;
  private boolean closeAfter;
  private boolean upstreamReusable;
  private RelayUpstream upstream;
  private long responseBytes;
  /** The current exchange has written to {@link #upstream}. */
  private boolean upstreamInUse;
  private String logMethod;
  private String logRequestId;
  private String logSession;
  private String logRuntime;
  /** The exchange's spans; null when tracing is off. */
  private Tracing.Relayed trace;

  RelayConnection(Relay relay, ContextInternal context) {
    this.relay = relay;
    this.context = context;
    this.head = new RequestHead(relay.maxRequestLine, relay.maxHeaderSize);
    this.answer = new ResponseHead(relay.maxRequestLine, relay.maxHeaderSize);
    this.requestChunks = new ChunkedDecoderState(relay.maxRequestLine, relay.maxHeaderSize);
    this.responseChunks = new ChunkedDecoderState(relay.maxRequestLine, relay.maxHeaderSize);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    if (ctx.channel().remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null) {
      remote = a.getAddress().getHostAddress();
    }
  }

  // ---- client side ----

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf buf)) {
      vertxUsed = true;
      ctx.fireChannelRead(msg);
      return;
    }
    if (state == CLOSED) {
      buf.release();
      return;
    }
    if (state == TUNNEL) {
      toUpstream(buf);
      pushBack(upstream.channel.isWritable());
      return;
    }
    in = in == null ? buf : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), in, buf);
    reading = true;
    drive();
    reading = false;
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    flush();
    vertxFed = false;
    if (vertxUsed) {
      // Behind the relay only Vert.x's handlers read: until a request went to Vert.x on this
      // connection there is nothing for them to complete (and it costs a pipeline walk per batch).
      ctx.fireChannelReadComplete();
    }
  }

  /** A write to the client (see {@link #write}); failures close the connection (exceptionCaught). */
  private void toClient(ByteBuf b) {
    flushClient = write(ctx, ctx.channel(), b);
  }

  /** A write to the sandbox (see {@link #write}). */
  private void toUpstream(ByteBuf b) {
    flushUpstream = write(upstream.channel, upstream.channel, b);
  }

  /**
   * Writes {@code b} through {@code out} (a handler context or the channel itself) for the read
   * batch's flush, or flushes at once when the write takes {@code channel}'s buffer past its
   * high-water mark (a large body): otherwise back-pressure would stop reading after every read
   * (two epoll_ctl calls each) for bytes the socket would have taken at once.
   *
   * @return true when a flush is owed, false when everything written so far has been flushed
   */
  private static boolean write(ChannelOutboundInvoker out, Channel channel, ByteBuf b) {
    out.write(b, channel.voidPromise());
    if (channel.isWritable()) {
      return true;
    }
    out.flush();
    return false;
  }

  private void flush() {
    if (flushUpstream && upstream != null) {
      flushUpstream = false;
      upstream.channel.flush();
    }
    if (flushClient) {
      flushClient = false;
      ctx.flush();
    }
  }

  /** Moves the client's bytes on as far as the state allows. */
  private void drive() {
    while (in != null && in.isReadable()) {
      switch (state) {
        case HEAD -> {
          if (!head()) {
            break;
          }
          continue;
        }
        case TO_VERTX -> {
          int n = body(in);
          if (n > 0) {
            ctx.fireChannelRead(in.readRetainedSlice(n));
            vertxFed = true;
          }
          if (requestChunks.isRejected()) {
            // Vert.x may be answering already: nothing safe can be said, the connection closes.
            close();
            return;
          }
          if (bodyDone()) {
            nextHead();
          }
          continue;
        }
        case UPLOAD -> {
          int n = body(in);
          if (n > 0) {
            if (n == in.readableBytes()) {
              toUpstream(in); // the whole buffer: no slice
              in = null;
            } else {
              toUpstream(in.readRetainedSlice(n));
            }
          }
          if (requestChunks.isRejected()) {
            requestRefusedMidBody();
            return;
          }
          if (bodyDone()) {
            state = SENT;
            if (responseState == R_DONE) {
              exchangeEnded();
            }
          } else {
            pushBack(upstream.channel.isWritable());
          }
          continue;
        }
        case DISCARD -> {
          int n = body(in);
          in.skipBytes(n);
          if (requestChunks.isRejected()) {
            close();
            return;
          }
          if (bodyDone()) {
            nextHead();
          }
          continue;
        }
        default -> {
          // WAIT_VERTX, ROUTING, SENT: the bytes wait (a pipelined request), reading stops
          ctx.channel().config().setAutoRead(false);
        }
      }
      break;
    }
    if (in != null && !in.isReadable()) {
      in.release();
      in = null;
    }
    if (vertxFed && !reading) {
      // Bytes passed to Vert.x outside a read of the socket (a pipelined request, after an
      // exchange ended): Vert.x flushes what it writes when the read batch completes.
      vertxFed = false;
      ctx.fireChannelReadComplete();
    }
  }

  /** Parses the head in {@link #in}; true when the loop may go on with the state it set. */
  private boolean head() {
    int r = head.parse(in);
    if (r == RequestHead.NEED_MORE) {
      if (headTimer == null && relay.headerReadTimeoutMs > 0) {
        headTimer = ctx.executor().schedule(this::headTimedOut, relay.headerReadTimeoutMs, TimeUnit.MILLISECONDS);
      }
      return false;
    }
    cancelHeadTimer();
    if (vertxInFlight > 0 && (r == RequestHead.REJECTED || invocation() != null)) {
      state = WAIT_VERTX; // answered after Vert.x's answers, in order
      ctx.channel().config().setAutoRead(false);
      return false;
    }
    if (r == RequestHead.REJECTED) {
      refuse(Relay.refusal(head.status(), head.reason()));
      return false;
    }
    InvocationTarget target = invocation();
    if (target == null) {
      toVertx();
      return true;
    }
    begin(target);
    return state != ROUTING;
  }

  private String path;
  private String query;
  private String uri;
  /** The current head's invocation (null: not one); set with {@link #uri}. */
  private InvocationTarget target;

  /** Targets up to this length are remembered for the connection's next request. */
  private static final int REMEMBERED_TARGET_MAX = 512;
  /**
   * The last target this connection parsed and what it gave. Keep-alive clients mostly repeat
   * theirs (a code interpreter's {@code /api/execute}), and a repeat then costs one byte
   * comparison instead of four strings and a parse.
   */
  private Remembered last;

  private record Remembered(ByteBuf bytes, String uri, String path, String query, InvocationTarget target) {}

  /** The current head's invocation, or null (its target then goes to Vert.x); parses the target once. */
  private InvocationTarget invocation() {
    if (uri != null) {
      return target;
    }
    int start = in.readerIndex() + head.targetStart();
    int length = head.targetEnd() - head.targetStart();
    Remembered r = last;
    if (r != null && r.bytes.readableBytes() == length && ByteBufUtil.equals(in, start, r.bytes, 0, length)) {
      uri = r.uri;
      path = r.path;
      query = r.query;
      target = r.target;
      return target;
    }
    uri = RequestHead.text(in, head.targetStart(), head.targetEnd());
    int pathStart = 0;
    if (!uri.startsWith("/")) { // absolute-form: the path after the authority
      int scheme = uri.indexOf("://");
      int slash = scheme < 0 ? -1 : uri.indexOf('/', scheme + 3);
      int q = scheme < 0 ? -1 : uri.indexOf('?', scheme + 3);
      pathStart = slash < 0 || q >= 0 && q < slash ? -1 : slash;
    }
    int q = uri.indexOf('?', Math.max(pathStart, 0));
    path = pathStart < 0 ? "/" : q < 0 ? uri.substring(pathStart) : uri.substring(pathStart, q);
    query = q < 0 ? null : uri.substring(q + 1);
    target = InvocationTarget.parse(path);
    if (length <= REMEMBERED_TARGET_MAX) {
      last = new Remembered(Unpooled.wrappedBuffer(uri.getBytes(StandardCharsets.ISO_8859_1)), uri, path, query,
          target);
    }
    return target;
  }

  private void toVertx() {
    vertxInFlight++;
    if (!keepAliveRequested()) {
      closeAfterVertx = true; // Vert.x compares the whole Connection value; "close, x" counts too
    }
    framing = head.framing();
    bodyLeft = framing == Framing.LENGTH ? head.contentLength() : 0;
    if (framing == Framing.CHUNKED) {
      requestChunks.reset(relay.maxHeaderSize - head.fieldSectionLength());
    }
    ctx.fireChannelRead(in.readRetainedSlice(head.headLength()));
    vertxFed = true;
    vertxUsed = true;
    if (framing == Framing.NONE || framing == Framing.LENGTH && bodyLeft == 0) {
      nextHead();
    } else {
      state = TO_VERTX;
    }
  }

  private boolean keepAliveRequested() {
    return head.versionMinor() == 1
        ? !head.hasToken(in, Field.CONNECTION, TOKEN_CLOSE)
        : head.hasToken(in, Field.CONNECTION, TOKEN_KEEP_ALIVE) && !head.hasToken(in, Field.CONNECTION, TOKEN_CLOSE);
  }

  /** Ready for the next request head on this connection. */
  private void nextHead() {
    head.reset();
    uri = null;
    path = null;
    query = null;
    state = HEAD;
    if (!ctx.channel().config().isAutoRead() && deferredClose == null) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  /** Bytes of the current body at the start of {@code buf}; see {@link #bodyDone}. */
  private int body(ByteBuf buf) {
    if (framing == Framing.CHUNKED) {
      return requestChunks.consume(buf);
    }
    int n = (int) Math.min(bodyLeft, buf.readableBytes());
    bodyLeft -= n;
    return n;
  }

  private boolean bodyDone() {
    return framing == Framing.CHUNKED ? requestChunks.isDone() : bodyLeft == 0;
  }

  // ---- an invocation ----

  private void begin(InvocationTarget target) {
    active = true;
    startNanos = System.nanoTime();
    route = target.route();
    execution = target.execution() && relay.requestMetrics != null;
    session = null;
    status = 200;
    responseState = R_NONE;
    versionMinor = head.versionMinor();
    keepAlive = keepAliveRequested();
    closeAfter = !keepAlive;
    int m = in.readerIndex() + head.methodStart();
    headRequest = head.methodEnd() - head.methodStart() == 4 && in.getByte(m) == 'H' && in.getByte(m + 1) == 'E';
    framing = head.framing();
    bodyLeft = framing == Framing.LENGTH ? head.contentLength() : 0;
    if (framing == Framing.CHUNKED) {
      requestChunks.reset(relay.maxHeaderSize - head.fieldSectionLength());
    }
    webSocket = head.indexOf(Field.UPGRADE) >= 0 && head.hasToken(in, Field.CONNECTION, TOKEN_UPGRADE)
        && head.valueEqualsIgnoreCase(in, head.indexOf(Field.UPGRADE), WEBSOCKET);
    int expect = head.indexOf(Field.EXPECT);
    expectContinue = expect >= 0 && versionMinor == 1 && head.valueEqualsIgnoreCase(in, expect, CONTINUE_100);
    upstreamReusable = true;
    if (relay.requestMetrics != null) {
      relay.requestMetrics.requestStarted();
    }
    responseBytes = 0;
    if (relay.accessLog != null) {
      logMethod = RequestHead.text(in, head.methodStart(), head.methodEnd());
      logRequestId = fieldNamed(X_REQUEST_ID);
      int sid = head.indexOf(Field.SESSION_ID);
      logSession = sid < 0 ? null : field(sid);
      logRuntime = target.namespace() + "/" + target.name();
    }
    if (relay.tracing != null) {
      String method = RequestHead.text(in, head.methodStart(), head.methodEnd());
      trace = relay.tracing.serverSpan(method, path, name -> fieldNamed(name.getBytes(StandardCharsets.US_ASCII)));
    }
    state = ROUTING; // reading stops only if the session is resolved asynchronously (pause())

    AgentCubeException bad = RequestChecks.target(uri);
    int host = head.indexOf(Field.HOST);
    if (bad == null && host >= 0 && !sameAsLastHost(host)) {
      String value = field(host);
      if (RequestChecks.hostChars(value)) {
        lastHost = value.getBytes(StandardCharsets.ISO_8859_1);
      } else {
        bad = AgentCubeException.stackless(ErrorCode.BAD_REQUEST, "invalid Host header");
      }
    }
    if (bad != null) {
      closeAfter = true;
      fail(bad);
      return;
    }
    if (!relay.auth.enabled()) {
      route(target, Caller.UNCHECKED);
      return;
    }
    int a = head.indexOf(Field.AUTHORIZATION);
    String authorization = a < 0 ? null : field(a);
    pause();
    context.dispatch(v -> {
      Future<Caller> caller = relay.auth.authenticateInvocation(authorization);
      if (caller.isComplete()) {
        authenticated(target, caller);
      } else {
        caller.onComplete(ar -> onLoop(() -> authenticated(target, caller)));
      }
    });
  }

  /** Whether field {@code i} holds the Host value last found valid on this connection (checked once). */
  private boolean sameAsLastHost(int i) {
    byte[] last = lastHost;
    int len = head.valueEnd(i) - head.valueStart(i);
    if (last == null || last.length != len) {
      return false;
    }
    int at = in.readerIndex() + head.valueStart(i);
    for (int k = 0; k < len; k++) {
      if (in.getByte(at + k) != last[k]) {
        return false;
      }
    }
    return true;
  }

  private void authenticated(InvocationTarget target, Future<Caller> caller) {
    if (!active) {
      return; // the client left meanwhile
    }
    if (caller.failed()) {
      fail(caller.cause());
    } else {
      route(target, caller.result());
    }
  }

  private String field(int i) {
    return RequestHead.text(in, head.valueStart(i), head.valueEnd(i));
  }

  /** The session of an authenticated (or unchecked) caller's invocation; see InvocationHandler. */
  private void route(InvocationTarget target, Caller caller) {
    String q = query;
    String endpoint = null;
    if (q != null && q.contains("endpoint=")) {
      endpoint = QueryStrings.get(q, "endpoint");
      q = QueryStrings.remove(q, "endpoint");
    }
    String forwardUri = q == null || q.isEmpty() ? target.forwardPath() : target.forwardPath() + '?' + q;
    int sid = head.indexOf(Field.SESSION_ID);
    if (sid >= 0) {
      String id = field(sid);
      Session<Sandbox> s;
      try {
        s = relay.sessions.begin(id);
      } catch (AgentCubeException miss) {
        pause();
        context.dispatch(v -> relay.sessions.lookup(id, miss).onComplete(ar -> onLoop(() -> {
          if (!active) {
            if (ar.succeeded()) {
              relay.sessions.finish(ar.result());
            }
          } else if (ar.failed()) {
            fail(ar.cause());
          } else {
            continueSession(ar.result(), target, forwardUri, caller);
          }
        })));
        return;
      }
      continueSession(s, target, forwardUri, caller);
      return;
    }
    RuntimeDefinition definition = relay.runtimes.current(target.kind(), target.namespace(), target.name());
    if (definition == null) {
      fail(AgentCubeException.stackless(ErrorCode.RUNTIME_NOT_FOUND,
          target.kind().kind() + " " + target.namespace() + "/" + target.name() + " not found"));
      return;
    }
    if (endpoint != null) {
      try {
        definition = relay.runtimes.throughEndpoint(target.kind(), target.namespace(), target.name(), endpoint);
      } catch (AgentCubeException e) {
        fail(e);
        return;
      }
    }
    RuntimeDefinition d = definition;
    pause();
    context.dispatch(v -> opening(d, caller).onComplete(ar -> onLoop(() -> {
      if (!active) {
        if (ar.succeeded()) {
          relay.sessions.finish(ar.result()); // the client left while its session started
        }
      } else if (ar.failed()) {
        fail(ar.cause());
      } else {
        forward(ar.result(), forwardUri, target.forwardPath());
      }
    })));
  }

  /** Opens the session, inside the exchange's server span when tracing (the start's parent). */
  private Future<Session<Sandbox>> opening(RuntimeDefinition definition, Caller caller) {
    if (trace == null) {
      return relay.sessions.open(definition, caller.subject());
    }
    try (io.opentelemetry.context.Scope scope = relay.tracing.inSpan(trace)) {
      return relay.sessions.open(definition, caller.subject());
    }
  }

  private void continueSession(Session<Sandbox> s, InvocationTarget target, String forwardUri, Caller caller) {
    if (!caller.mayUse(s.binding().owner())) {
      relay.sessions.finish(s);
      fail(relay.sessions.notOwned(s.id()));
      return;
    }
    RuntimeRef ref = s.binding().definition().ref();
    if (ref.kind() != target.kind() || !ref.namespace().equals(target.namespace())
        || !ref.name().equals(target.name())) {
      relay.sessions.finish(s);
      fail(AgentCubeException.stackless(ErrorCode.SESSION_NOT_FOUND,
          "session " + s.id() + " is not a session of " + target.kind().kind() + " "
              + target.namespace() + "/" + target.name()));
      return;
    }
    forward(s, forwardUri, target.forwardPath());
  }

  /** Stops reading from the client while the exchange waits for something asynchronous. */
  private void pause() {
    ctx.channel().config().setAutoRead(false);
  }

  /** Runs {@code r} on this connection's event loop (now, when already there). */
  private void onLoop(Runnable r) {
    if (ctx.executor().inEventLoop()) {
      r.run();
    } else {
      ctx.executor().execute(r);
    }
  }

  private void forward(Session<Sandbox> s, String forwardUri, String forwardPath) {
    session = s;
    SocketAddress address = s.binding().address(s.binding().definition().portIndexFor(forwardPath));
    if (upstream != null && !upstream.address.equals(address)) {
      upstream.close(); // this connection moves to another sandbox
      upstream = null;
    }
    if (upstream == null) {
      upstream = relay.takeIdle(address, this);
    }
    if (upstream != null && upstream.channel.isActive()) {
      send(forwardUri);
      return;
    }
    pause(); // until connected
    RelayUpstream fresh = new RelayUpstream(relay, address);
    upstream = fresh;
    relay.connect(ctx.channel().eventLoop(), address, this, fresh).addListener(f -> {
      if (upstream != fresh) {
        fresh.close();
      } else if (!f.isSuccess()) {
        upstream = null;
        fail(f.cause());
      } else if (active) {
        send(forwardUri);
      }
    });
  }

  /** Writes the request head to the sandbox, then whatever of the body has come. */
  private void send(String forwardUri) {
    ByteBuf h = ctx.alloc().directBuffer(head.headLength() + 256);
    int base = in.readerIndex();
    Relay.append(h, in, base + head.methodStart(), head.methodEnd() - head.methodStart());
    h.writeByte(' ');
    h.writeCharSequence(forwardUri, StandardCharsets.ISO_8859_1);
    h.writeBytes(UPSTREAM_VERSION);
    h.writeCharSequence(upstream.address.host(), StandardCharsets.ISO_8859_1);
    h.writeByte(':');
    ByteBufUtil.writeAscii(h, Integer.toString(upstream.address.port()));
    Relay.crlf(h);
    copyFields(h, base);
    h.writeBytes(SESSION);
    h.writeCharSequence(session.id(), StandardCharsets.ISO_8859_1);
    Relay.crlf(h);
    if (session.binding().definition().authMode() == AuthMode.PICOD) {
      h.writeBytes(AUTHORIZATION);
      h.writeCharSequence(relay.sessions.authorization(session), StandardCharsets.ISO_8859_1);
      Relay.crlf(h);
    }
    int xff = head.indexOf(Field.X_FORWARDED_FOR);
    if (xff >= 0 || remote != null) {
      h.writeBytes(XFF);
      boolean any = false;
      for (int i = xff; i >= 0 && i < head.headerCount(); i++) {
        if (head.is(i, Field.X_FORWARDED_FOR)) {
          if (any) {
            h.writeByte(',').writeByte(' ');
          }
          Relay.append(h, in, base + head.valueStart(i), head.valueEnd(i) - head.valueStart(i));
          any = true;
        }
      }
      if (remote != null) {
        if (any) {
          h.writeByte(',').writeByte(' ');
        }
        h.writeCharSequence(remote, StandardCharsets.ISO_8859_1);
      }
      Relay.crlf(h);
    }
    int host = head.indexOf(Field.HOST);
    if (head.indexOf(Field.X_FORWARDED_HOST) < 0 && host >= 0 && head.valueEnd(host) > head.valueStart(host)) {
      h.writeBytes(XFH);
      Relay.append(h, in, base + head.valueStart(host), head.valueEnd(host) - head.valueStart(host));
      Relay.crlf(h);
    }
    if (head.indexOf(Field.X_FORWARDED_PROTO) < 0) {
      h.writeBytes(XFP);
    }
    if (trace != null) {
      relay.tracing.forward(trace, RequestHead.text(in, head.methodStart(), head.methodEnd()), (name, value) -> {
        h.writeCharSequence(name, StandardCharsets.ISO_8859_1);
        h.writeByte(':').writeByte(' ');
        h.writeCharSequence(value, StandardCharsets.ISO_8859_1);
        Relay.crlf(h);
      });
    }
    if (framing == Framing.CHUNKED) {
      h.writeBytes(CHUNKED);
    }
    if (webSocket) {
      int u = head.indexOf(Field.UPGRADE);
      h.writeBytes(UPGRADE);
      Relay.append(h, in, base + head.valueStart(u), head.valueEnd(u) - head.valueStart(u));
      Relay.crlf(h);
    }
    Relay.crlf(h);
    in.skipBytes(head.headLength());
    head.reset();
    uri = null;
    responseState = R_HEAD;
    answer.reset();
    dropAnswerBytes();
    upstreamInUse = true;
    toUpstream(h);
    boolean hasBody = framing == Framing.CHUNKED || framing == Framing.LENGTH && bodyLeft > 0;
    if (expectContinue && hasBody) {
      toClient(Unpooled.wrappedBuffer(CONTINUE));
    }
    if (hasBody) {
      state = UPLOAD;
      if (!ctx.channel().config().isAutoRead()) {
        ctx.channel().config().setAutoRead(true);
      }
      drive();
    } else {
      state = SENT;
      if (in.isReadable()) {
        ctx.channel().config().setAutoRead(false); // a pipelined request waits
      } else {
        in.release();
        in = null;
      }
    }
    flush();
  }

  /** The client's field lines minus the ones the relay drops or rewrites, copied in runs. */
  private void copyFields(ByteBuf h, int base) {
    int n = head.headerCount();
    int runStart = -1;
    boolean listed = head.indexOf(Field.CONNECTION) >= 0;
    // The client's credential is for the proxy; a PicoD sandbox gets the session's token instead.
    boolean dropAuthorization = relay.auth.enabled()
        || session.binding().definition().authMode() == AuthMode.PICOD;
    for (int i = 0; i < n; i++) {
      boolean drop = dropAuthorization && head.is(i, Field.AUTHORIZATION);
      for (Field f : DROPPED) {
        if (head.is(i, f)) {
          drop = true;
          break;
        }
      }
      if (!drop && listed && nominated(base, i)) {
        drop = true;
      }
      for (int t = 0; t < relay.traceFields.length && !drop; t++) {
        drop = head.nameEqualsIgnoreCase(in, i, relay.traceFields[t]);
      }
      runStart = run(h, in, base, runStart, drop, head.nameStart(i));
    }
    run(h, in, base, runStart, true, head.headLength() - 2);
  }

  /**
   * One step of copying field lines in runs: a kept line starting at {@code lineStart} opens a
   * run (or extends the open one); a dropped line, or the head's end, writes the open run of
   * {@code src} to {@code h}. @return where the open run starts, or -1
   */
  private static int run(ByteBuf h, ByteBuf src, int base, int runStart, boolean drop, int lineStart) {
    if (!drop) {
      return runStart < 0 ? lineStart : runStart;
    }
    if (runStart >= 0) {
      Relay.append(h, src, base + runStart, lineStart - runStart);
    }
    return -1;
  }

  /** Whether a Connection field of the request names field {@code i} (RFC 9110 §7.6.1); in place. */
  private boolean nominated(int base, int i) {
    int nameAt = base + head.nameStart(i);
    int nameLen = head.nameEnd(i) - head.nameStart(i);
    for (int c = head.indexOf(Field.CONNECTION); c >= 0 && c < head.headerCount(); c++) {
      if (!head.is(c, Field.CONNECTION)) {
        continue;
      }
      int end = base + head.valueEnd(c);
      int at = base + head.valueStart(c);
      while (at <= end) {
        int comma = at;
        while (comma < end && in.getByte(comma) != ',') {
          comma++;
        }
        int s = at;
        int e = comma;
        while (s < e && (in.getByte(s) == ' ' || in.getByte(s) == '\t')) {
          s++;
        }
        while (e > s && (in.getByte(e - 1) == ' ' || in.getByte(e - 1) == '\t')) {
          e--;
        }
        if (e - s == nameLen && sameIgnoringCase(s, nameAt, nameLen)) {
          return true;
        }
        at = comma + 1;
      }
    }
    return false;
  }

  /** Whether {@code len} bytes of {@link #in} at {@code a} and at {@code b} are equal ignoring ASCII case. */
  private boolean sameIgnoringCase(int a, int b, int len) {
    for (int k = 0; k < len; k++) {
      int x = in.getByte(a + k);
      int y = in.getByte(b + k);
      if (x != y && lower(x) != lower(y)) {
        return false;
      }
    }
    return true;
  }

  private static int lower(int b) {
    return b >= 'A' && b <= 'Z' ? b + 32 : b;
  }

  /** The request's chunked framing broke while it was being forwarded. */
  private void requestRefusedMidBody() {
    upstreamReusable = false;
    if (responseState <= R_HEAD) {
      closeAfter = true;
      fail(AgentCubeException.stackless(ErrorCode.BAD_REQUEST, "invalid chunked framing in the request body"));
    } else {
      close();
    }
  }

  // ---- sandbox side ----

  void upstreamRead(RelayUpstream from, ByteBuf buf) {
    if (from != upstream || state == CLOSED) {
      buf.release();
      from.close();
      return;
    }
    if (state == TUNNEL) {
      toClient(buf);
      pushBackUpstream();
      return;
    }
    if (responseState == R_NONE || responseState == R_DONE) {
      buf.release(); // nothing was asked: the connection cannot be trusted any more
      upstreamReusable = false;
      from.close();
      return;
    }
    out = out == null ? buf : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), out, buf);
    response();
    if (out != null && !out.isReadable()) {
      out.release();
      out = null;
    }
  }

  void upstreamReadComplete() {
    flush();
  }

  private void response() {
    while (out != null && out.isReadable()) {
      switch (responseState) {
        case R_HEAD -> {
          int r = answer.parse(out);
          if (r == ResponseHead.NEED_MORE) {
            return;
          }
          if (r == ResponseHead.REJECTED) {
            upstreamReusable = false;
            failUpstream(AgentCubeException.stackless(ErrorCode.SANDBOX_PROTOCOL_ERROR,
                "the sandbox's answer is not valid HTTP/1.1"));
            return;
          }
          int code = answer.status();
          if (code == 101) {
            if (!webSocket) {
              upstreamReusable = false;
              failUpstream(AgentCubeException.stackless(ErrorCode.SANDBOX_PROTOCOL_ERROR,
                  "the sandbox switched protocols unasked"));
              return;
            }
            tunnel();
            return;
          }
          if (code < 200) {
            out.skipBytes(answer.headLength()); // 100, 103: informational, not passed on
            answer.reset();
            continue;
          }
          respond(code);
        }
        case R_LENGTH -> {
          int n = (int) Math.min(responseLeft, out.readableBytes());
          responseBytes += n;
          responseLeft -= n;
          if (n == out.readableBytes()) {
            toClient(out); // the whole buffer: no slice
            out = null;
          } else {
            toClient(out.readRetainedSlice(n));
          }
          if (responseLeft == 0) {
            responseEnded();
          }
        }
        case R_CHUNKED -> {
          int n = responseChunks.consume(out);
          if (n > 0) {
            responseBytes += n;
            toClient(out.readRetainedSlice(n));
          }
          if (responseChunks.isRejected()) {
            cut();
            return;
          }
          if (responseChunks.isDone()) {
            responseEnded();
          }
        }
        case R_DECHUNK -> {
          if (responseChunks.inData()) {
            int n = (int) Math.min(responseChunks.dataRemaining(), out.readableBytes());
            responseBytes += n;
            toClient(out.readRetainedSlice(n));
            responseChunks.skipData(n);
          } else {
            out.skipBytes(responseChunks.consumeFraming(out));
          }
          if (responseChunks.isRejected()) {
            cut();
            return;
          }
          if (responseChunks.isDone()) {
            responseEnded();
          }
        }
        case R_CLOSE_CHUNK -> {
          int n = out.readableBytes();
          ByteBuf size = ctx.alloc().directBuffer(12);
          ByteBufUtil.writeAscii(size, Integer.toHexString(n));
          Relay.crlf(size);
          responseBytes += n;
          toClient(size);
          toClient(out.readRetainedSlice(n));
          toClient(Unpooled.wrappedBuffer(Relay.CRLF_BYTES));
        }
        case R_CLOSE_RAW -> {
          responseBytes += out.readableBytes();
          toClient(out.readRetainedSlice(out.readableBytes()));
        }
        default -> {
          // R_DONE with bytes after the response: the sandbox says more than it was asked
          upstreamReusable = false;
          out.skipBytes(out.readableBytes());
        }
      }
      pushBackUpstream();
    }
  }

  /** Writes the answer's head to the client and sets how its body is read. */
  private void respond(int code) {
    status = code;
    boolean early = state == UPLOAD || state == ROUTING;
    if (early || answer.connectionClose() || relay.connections.draining()) {
      closeAfter = true;
    }
    if (answer.connectionClose() || answer.versionMinor() == 0 && !answer.connectionKeepAlive()) {
      upstreamReusable = false;
    }
    ResponseHead.Framing f = answer.framing(headRequest);
    int next;
    boolean chunkedOut = false;
    switch (f) {
      case NONE -> next = R_DONE;
      case LENGTH -> {
        responseLeft = answer.contentLength();
        next = responseLeft == 0 ? R_DONE : R_LENGTH;
      }
      case CHUNKED -> {
        responseChunks.reset();
        next = versionMinor == 1 ? R_CHUNKED : R_DECHUNK;
        chunkedOut = versionMinor == 1;
        if (versionMinor == 0) {
          closeAfter = true;
        }
      }
      default -> {
        upstreamReusable = false;
        next = versionMinor == 1 ? R_CLOSE_CHUNK : R_CLOSE_RAW;
        chunkedOut = versionMinor == 1;
        if (versionMinor == 0) {
          closeAfter = true;
        }
      }
    }
    // A small body that has come whole with its head goes in the head's buffer: one write, one
    // send(2) instead of a writev(2) of two.
    int inline = next == R_LENGTH && responseLeft <= INLINE_BODY
        && out.readableBytes() - answer.headLength() >= responseLeft ? (int) responseLeft : 0;
    ByteBuf h = ctx.alloc().directBuffer(answer.headLength() + 128 + inline);
    int base = out.readerIndex();
    h.writeBytes(versionMinor == 0 ? HTTP10 : HTTP11);
    Relay.append(h, out, base + 9, answer.fieldsStart() - 9);
    copyAnswerFields(h, base);
    h.writeBytes(SESSION);
    h.writeCharSequence(session.id(), StandardCharsets.ISO_8859_1);
    Relay.crlf(h);
    if (chunkedOut) {
      h.writeBytes(CHUNKED);
    }
    if (closeAfter) {
      h.writeBytes(CLOSE);
    } else if (versionMinor == 0) {
      h.writeBytes(KEEP_ALIVE);
    }
    Relay.crlf(h);
    out.skipBytes(answer.headLength());
    if (inline > 0) {
      Relay.append(h, out, out.readerIndex(), inline);
      out.skipBytes(inline);
      responseBytes += inline;
      responseLeft = 0;
      next = R_DONE;
    }
    toClient(h);
    responseState = next;
    if (next == R_DONE) {
      responseEnded();
    }
  }

  private void copyAnswerFields(ByteBuf h, int base) {
    int n = answer.headerCount();
    int runStart = -1;
    for (int i = 0; i < n; i++) {
      runStart = run(h, out, base, runStart, answer.hopByHop(i), answer.nameStart(i));
    }
    run(h, out, base, runStart, true, answer.headLength() - 2);
  }

  /** The answer's body has ended (or it had none). */
  private void responseEnded() {
    responseState = R_DONE;
    if (out != null && out.isReadable()) {
      // The sandbox said more than its answer: never passed on (it would answer the next
      // request of this client connection), and the connection is not used again.
      upstreamReusable = false;
      out.skipBytes(out.readableBytes());
    }
    if (state == SENT) {
      exchangeEnded();
    } else if (state == UPLOAD || state == ROUTING) {
      // An early answer: the rest of the request is not read, the connection closes after it.
      upstreamReusable = false;
      exchangeEnded();
    }
  }

  /** 101 from the sandbox: the head to the client, then bytes both ways until either side closes. */
  private void tunnel() {
    status = 101;
    ByteBuf h = ctx.alloc().directBuffer(answer.headLength() + 128);
    int base = out.readerIndex();
    h.writeBytes(HTTP11);
    Relay.append(h, out, base + 9, answer.fieldsStart() - 9);
    copyAnswerFields(h, base);
    int u = answer.upgradeIndex();
    h.writeBytes(UPGRADE);
    if (u >= 0) {
      Relay.append(h, out, base + answer.valueStart(u), answer.valueEnd(u) - answer.valueStart(u));
    }
    Relay.crlf(h);
    h.writeBytes(SESSION);
    h.writeCharSequence(session.id(), StandardCharsets.ISO_8859_1);
    Relay.crlf(h);
    Relay.crlf(h);
    out.skipBytes(answer.headLength());
    toClient(h);
    if (out.isReadable()) {
      toClient(out.readRetainedSlice(out.readableBytes()));
    }
    state = TUNNEL;
    responseState = R_DONE;
    upstreamReusable = false;
    if (in != null && in.isReadable()) {
      toUpstream(in.readRetainedSlice(in.readableBytes()));
    }
    ctx.channel().config().setAutoRead(true);
    upstream.channel.config().setAutoRead(true);
    accessLine(101, System.nanoTime() - startNanos);
    flush();
  }

  void upstreamWritabilityChanged(RelayUpstream from) {
    if (from == upstream && from.channel.isWritable() && (state == UPLOAD || state == TUNNEL)) {
      ctx.channel().config().setAutoRead(true);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable() && upstream != null && responseState != R_NONE) {
      upstream.channel.config().setAutoRead(true);
    }
    ctx.fireChannelWritabilityChanged();
  }

  /** The client cannot take more now: the sandbox's side stops reading until it can. */
  private void pushBackUpstream() {
    if (!ctx.channel().isWritable() && upstream != null) {
      upstream.channel.config().setAutoRead(false);
    }
  }

  /** The sandbox cannot take more now: the client's side stops reading until it can. */
  private void pushBack(boolean upstreamWritable) {
    if (!upstreamWritable) {
      ctx.channel().config().setAutoRead(false);
    }
  }

  void upstreamIdle(RelayUpstream from) {
    if (from != upstream) {
      from.close();
      return;
    }
    upstreamReusable = false;
    if (active && responseState <= R_HEAD && state != TUNNEL) {
      failUpstream(AgentCubeException.stackless(ErrorCode.SANDBOX_TIMEOUT, "the sandbox sent nothing for "
          + relay.upstreamIdleTimeoutMs + " ms"));
    } else if (active) {
      cut();
    } else {
      from.close();
      upstream = null;
    }
  }

  void upstreamClosed(RelayUpstream from) {
    if (from != upstream) {
      return;
    }
    upstream = null;
    if (!active) {
      return;
    }
    if (state == TUNNEL) {
      close();
    } else if (responseState == R_CLOSE_CHUNK || responseState == R_CLOSE_RAW) {
      if (out != null) {
        response(); // what came with the close
      }
      if (responseState == R_CLOSE_CHUNK) {
        toClient(Unpooled.wrappedBuffer(LAST_CHUNK));
      }
      responseEnded();
      flush();
    } else if (responseState <= R_HEAD) {
      failUpstream(AgentCubeException.stackless(ErrorCode.SANDBOX_UNREACHABLE,
          "the sandbox closed the connection before it answered"));
    } else if (responseState != R_DONE) {
      cut();
    }
  }

  /** Forgets sandbox bytes left from an answer that is over (or was refused). */
  private void dropAnswerBytes() {
    if (out != null) {
      out.release();
      out = null;
    }
  }

  /** Mid-answer breakage: the client's connection closes, so a cut body is never taken as whole. */
  private void cut() {
    upstreamReusable = false;
    close();
  }

  private void failUpstream(AgentCubeException e) {
    if (upstream != null) {
      upstream.close();
      upstream = null;
    }
    dropAnswerBytes();
    fail(e);
  }

  /**
   * The data plane's one failure path before the answer's head: see {@link Forwarder#fail}; the
   * rest of the request body is read and dropped, so the connection stays usable.
   */
  private void fail(Throwable failure) {
    if (!active) {
      return;
    }
    if (responseState > R_HEAD) {
      cut();
      return;
    }
    Session<Sandbox> s = session;
    ApiErrors.DataPlaneError mapped = ApiErrors.dataPlane(failure, s != null,
        s == null || s.binding().alive(), System.nanoTime() - startNanos, relay.upstreamIdleTimeoutNanos);
    AgentCubeException error = mapped.error();
    if (mapped.lost()) {
      relay.sessions.lost(s.binding());
      error = relay.sessions.notFound(s.id());
    }
    if (mapped.upstreamReason() != null) {
      relay.metrics.upstreamError(mapped.upstreamReason());
    }
    String id = s != null ? s.id() : null;
    if (id == null && error.code() == ErrorCode.SANDBOX_LOST && head.indexOf(Field.SESSION_ID) >= 0
        && state == ROUTING) {
      id = field(head.indexOf(Field.SESSION_ID));
    }
    if (upstream != null && state != SENT && state != UPLOAD || responseState == R_HEAD) {
      upstreamReusable = false; // it has part of a request
    }
    if (relay.connections.draining()) {
      closeAfter = true;
    }
    status = error.status();
    toClient(Relay.error(ctx.alloc(), error, id, versionMinor, closeAfter));
    responseState = R_DONE;
    if (state == ROUTING) {
      in.skipBytes(head.headLength());
      head.reset();
      uri = null;
    }
    boolean bodyLeftToRead = (state == ROUTING || state == UPLOAD) && !bodyDone()
        && (framing == Framing.CHUNKED || framing == Framing.LENGTH && bodyLeft > 0);
    exchangeEnded();
    if (state == ROUTING || state == UPLOAD) {
      if (bodyLeftToRead) {
        state = DISCARD;
        ctx.channel().config().setAutoRead(true);
      } else {
        nextHead();
      }
      drive();
    }
    flush();
  }

  /** The exchange is over: metric, execution record, session mark; the connection goes on or closes. */
  private void exchangeEnded() {
    if (!active) {
      return;
    }
    active = false;
    flush(); // the answer's last bytes: its upstream connection may close below, before its read completes
    long nanos = System.nanoTime() - startNanos;
    if (relay.requestMetrics != null) {
      relay.requestMetrics.requestEnded(route, status, nanos);
    }
    if (status != 101) {
      accessLine(status, nanos);
    }
    if (trace != null) {
      relay.tracing.end(trace, status);
      trace = null;
    }
    Session<Sandbox> s = session;
    session = null;
    if (s != null) {
      if (execution) {
        relay.requestMetrics.executionEnded(s.binding().definition(), status, nanos);
      }
      relay.sessions.finish(s);
    }
    if (upstreamInUse && upstream != null && !(upstreamReusable && state == SENT && responseState == R_DONE)) {
      upstream.close(); // part of a message is on it, or either side asked to close
      upstream = null;
    }
    upstreamInUse = false;
    if (closeAfter || state == CLOSED || deferredClose != null) {
      close();
      return;
    }
    if (state == SENT) {
      nextHead();
      drive();
    }
  }

  /** The access log's line of this exchange (log.access), from what {@link #begin} kept. */
  private void accessLine(int code, long nanos) {
    if (relay.accessLog != null) {
      relay.accessLog.write(logMethod, path, code, nanos, responseBytes, logRequestId,
          logSession != null ? logSession : session != null ? session.id() : null, logRuntime);
    }
  }

  private static final byte[] X_REQUEST_ID = "x-request-id".getBytes(StandardCharsets.US_ASCII);

  /** The value of the first field named {@code lower} (ASCII lower case), or null; for the access log. */
  private String fieldNamed(byte[] lower) {
    for (int i = 0; i < head.headerCount(); i++) {
      if (head.nameEqualsIgnoreCase(in, i, lower)) {
        return field(i);
      }
    }
    return null;
  }


  // ---- refusals, timers, closing ----

  /** A head the parser refused: its error, then the connection closes (nothing more is read). */
  private void refuse(AgentCubeException e) {
    state = CLOSED;
    ctx.channel().config().setAutoRead(false);
    ctx.writeAndFlush(Relay.error(ctx.alloc(), e, null, 1, true)).addListener(ChannelFutureListener.CLOSE);
    if (in != null) {
      in.release();
      in = null;
    }
  }

  private void headTimedOut() {
    headTimer = null;
    if (state == HEAD && in != null && in.isReadable()) {
      log.debug("request head not complete within {} ms, connection closed remote={}",
          relay.headerReadTimeoutMs, ctx.channel().remoteAddress());
      close();
    }
  }

  private void cancelHeadTimer() {
    if (headTimer != null) {
      headTimer.cancel(false);
      headTimer = null;
    }
  }

  /** Closes the client connection (after what was written) and drops the exchange. */
  private void close() {
    if (state == CLOSED && !ctx.channel().isActive()) {
      return;
    }
    state = CLOSED;
    flush();
    ChannelPromise deferred = deferredClose;
    deferredClose = null;
    if (deferred != null) {
      ctx.close(deferred);
    } else {
      ctx.close();
    }
  }

  /**
   * The drain's timeout: closes now, exchange or not. Any thread. From this handler toward the
   * socket, so Vert.x (whose own close may be the one deferred) cannot swallow it.
   */
  void forceClose() {
    forced = true;
    ctx.executor().execute(this::close);
  }

  /**
   * Vert.x closes a connection it thinks idle (its graceful shutdown, its idle timeout) without
   * knowing the relay's exchange on it: such a close waits for the exchange (or tunnel) to end.
   */
  @Override
  public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
    if (active && !forced && state != CLOSED) {
      deferredClose = promise;
      closeAfter = true;
      return;
    }
    ctx.close(promise);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancelHeadTimer();
    boolean wasActive = active;
    state = CLOSED;
    if (upstream != null) {
      if (!wasActive && upstreamReusable && responseState == R_DONE) {
        relay.giveBack(upstream);
      } else {
        upstream.close();
      }
      upstream = null;
    }
    if (wasActive) {
      exchangeEnded();
    }
    if (in != null) {
      in.release();
      in = null;
    }
    if (out != null) {
      out.release();
      out = null;
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (cause instanceof java.io.IOException) {
      close(); // the client reset or left: nothing to report (Vert.x sees the close)
      return;
    }
    ctx.fireExceptionCaught(cause); // Vert.x logs and closes
  }

  // ---- Vert.x's answers ----

  /**
   * After Vert.x's encoder: sees each response Vert.x ends, so that an invocation behind a
   * control-plane request is answered only after it.
   */
  ChannelOutboundHandlerAdapter vertxWatch() {
    return new ChannelOutboundHandlerAdapter() {
      @Override
      public void write(ChannelHandlerContext wctx, Object msg, ChannelPromise promise) {
        boolean informational = msg instanceof HttpResponse r && r.status().code() < 200;
        if (msg instanceof LastHttpContent && !informational && vertxInFlight > 0) {
          vertxInFlight--;
          if (vertxInFlight == 0) {
            if (closeAfterVertx) {
              promise = promise.unvoid();
              promise.addListener(ChannelFutureListener.CLOSE);
            } else if (state == WAIT_VERTX) {
              state = HEAD;
              wctx.executor().execute(() -> {
                ctx.channel().config().setAutoRead(true);
                drive();
                RelayConnection.this.flush();
              });
            }
          }
        }
        wctx.write(msg, promise);
      }
    };
  }
}
