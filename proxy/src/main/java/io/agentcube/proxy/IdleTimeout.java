package io.agentcube.proxy;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.timeout.IdleStateEvent;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Fires {@link IdleStateEvent#FIRST_ALL_IDLE_STATE_EVENT} down the pipeline when a connection has
 * had neither a read nor a flush for {@code timeoutMs}, and {@code ALL_IDLE_STATE_EVENT} after each
 * further such period, as Netty's {@code IdleStateHandler(0, 0, timeout)} does with its all-idle
 * time.
 *
 * <p>Why not that handler: it counts a write when the write completes, so it makes every void
 * promise a real one and adds a listener to it, two objects and a listener call per write on the
 * relay's hot path (about 40 % of the bytes allocated per request in the T1 profile). Here a write counts
 * when it is flushed. A client that stops reading is still found idle: the relay's back-pressure
 * stops writing to it, so no flush comes either.
 */
final class IdleTimeout extends ChannelDuplexHandler implements Runnable {
  private final long timeoutNanos;
  private ChannelHandlerContext ctx;
  private long lastActivity;
  private ScheduledFuture<?> timer;
  /** {@link #lastActivity} when the last event fired: the same value means that idle spell goes on. */
  private long firedFor = Long.MIN_VALUE;

  IdleTimeout(long timeoutMs) {
    this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMs);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    if (ctx.channel().isActive() && ctx.channel().isRegistered()) {
      start();
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    start();
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    stop();
    ctx.fireChannelInactive();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    stop();
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    lastActivity = System.nanoTime();
    ctx.fireChannelReadComplete();
  }

  @Override
  public void flush(ChannelHandlerContext ctx) {
    lastActivity = System.nanoTime();
    ctx.flush();
  }

  private void start() {
    if (timer == null) {
      lastActivity = System.nanoTime();
      timer = ctx.executor().schedule(this, timeoutNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void stop() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  /** The timer, on the channel's event loop. */
  @Override
  public void run() {
    if (timer == null || !ctx.channel().isOpen()) {
      return;
    }
    long idle = System.nanoTime() - lastActivity;
    if (idle >= timeoutNanos) {
      timer = ctx.executor().schedule(this, timeoutNanos, TimeUnit.NANOSECONDS);
      boolean first = firedFor != lastActivity;
      firedFor = lastActivity;
      ctx.fireUserEventTriggered(
          first ? IdleStateEvent.FIRST_ALL_IDLE_STATE_EVENT : IdleStateEvent.ALL_IDLE_STATE_EVENT);
    } else {
      timer = ctx.executor().schedule(this, timeoutNanos - idle, TimeUnit.NANOSECONDS);
    }
  }
}
