package io.agentcube.sandbox.kubernetes;

import io.agentcube.sandbox.BackendCalls;
import java.util.concurrent.Callable;

/**
 * Times the blocking fabric8 calls of this package and tells the {@link BackendCalls} the proxy
 * observes them with ({@code agentcube_backend_call_*}). The operation names are a small fixed
 * set: {@code pod_create}, {@code pod_claim}, {@code pod_patch}, {@code pod_delete},
 * {@code pod_list}, {@code event_create}, {@code signing_key} (read, or create, the shared key's
 * Secret), {@code revision_create}, {@code status_patch}. Watches and the Lease (fabric8's own loops) are
 * not timed here.
 *
 * <p>Thread-safe; {@link #call} runs on the calling (worker) thread.
 */
final class ApiCalls {

  private volatile BackendCalls calls = BackendCalls.NONE;

  void observe(BackendCalls calls) {
    this.calls = calls;
  }

  /** Runs the blocking {@code call} as {@code operation}, recording its time and outcome. */
  <T> T call(String operation, Callable<T> call) throws Exception {
    long t0 = System.nanoTime();
    try {
      T result = call.call();
      calls.completed(operation, System.nanoTime() - t0, null);
      return result;
    } catch (Exception e) {
      calls.completed(operation, System.nanoTime() - t0, e);
      throw e;
    }
  }

  /** {@link #call} for calls that throw only unchecked exceptions. */
  <T> T unchecked(String operation, java.util.function.Supplier<T> call) {
    try {
      return call(operation, call::get);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e); // unreachable: a Supplier throws no checked exception
    }
  }
}
