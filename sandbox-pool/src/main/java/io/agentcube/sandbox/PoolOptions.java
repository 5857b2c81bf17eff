package io.agentcube.sandbox;

import java.time.Duration;

/**
 * Bounds of the warm pools and cold starts.
 *
 * @param maxConcurrentStarts sandboxes starting at once, over all pools (a burst cannot fork-bomb
 *     the machine or flood the API server)
 * @param maxColdStartQueue requests waiting for a cold start at once, over all pools; one more
 *     gets {@code 503 POOL_EXHAUSTED}
 * @param startTimeout how long a request waits for its cold start before {@code 504}
 * @param retryAfter what {@code Retry-After} tells a client rejected for load
 * @param refillBackoffMax the longest pause between refill attempts of a pool whose starts fail
 */
public record PoolOptions(int maxConcurrentStarts, int maxColdStartQueue, Duration startTimeout,
    Duration retryAfter, Duration refillBackoffMax) {

  public PoolOptions {
    if (maxConcurrentStarts < 1) {
      throw new IllegalArgumentException("maxConcurrentStarts must be >= 1");
    }
    if (maxColdStartQueue < 0) {
      throw new IllegalArgumentException("maxColdStartQueue must be >= 0");
    }
  }

  public static PoolOptions defaults() {
    return new PoolOptions(4, 256, Duration.ofSeconds(60), Duration.ofSeconds(1),
        Duration.ofSeconds(30));
  }
}
