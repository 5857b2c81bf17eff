package io.agentcube.sandbox;

import io.vertx.core.Future;
import java.util.function.Supplier;

/**
 * Told of every remote call a backend makes to what it runs on: the Kubernetes API server
 * (Kubernetes backend), the sandbox host's admin API (process backend). For metrics: an
 * implementation must be cheap, thread-safe and never block or throw.
 */
@FunctionalInterface
public interface BackendCalls {

  /** Records nothing. */
  BackendCalls NONE = (operation, nanos, failure) -> { };

  /**
   * One call ended.
   *
   * @param operation what was called, from a small fixed set (e.g. {@code pod_create})
   * @param nanos how long it took, failures included
   * @param failure why it failed, or {@code null} when it succeeded
   */
  void completed(String operation, long nanos, Throwable failure);

  /** Makes the call {@code call} and records it as {@code operation} when its future completes. */
  default <T> Future<T> time(String operation, Supplier<Future<T>> call) {
    long t0 = System.nanoTime();
    Future<T> f;
    try {
      f = call.get();
    } catch (RuntimeException e) {
      f = Future.failedFuture(e);
    }
    return f.andThen(ar -> completed(operation, System.nanoTime() - t0, ar.cause()));
  }
}
