package io.agentcube.sandbox.kubernetes;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderElectionConfigBuilder;
import io.fabric8.kubernetes.client.extended.leaderelection.resourcelock.LeaseLock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One leader among the replicas, by a {@code coordination.k8s.io} Lease (fabric8's
 * {@code LeaderElector}). The leader runs pool reconciliation and is the only replica that ends
 * sessions for idleness. A replica that loses the Lease becomes a candidate again; closing
 * releases the Lease so that another replica takes over within one retry period rather than a
 * whole lease duration.
 *
 * <p>Thread-safe; listeners run on fabric8's election thread and must not block.
 */
final class LeaderElection implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LeaderElection.class);

  private final KubernetesClient client;
  private final KubernetesOptions options;
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  private volatile boolean leader;
  private volatile boolean closed;
  private volatile CompletableFuture<?> running;

  LeaderElection(KubernetesClient client, KubernetesOptions options) {
    this.client = client;
    this.options = options;
  }

  void start() {
    if (closed) {
      return;
    }
    CompletableFuture<?> f = client.leaderElector().withConfig(new LeaderElectionConfigBuilder()
            .withName(options.leaseName())
            .withLock(new LeaseLock(options.leaseNamespace(), options.leaseName(), options.identity()))
            .withLeaseDuration(options.leaseDuration())
            .withRenewDeadline(options.renewDeadline())
            .withRetryPeriod(options.retryPeriod())
            .withReleaseOnCancel(true)
            .withLeaderCallbacks(new LeaderCallbacks(() -> changed(true), () -> changed(false),
                who -> log.info("leader is identity={}", who)))
            .build())
        .build().start();
    running = f;
    // The elector's future ends when leadership is lost (or on close): stand again.
    f.whenComplete((v, e) -> {
      if (!closed) {
        start();
      }
    });
  }

  private void changed(boolean now) {
    if (leader == now) {
      return;
    }
    leader = now;
    log.info("leadership {} identity={} lease={}/{}", now ? "acquired" : "lost", options.identity(),
        options.leaseNamespace(), options.leaseName());
    for (Runnable r : listeners) {
      try {
        r.run();
      } catch (RuntimeException e) {
        log.warn("leadership listener failed", e);
      }
    }
  }

  boolean isLeader() {
    return leader;
  }

  void onChange(Runnable r) {
    listeners.add(r);
  }

  @Override
  public void close() {
    closed = true;
    CompletableFuture<?> f = running;
    if (f != null) {
      f.cancel(true); // releaseOnCancel: the Lease is given up for the next leader
    }
    changed(false);
  }
}
