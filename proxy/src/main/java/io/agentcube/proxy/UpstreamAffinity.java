package io.agentcube.proxy;

import io.vertx.core.Future;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientConnection;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpConnectOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Connection affinity to sandboxes: a client connection keeps the upstream connection its last
 * request used, and its next request to the same sandbox port goes over it directly, without a
 * lease from the shared pool. A client connection usually carries one session, so after its first
 * request every request finds its pin.
 *
 * <p>Falls back to the pool ({@code null} from {@link #request}) when the pin is busy (a
 * pipelining client), when all {@code maxPinned} pins are taken, or for the request that moves a
 * client connection to another sandbox (the old pin is closed, the next request pins anew).
 *
 * <p>Bounds and removal: at most {@code maxPinned} pins; a pin is removed when either of its two
 * connections closes, and its upstream connection is closed with the client's. Upstream idle
 * timeouts apply to pinned connections as to pooled ones (same client options).
 *
 * <p>Threading: a pin is used only from its client connection's event loop, so its fields need no
 * synchronisation; the map is concurrent because client connections live on several loops.
 */
final class UpstreamAffinity {

  /** One client connection's upstream connection. Confined to the client connection's event loop. */
  static final class Pin {
    private final HttpConnection downstream;
    private final SocketAddress address;
    private HttpClientConnection upstream; // null while connecting
    private boolean busy;
    private boolean downstreamClosed;

    private Pin(HttpConnection downstream, SocketAddress address) {
      this.downstream = downstream;
      this.address = address;
    }
  }

  private final HttpClientAgent client;
  private final int maxPinned;
  private final long connectTimeoutMs;
  private final ConcurrentMap<HttpConnection, Pin> pins = new ConcurrentHashMap<>();
  /** Pins reserved: at most maxPinned; taken before a pin enters the map, given back on removal. */
  private final AtomicInteger pinned = new AtomicInteger();

  UpstreamAffinity(HttpClientAgent client, int maxPinned, long connectTimeoutMs) {
    this.client = client;
    this.maxPinned = maxPinned;
    this.connectTimeoutMs = connectTimeoutMs;
  }

  /**
   * A request on the pinned (or newly pinned) upstream connection of {@code downstream}, with the
   * pin held busy in {@code exchange} until {@link #release}; {@code null} when the pool should
   * serve this request.
   */
  Future<HttpClientRequest> request(Exchange exchange, HttpConnection downstream, SocketAddress address,
      RequestOptions options) {
    Pin pin = pins.get(downstream);
    if (pin != null) {
      if (pin.busy || pin.upstream == null) {
        return null;
      }
      if (!pin.address.equals(address)) {
        pin.upstream.close(); // its close handler removes the pin; the next request pins anew
        return null;
      }
      pin.busy = true;
      exchange.pin = pin;
      return pin.upstream.request(options);
    }
    Pin fresh = reserve(downstream, address);
    if (fresh == null) {
      return null;
    }
    fresh.busy = true;
    exchange.pin = fresh;
    HttpConnectOptions connect = new HttpConnectOptions()
        .setServer(address)
        .setHost(address.host())
        .setPort(address.port())
        .setConnectTimeout(connectTimeoutMs);
    return client.connect(connect).compose(upstream -> {
      fresh.upstream = upstream;
      upstream.closeHandler(v -> unpin(fresh));
      if (fresh.downstreamClosed) {
        upstream.close(); // the client left while we connected
      }
      return upstream.request(options);
    }, failure -> {
      unpin(fresh);
      return Future.failedFuture(failure);
    });
  }

  /**
   * A new pin for {@code downstream}, or null when {@code maxPinned} are taken. The count is
   * reserved before the map is touched: client connections on several event loops pin at once,
   * and a size check before a put would let them all in.
   */
  Pin reserve(HttpConnection downstream, SocketAddress address) {
    if (pinned.incrementAndGet() > maxPinned) {
      pinned.decrementAndGet();
      return null;
    }
    Pin fresh = new Pin(downstream, address);
    pins.put(downstream, fresh);
    downstream.closeHandler(v -> {
      fresh.downstreamClosed = true;
      unpin(fresh);
      if (fresh.upstream != null) {
        fresh.upstream.close();
      }
    });
    return fresh;
  }

  /** Removes {@code pin} and gives back its count, once however many of its ends close. */
  private void unpin(Pin pin) {
    if (pins.remove(pin.downstream, pin)) {
      pinned.decrementAndGet();
    }
  }

  /** The exchange holding {@code pin} is done with it and the connection is reusable. */
  static void release(Pin pin) {
    pin.busy = false;
  }

  /** Pinned connections now (for tests and metrics). */
  int size() {
    return pins.size();
  }
}
