package io.agentcube.sandbox;

import io.agentcube.runtime.RuntimeDefinition;
import io.agentcube.session.ExpiryAuthority;
import io.vertx.core.Future;
import java.time.Instant;
import java.util.List;

/**
 * How sandboxes are made: the process backend (local processes) or Kubernetes (pods).
 *
 * <h2>Life of a sandbox</h2>
 * {@link #start} makes an unbound (warm) sandbox; {@link #claim} binds it to one session, and a
 * claim that another process won fails with {@link SandboxClaimConflict} so the caller tries the
 * next candidate; {@link #stop} ends it. A sandbox that ends by itself, or whose address changes,
 * is reported to every {@link SandboxListener}.
 *
 * <h2>Restore</h2>
 * {@link #sandboxes()} lists the bound sandboxes this backend found running when it was created
 * (a proxy restart) with their session's id and times, and the sessions whose sandbox was found
 * dead; the session layer rebuilds its sessions from that. {@link #recordActivity} keeps what it
 * needs for that up to date.
 *
 * <h2>Close is not stop</h2>
 * {@link #close} releases what the backend holds. Whether sandboxes outlive it is the backend's
 * {@link #keepsSandboxesOnClose()}: a process backend without restore stops them, Kubernetes never
 * deletes a pod because one replica stops.
 *
 * <p>All methods return without blocking; futures complete on any thread.
 */
public interface SandboxBackend {

  /** {@code process} or {@code kubernetes}. */
  String name();

  /**
   * Why this backend cannot run {@code definition}, one line per problem naming the field; empty
   * when it can. Checked when a runtime is loaded, so that a bad runtime fails at load time and not
   * at its first request.
   */
  List<String> problems(RuntimeDefinition definition);

  /**
   * Starts an unbound sandbox and completes when it is ready (its ports accept connections). Fails
   * when it cannot be started or is not ready within the backend's own start timeout; a failed
   * start leaves nothing running.
   */
  Future<Sandbox> start(RuntimeDefinition definition);

  /**
   * Binds the unbound {@code sandbox} to session {@code sessionId}, created at {@code createdAt}
   * (recorded for restore). Completes with the bound sandbox (whose {@link Sandbox#sessionId()} is
   * then {@code sessionId}); fails with {@link SandboxClaimConflict} when another process bound it
   * first (the caller tries another), or with any other failure when it could not be bound (the
   * caller stops it).
   */
  Future<Sandbox> claim(Sandbox sandbox, String sessionId, Instant createdAt);

  /**
   * {@link #claim(Sandbox, String, Instant)} for a session owned by {@code owner} (an
   * authenticated subject, or {@code null}), recorded with the binding so that restored sessions
   * keep their owner ({@link Sandbox#owner()}). Backends that restore nothing may ignore it.
   */
  default Future<Sandbox> claim(Sandbox sandbox, String sessionId, Instant createdAt, String owner) {
    return claim(sandbox, sessionId, createdAt);
  }

  /** Stops a sandbox and removes what it left behind. Idempotent; never fails for "already gone". */
  Future<Void> stop(Sandbox sandbox);

  /**
   * The bound sandboxes found running, and the sessions found without one, when this backend was
   * created: what a restarted proxy restores. Unbound leftovers are the backend's own business
   * (stopped, or kept in a shared pool).
   */
  Future<List<SandboxRecord>> sandboxes();

  /**
   * Records the last activity of the session bound to {@code sandbox} where a restarted proxy
   * (process backend) or another replica (Kubernetes) will find it. Called at most once per flush
   * interval per session, only when it changed.
   */
  Future<Void> recordActivity(Sandbox sandbox, Instant lastActivity);

  /**
   * The sandbox bound to session {@code sessionId} that this process has not heard of yet (a
   * request that beat the watch event): one lookup at the shared store. Completes with
   * {@code null} when there is none, or where sandboxes are not shared (the default).
   */
  default Future<SandboxRecord> find(String sessionId) {
    return Future.succeededFuture();
  }

  /**
   * Stops {@code sandbox} because its session ended for {@code reason}, saying why to the other
   * processes that share it ({@link SandboxListener#endedElsewhere}). Where nothing is shared this
   * is {@link #stop}.
   */
  default Future<Void> stop(Sandbox sandbox, io.agentcube.session.EndReason reason) {
    return stop(sandbox);
  }

  /** Adds a listener told of sandbox events (see {@link SandboxListener}). */
  void addListener(SandboxListener listener);

  /**
   * Tells {@code calls} of every remote call this backend makes from now on (metrics). The
   * default makes none worth recording.
   */
  default void observeCalls(BackendCalls calls) {}

  /** Who ends sessions for idleness: {@link ExpiryAuthority#LOCAL} unless several replicas share. */
  default ExpiryAuthority expiryAuthority() {
    return ExpiryAuthority.LOCAL;
  }

  /**
   * Whether sandboxes outlive {@link #close} (and the sessions bound to them live on for the next
   * start or another replica). When false, the proxy ends every session at shutdown and
   * {@link #close} stops what is left.
   */
  boolean keepsSandboxesOnClose();

  /**
   * Releases what the backend holds; stops every sandbox it started unless
   * {@link #keepsSandboxesOnClose()}.
   */
  Future<Void> close();
}
