package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.agentcube.error.AgentCubeException;
import io.agentcube.error.ErrorCode;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.VertxException;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.core.http.HttpClosedException;
import java.io.IOException;
import java.net.ConnectException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** Every mapping of the two failure paths: a failure in, the client's status, code and metric out. */
class ApiErrorsTest {

  private static final long IDLE = 10_000_000_000L;

  private static ApiErrors.DataPlaneError upstream(Throwable t) {
    return ApiErrors.dataPlane(t, true, true, 1_000_000, IDLE);
  }

  private static void assertMapped(ApiErrors.DataPlaneError m, ErrorCode code, String reason) {
    assertThat(m.lost()).isFalse();
    assertThat(m.error().code()).isEqualTo(code);
    assertThat(m.upstreamReason()).isEqualTo(reason);
    assertThat(m.error().getMessage()).doesNotContainPattern("[a-z]+\\.[a-z]+\\.[A-Z]\\w*(Exception|Error)");
  }

  @Test
  void dataPlane_sandboxDead_isLostWhateverTheFailure() {
    ApiErrors.DataPlaneError m = ApiErrors.dataPlane(new ConnectException("refused"), true, false, 0, IDLE);
    assertThat(m.lost()).isTrue();
    assertThat(m.error()).as("the session's own 'lost' answer is used").isNull();
    assertThat(m.upstreamReason()).isEqualTo("sandbox_lost");
  }

  @Test
  void dataPlane_connectionClosedAfterTheIdleTimeout_504Timeout() {
    assertMapped(ApiErrors.dataPlane(new HttpClosedException("closed"), true, true, IDLE, IDLE),
        ErrorCode.SANDBOX_TIMEOUT, "timeout");
  }

  @Test
  void dataPlane_connectionClosedEarlier_502Unreachable() {
    assertMapped(upstream(new HttpClosedException("closed")), ErrorCode.SANDBOX_UNREACHABLE, "unreachable");
  }

  @Test
  void dataPlane_ioFailures_502Unreachable() {
    assertMapped(upstream(new ConnectException("Connection refused")), ErrorCode.SANDBOX_UNREACHABLE, "unreachable");
    assertMapped(upstream(new IOException("reset")), ErrorCode.SANDBOX_UNREACHABLE, "unreachable");
    assertMapped(upstream(new ConnectionPoolTooBusyException("busy")), ErrorCode.SANDBOX_UNREACHABLE, "unreachable");
    assertMapped(upstream(new VertxException("whatever", true)), ErrorCode.SANDBOX_UNREACHABLE, "unreachable");
  }

  @Test
  void dataPlane_timeout_504() {
    assertMapped(upstream(new TimeoutException("slow")), ErrorCode.SANDBOX_TIMEOUT, "timeout");
  }

  @Test
  void dataPlane_decoderFailures_502ProtocolError() {
    assertMapped(upstream(new DecoderException(new IllegalArgumentException("invalid version"))),
        ErrorCode.SANDBOX_PROTOCOL_ERROR, "protocol_error");
    assertMapped(upstream(new TooLongHttpHeaderException("too long")), ErrorCode.SANDBOX_PROTOCOL_ERROR,
        "protocol_error");
    assertMapped(upstream(new VertxException(new IllegalArgumentException("bad header"))),
        ErrorCode.SANDBOX_PROTOCOL_ERROR, "protocol_error");
  }

  @Test
  void dataPlane_ourOwnErrorsPassAsTheyAre_withTheirUpstreamReason() {
    assertMapped(upstream(AgentCubeException.stackless(ErrorCode.SANDBOX_PROTOCOL_ERROR, "status 2000")),
        ErrorCode.SANDBOX_PROTOCOL_ERROR, "protocol_error");
    ApiErrors.DataPlaneError notYet = ApiErrors.dataPlane(
        AgentCubeException.stackless(ErrorCode.POOL_EXHAUSTED, "full"), false, true, 0, IDLE);
    assertMapped(notYet, ErrorCode.POOL_EXHAUSTED, null);
  }

  @Test
  void dataPlane_beforeTheSandbox_anIoFailureIsNotTheSandboxs_500() {
    // e.g. a failure while authenticating or looking the session up: no sandbox was involved.
    assertMapped(ApiErrors.dataPlane(new IOException("disk"), false, true, 0, IDLE), ErrorCode.INTERNAL, null);
    assertThat(ApiErrors.dataPlane(new IOException("disk"), false, true, 0, IDLE).error().getMessage())
        .isEqualTo("internal error");
  }

  @Test
  void dataPlane_bug_500WithoutDetails() {
    ApiErrors.DataPlaneError m = upstream(new NullPointerException("x.y is null"));
    assertMapped(m, ErrorCode.INTERNAL, null);
    assertThat(m.error().getMessage()).isEqualTo("internal error");
  }

  @Test
  void controlPlane_ownErrorsAsTheyAre_everythingElse500WithoutDetails() {
    AgentCubeException own = AgentCubeException.stackless(ErrorCode.SESSION_LIMIT, "full");
    assertThat(ApiErrors.controlPlane(own)).isSameAs(own);
    // No sandbox in the control plane: a VertxException or IOException is not a 502 here.
    for (Throwable t : new Throwable[] {new VertxException("closed", true), new IOException("x"),
        new IllegalStateException("bug")}) {
      AgentCubeException e = ApiErrors.controlPlane(t);
      assertThat(e.code()).isEqualTo(ErrorCode.INTERNAL);
      assertThat(e.getMessage()).isEqualTo("internal error");
    }
  }

  @Test
  void controlPlaneStatus_routerStatuses() {
    assertThat(ApiErrors.controlPlaneStatus(404, "GET", "/x").code()).isEqualTo(ErrorCode.NOT_FOUND);
    assertThat(ApiErrors.controlPlaneStatus(405, "PUT", "/v1/sessions").getMessage())
        .isEqualTo("method PUT not allowed on /v1/sessions");
    assertThat(ApiErrors.controlPlaneStatus(413, "POST", "/v1/agent-runtime").code())
        .isEqualTo(ErrorCode.PAYLOAD_TOO_LARGE);
    assertThat(ApiErrors.controlPlaneStatus(400, "POST", "/").code()).isEqualTo(ErrorCode.BAD_REQUEST);
    assertThat(ApiErrors.controlPlaneStatus(418, "GET", "/").code()).isEqualTo(ErrorCode.INTERNAL);
  }

  @Test
  void undecodable_byTheDecodersExceptionType() {
    assertThat(ApiErrors.undecodable(new TooLongHttpHeaderException("An HTTP header is larger than 16384 bytes."))
        .code()).isEqualTo(ErrorCode.HEADERS_TOO_LARGE);
    AgentCubeException line = ApiErrors.undecodable(new TooLongHttpLineException("An HTTP line is larger than 8192 bytes."));
    assertThat(line.code()).isEqualTo(ErrorCode.BAD_REQUEST);
    assertThat(line.getMessage()).isEqualTo("request line too long");
    assertThat(ApiErrors.undecodable(new IllegalArgumentException("invalid version format: HTTP/X")).getMessage())
        .isEqualTo("malformed request: invalid version format: HTTP/X");
    assertThat(ApiErrors.undecodable(null).code()).isEqualTo(ErrorCode.BAD_REQUEST);
  }
}
