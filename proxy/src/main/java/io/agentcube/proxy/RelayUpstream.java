package io.agentcube.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.net.SocketAddress;

/**
 * One keep-alive connection from the relay to a sandbox port: the last handler of its Netty
 * channel, which runs on the event loop of the client connection that opened it. At any time it
 * belongs to at most one client connection ({@link #owner}), which gets its bytes and events; an
 * unowned one waits in its event loop's idle pool ({@link Relay#giveBack}).
 *
 * <p>An idle connection that sends anything (a sandbox has nothing to say between requests) or
 * stays silent for {@code upstream.idleTimeout} is closed. Confined to its event loop.
 */
final class RelayUpstream extends ChannelInboundHandlerAdapter {

  final SocketAddress address;
  private final Relay relay;
  Channel channel;
  /** The client connection this one serves now; null while idle in the pool. */
  private RelayConnection owner;

  RelayUpstream(Relay relay, SocketAddress address) {
    this.relay = relay;
    this.address = address;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (owner != null && msg instanceof ByteBuf buf) {
      owner.upstreamRead(this, buf);
    } else {
      ReferenceCountUtil.release(msg);
      ctx.close(); // unasked-for bytes: the connection cannot be trusted with a next request
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (owner != null) {
      owner.upstreamReadComplete();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (owner != null) {
      owner.upstreamWritabilityChanged(this);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof IdleStateEvent) {
      if (owner != null) {
        owner.upstreamIdle(this);
      } else {
        ctx.close();
      }
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    RelayConnection o = owner;
    if (o != null) {
      disown();
      o.upstreamClosed(this);
    } else {
      relay.forget(this);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close(); // a reset or I/O error: channelInactive reports it to the owner
  }

  /** Now serves {@code connection} (pinned to it). */
  void own(RelayConnection connection) {
    if (owner == null) {
      relay.pinned.incrementAndGet();
    }
    owner = connection;
  }

  /** Serves no client connection any more (idle, or closing). */
  void disown() {
    if (owner != null) {
      owner = null;
      relay.pinned.decrementAndGet();
    }
  }

  void close() {
    disown();
    if (channel != null) {
      channel.close();
    }
  }
}
