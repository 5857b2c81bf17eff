package io.agentcube.proxy;

import io.agentcube.runtime.RuntimeCatalog;
import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.runtime.RuntimeSource;
import io.agentcube.runtime.RuntimeRef;
import io.agentcube.sandbox.SandboxPools;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the catalog and the warm pools in step with the runtime files: loads them at start, then
 * every {@code runtimes.reloadInterval} reads them again and, when anything changed, applies the
 * new declarations (new versions, removed runtimes, endpoints) and re-syncs the pools. A removed
 * runtime takes no new sessions; its live sessions go on until they end.
 *
 * <p>Loads run on a worker; one at a time (a slow load is never overlapped by the next).
 */
final class RuntimeLoader {

  private static final Logger log = LoggerFactory.getLogger(RuntimeLoader.class);

  private final Vertx vertx;
  private final RuntimeSource files;
  private final RuntimeCatalog catalog;
  private final SandboxPools pools;
  private final SessionRouter sessions;
  private volatile List<String> errors = List.of();
  private boolean loading;
  private long timer = -1;

  RuntimeLoader(Vertx vertx, RuntimeSource files, RuntimeCatalog catalog, SandboxPools pools,
      SessionRouter sessions) {
    this.vertx = vertx;
    this.files = files;
    this.catalog = catalog;
    this.pools = pools;
    this.sessions = sessions;
  }

  /** Problems of the latest load, one per broken file, document or definition. */
  List<String> errors() {
    return errors;
  }

  /** Loads now and applies what changed. */
  synchronized Future<Void> load() {
    if (loading) {
      return Future.succeededFuture();
    }
    loading = true;
    return vertx.executeBlocking(files::load, false).compose(loaded -> {
      if (!loaded.errors().equals(errors)) {
        loaded.errors().forEach(e -> log.error("runtime file problem: {}", e));
      }
      errors = loaded.errors();
      if (!loaded.changed()) {
        return Future.<Void>succeededFuture();
      }
      Map<RuntimeRef, RuntimeCatalog.Entry> before = catalog.snapshot().runtimes();
      Set<String> live = liveVersions();
      RuntimeCatalog.Snapshot after = catalog.apply(loaded.runtimes(), loaded.endpoints(),
          d -> live.contains(d.ref() + "#" + d.templateHash()));
      report(before, after);
      return pools.sync(catalog.pooledVersions());
    }).eventually(() -> {
      synchronized (this) {
        loading = false;
      }
      return Future.succeededFuture();
    });
  }

  /**
   * Reloads every {@code interval} until {@link #stop}, then publishes every runtime's status to
   * the source (which writes only what changed); zero disables reloading.
   */
  void watch(Duration interval) {
    if (!interval.isZero()) {
      timer = vertx.setPeriodic(interval.toMillis(), id -> load()
          .onFailure(e -> log.error("runtime reload failed", e))
          .transform(x -> vertx.executeBlocking(() -> {
            files.publish(RuntimeStatuses.compute(catalog, pools, sessions, ref -> true));
            return null;
          }, false))
          .onFailure(e -> log.warn("runtime status not published cause={}", e.toString())));
    }
  }

  void stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
  }

  private Set<String> liveVersions() {
    Set<String> live = new HashSet<>();
    for (var s : sessions.list(x -> true)) {
      RuntimeDefinition d = s.binding().definition();
      live.add(d.ref() + "#" + d.templateHash());
    }
    return live;
  }

  private static void report(Map<RuntimeRef, RuntimeCatalog.Entry> before, RuntimeCatalog.Snapshot after) {
    for (RuntimeCatalog.Entry e : after.runtimes().values()) {
      RuntimeCatalog.Entry old = before.get(e.ref());
      RuntimeDefinition d = e.current().definition();
      if (old == null) {
        log.info("runtime loaded runtime={} kind={} version={} warmPoolSize={} source={}",
            d.label(), d.ref().kind().kind(), d.version(), d.warmPoolSize(), d.source());
      } else if (!old.current().equals(e.current())) {
        log.info("runtime changed runtime={} kind={} version={} previous={} generation={}",
            d.label(), d.ref().kind().kind(), d.version(), old.current().name(), e.generation());
      }
    }
    for (RuntimeRef ref : before.keySet()) {
      if (!after.runtimes().containsKey(ref)) {
        log.info("runtime removed runtime={} (live sessions continue; no new ones)", ref);
      }
    }
  }
}
