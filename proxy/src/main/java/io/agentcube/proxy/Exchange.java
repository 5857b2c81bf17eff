package io.agentcube.proxy;

import io.agentcube.sandbox.Sandbox;
import io.agentcube.session.Session;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One forwarded request of a session: what the origin selector and the response path need, and
 * the once-only end of its in-flight mark. The {@link AtomicBoolean} is the "finished" flag.
 */
final class Exchange extends AtomicBoolean {

  final Session<Sandbox> session;
  final int portIndex;
  final long startNanos = System.nanoTime();
  private final SessionRouter router;

  Exchange(Session<Sandbox> session, int portIndex, SessionRouter router) {
    this.session = session;
    this.portIndex = portIndex;
    this.router = router;
  }

  /** Ends the request's in-flight mark; only the first call counts. Any thread. */
  void finish() {
    if (compareAndSet(false, true)) {
      router.finish(session);
    }
  }
}
