package io.agentcube.proxy.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.agentcube.proxy.config.ConfigException;
import io.agentcube.proxy.config.ProxyConfig;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * Inbound authentication of the proxy's API ({@code auth.mode}: {@code none}, {@code static},
 * {@code jwt}, {@code kubernetes}): turns a request's {@code Authorization: Bearer <token>} into a
 * {@link Caller}, or fails with {@code 401 UNAUTHENTICATED}, {@code 403 FORBIDDEN} or
 * {@code 503 AUTH_UNAVAILABLE}.
 *
 * <h2>Cache</h2>
 * Successful checks are cached for {@code auth.cache.ttl} (never past the token's own expiry),
 * keyed by the token's SHA-256 digest, never by the token; at most {@code auth.cache.maxSize}
 * entries. Rejections are cached for a few seconds only, so that a flood of one bad token does not
 * reach the Kubernetes API server once per request, while a token fixed meanwhile works soon
 * after; {@code AUTH_UNAVAILABLE} is never cached.
 *
 * <h2>Roles</h2>
 * A caller is an admin (sees and ends every session) when it has the role {@code auth.adminRole}
 * or its subject is listed in {@code auth.admins}. With {@code auth.requiredRole} set, a caller
 * that is neither an admin nor has that role gets {@code 403}.
 *
 * <p>Thread-safe. Futures complete on the calling request's context.
 */
public final class Authenticator {

  /** How long a rejected token's rejection is remembered. */
  static final Duration REJECTION_TTL = Duration.ofSeconds(5);
  private static final String BEARER = "bearer ";

  private final String mode;
  private final TokenCheck check;
  private final boolean tokenOnInvocations;
  private final String adminRole;
  private final Set<String> admins;
  private final String requiredRole;
  private final Cache<ByteBuffer, Identity> accepted;
  private final Cache<ByteBuffer, AgentCubeException> rejected;

  Authenticator(String mode, TokenCheck check, boolean tokenOnInvocations, String adminRole,
      Set<String> admins, String requiredRole, Duration ttl, int maxSize, Clock clock, Ticker ticker) {
    this.mode = mode;
    this.check = check;
    this.tokenOnInvocations = tokenOnInvocations;
    this.adminRole = adminRole;
    this.admins = Set.copyOf(admins);
    this.requiredRole = requiredRole;
    long ttlNanos = ttl.toNanos();
    this.accepted = Caffeine.newBuilder().ticker(ticker).maximumSize(maxSize)
        .expireAfter(Expiry.<ByteBuffer, Identity>creating((key, id) -> {
          if (id.expiresAt() == null) {
            return Duration.ofNanos(ttlNanos);
          }
          Duration left = Duration.between(clock.instant(), id.expiresAt());
          return left.isNegative() ? Duration.ZERO : left.toNanos() < ttlNanos ? left : Duration.ofNanos(ttlNanos);
        }))
        .build();
    this.rejected = Caffeine.newBuilder().ticker(ticker).maximumSize(maxSize)
        .expireAfterWrite(REJECTION_TTL).build();
  }

  /**
   * The authenticator {@code config} asks for. Blocking (reads key and token files): call at
   * start-up, off the event loop.
   *
   * @throws ConfigException naming the key of a bad value or file
   */
  public static Authenticator create(ProxyConfig config, Vertx vertx) {
    checkListener(config);
    String mode = config.string("auth.mode");
    TokenCheck check = switch (mode) {
      case "none" -> null;
      case "static" -> {
        String file = config.string("auth.tokensFile");
        if (file.isEmpty()) {
          throw new ConfigException("auth.tokensFile: required with auth.mode: static");
        }
        yield StaticTokens.load(java.nio.file.Path.of(file));
      }
      case "jwt" -> JwtTokens.create(vertx, config);
      case "kubernetes" -> KubernetesTokens.create(vertx, config);
      default -> throw new ConfigException(
          "auth.mode: must be none, static, jwt or kubernetes, was '" + mode + "'");
    };
    return new Authenticator(mode, check, invocationsNeedToken(config),
        config.string("auth.adminRole"), Set.copyOf(config.list("auth.admins")),
        config.string("auth.requiredRole"), config.duration("auth.cache.ttl"),
        config.integer("auth.cache.maxSize"), Clock.systemUTC(), Ticker.systemTicker());
  }

  /**
   * The secure default: {@code auth.mode: none} only while {@code server.host} is a loopback
   * address, unless {@code auth.allowUnauthenticated: true}. Also checks the enumerated keys.
   *
   * @throws ConfigException otherwise
   */
  public static void checkListener(ProxyConfig config) {
    String mode = config.string("auth.mode");
    if (!List.of("none", "static", "jwt", "kubernetes").contains(mode)) {
      throw new ConfigException("auth.mode: must be none, static, jwt or kubernetes, was '" + mode + "'");
    }
    invocationsNeedToken(config);
    if (mode.equals("kubernetes")) {
      KubernetesTokens.kubeconfig(config);
    }
    String host = config.string("server.host");
    if (mode.equals("none") && !config.bool("auth.allowUnauthenticated") && !loopback(host)) {
      throw new ConfigException("auth.mode: none on server.host " + host + ", which is not a"
          + " loopback address: anyone who reaches the port could list and end every session. Set"
          + " auth.mode (static, jwt or kubernetes), bind 127.0.0.1, or set"
          + " auth.allowUnauthenticated: true to accept that");
    }
  }

  private static boolean invocationsNeedToken(ProxyConfig config) {
    String v = config.string("auth.invocations");
    return switch (v) {
      case "token" -> true;
      case "sessionId" -> false;
      default -> throw new ConfigException("auth.invocations: must be token or sessionId, was '" + v + "'");
    };
  }

  /** Whether every address {@code host} names is a loopback address (unresolvable: no). */
  static boolean loopback(String host) {
    try {
      InetAddress[] all = InetAddress.getAllByName(host);
      for (InetAddress a : all) {
        if (!a.isLoopbackAddress()) {
          return false;
        }
      }
      return all.length > 0;
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /** Whether requests need a token ({@code auth.mode} is not {@code none}). */
  public boolean enabled() {
    return check != null;
  }

  public String mode() {
    return mode;
  }

  /**
   * The caller of a control-plane request ({@code /v1/...} except invocations). Without
   * authentication, {@link Caller#UNCHECKED}.
   */
  public Future<Caller> authenticate(HttpServerRequest req) {
    if (check == null) {
      return Future.succeededFuture(Caller.UNCHECKED);
    }
    return authenticate(req.getHeader(HttpHeaders.AUTHORIZATION));
  }

  /**
   * The caller of a data-plane request. With {@code auth.invocations: sessionId} a request without
   * a token names its session by id and is let through ({@link Caller#UNCHECKED}); one with a
   * token is checked all the same (its new sessions get an owner).
   */
  public Future<Caller> authenticateInvocation(HttpServerRequest req) {
    return authenticateInvocation(req.getHeader(HttpHeaders.AUTHORIZATION));
  }

  /** {@link #authenticateInvocation(HttpServerRequest)} given its {@code Authorization} value (or null). */
  public Future<Caller> authenticateInvocation(String header) {
    if (check == null) {
      return Future.succeededFuture(Caller.UNCHECKED);
    }
    if (header == null && !tokenOnInvocations) {
      return Future.succeededFuture(Caller.UNCHECKED);
    }
    return authenticate(header);
  }

  /** The caller presenting {@code authorization} (the header's value, or null). */
  Future<Caller> authenticate(String authorization) {
    String token;
    try {
      token = bearerToken(authorization);
    } catch (AgentCubeException e) {
      return Future.failedFuture(e);
    }
    ByteBuffer key = ByteBuffer.wrap(sha256(token));
    Identity known = accepted.getIfPresent(key);
    if (known != null) {
      return authorize(known);
    }
    AgentCubeException no = rejected.getIfPresent(key);
    if (no != null) {
      return Future.failedFuture(no);
    }
    Context context = Vertx.currentContext();
    Future<Identity> verified;
    try {
      verified = check.verify(token);
    } catch (AgentCubeException e) {
      verified = Future.failedFuture(e);
    }
    Future<Caller> result = verified.transform(ar -> {
      if (ar.succeeded()) {
        accepted.put(key, ar.result());
        return authorize(ar.result());
      }
      AgentCubeException e = ar.cause() instanceof AgentCubeException a ? a
          : AgentCubeException.stackless(ErrorCode.UNAUTHENTICATED, "invalid token");
      if (e.code() == ErrorCode.UNAUTHENTICATED) {
        rejected.put(key, e);
      }
      return Future.failedFuture(e);
    });
    return onContext(result, context);
  }

  /** The token of a {@code Bearer} header. @throws AgentCubeException UNAUTHENTICATED */
  static String bearerToken(String authorization) {
    if (authorization == null || authorization.isEmpty()) {
      throw unauthenticated("a bearer token is required (Authorization: Bearer <token>)");
    }
    if (authorization.length() <= BEARER.length()
        || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      throw unauthenticated("the Authorization header must use the Bearer scheme");
    }
    String token = authorization.substring(BEARER.length()).strip();
    if (token.isEmpty()) {
      throw unauthenticated("empty bearer token");
    }
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c <= ' ' || c >= 0x7f) {
        throw unauthenticated("malformed bearer token");
      }
    }
    return token;
  }

  private Future<Caller> authorize(Identity id) {
    boolean admin = id.roles().contains(adminRole) || admins.contains(id.subject());
    if (!admin && !requiredRole.isEmpty() && !id.roles().contains(requiredRole)) {
      return Future.failedFuture(AgentCubeException.stackless(ErrorCode.FORBIDDEN,
          "subject " + id.subject() + " lacks the role " + requiredRole));
    }
    return Future.succeededFuture(new Caller(id.subject(), admin));
  }

  static AgentCubeException unauthenticated(String why) {
    return AgentCubeException.stackless(ErrorCode.UNAUTHENTICATED, why);
  }

  static byte[] sha256(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  /** {@code future}, completing on {@code context} (a request's event loop) when there is one. */
  private static <T> Future<T> onContext(Future<T> future, Context context) {
    if (context == null || future.isComplete()) {
      return future;
    }
    Promise<T> promise = Promise.promise();
    future.onComplete(ar -> {
      if (Vertx.currentContext() == context) {
        promise.handle(ar);
      } else {
        context.runOnContext(v -> promise.handle(ar));
      }
    });
    return promise.future();
  }

  /** Releases the token check's resources (the TokenReview client). Called when the proxy stops. */
  public void close() {
    if (check != null) {
      check.close();
    }
  }

  /** Results cached now (tests). */
  long cached() {
    accepted.cleanUp();
    return accepted.estimatedSize();
  }
}
