package io.agentcube.testenv;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LoopbackAddressesTest {

  @Test
  void allocate_fresh_startsAt127002AndSkipsOctets0And255() {
    LoopbackAddresses addresses = new LoopbackAddresses();
    assertThat(addresses.allocate()).isEqualTo("127.0.0.2");
    for (int i = 3; i <= 253; i++) {
      addresses.allocate();
    }
    assertThat(addresses.allocate()).isEqualTo("127.0.0.254");
    assertThat(addresses.allocate()).isEqualTo("127.0.1.1");
    assertThat(addresses.held()).isEqualTo(254);
  }

  @Test
  void allocate_manyHeld_neverHandsOutOneTwice() {
    LoopbackAddresses addresses = new LoopbackAddresses();
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 2000; i++) {
      assertThat(seen.add(addresses.allocate())).isTrue();
    }
    assertThat(seen).doesNotContain("127.0.0.1").allSatisfy(ip ->
        assertThat(ip).doesNotEndWith(".0").doesNotEndWith(".255"));
  }

  @Test
  void allocate_afterRelease_reusesReleasedAddressOnlyAfterTheRest() {
    LoopbackAddresses addresses = new LoopbackAddresses();
    String first = addresses.allocate();
    String second = addresses.allocate();
    addresses.release(first);
    assertThat(addresses.held()).isEqualTo(1);
    // Round-robin: the next address is new, not the one just freed.
    String third = addresses.allocate();
    assertThat(third).isNotEqualTo(first).isNotEqualTo(second).isEqualTo("127.0.0.4");
  }
}
