package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.agentcube.proxy.config.ConfigException;
import org.junit.jupiter.api.Test;

/** The connection cap's arithmetic against the file-descriptor limit (docs/operations.md). */
class ClientConnectionsTest {

  @Test
  void cap_zero_derivedFromFdLimitMinusReserveHalved() {
    assertThat(ClientConnections.cap(0, 256, 20_000)).isEqualTo((20_000 - 256) / 2);
    assertThat(ClientConnections.cap(0, 256, 1024)).isEqualTo(384);
  }

  @Test
  void cap_explicitWithinLimit_kept() {
    assertThat(ClientConnections.cap(100, 256, 20_000)).isEqualTo(100);
  }

  @Test
  void cap_explicitAboveLimit_startUpErrorNamesKeyAndArithmetic() {
    assertThatThrownBy(() -> ClientConnections.cap(50_000, 256, 20_000))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("server.maxConnections: 50000")
        .hasMessageContaining("(20000 - server.fdReserve 256) / 2 = 9872");
  }

  @Test
  void cap_reserveEatsTheLimit_startUpErrorNamesReserve() {
    assertThatThrownBy(() -> ClientConnections.cap(0, 1024, 1024))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("server.fdReserve: 1024");
  }

  @Test
  void fdLimit_onLinux_known() {
    assertThat(ClientConnections.fdLimit()).isPositive();
  }
}
