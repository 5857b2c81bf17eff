package io.agentcube.sandboxd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A deleted sandbox's uid goes back to the pool only once nothing of it runs. */
class UidSweeperTest {

  /** A process table the test edits: uid -> its live pids; kill removes a pid. */
  private final Map<Integer, List<Long>> table = new ConcurrentHashMap<>();
  private final AtomicInteger scans = new AtomicInteger();
  private final List<Long> killed = new CopyOnWriteArrayList<>();
  private final List<Integer> released = new CopyOnWriteArrayList<>();
  private volatile boolean killWorks = true;
  private final UidSweeper.Processes procs = new UidSweeper.Processes() {
    @Override
    public Map<Integer, List<Long>> running(Set<Integer> uids) {
      scans.incrementAndGet();
      Map<Integer, List<Long>> out = new HashMap<>();
      for (int uid : uids) {
        List<Long> pids = table.get(uid);
        if (pids != null && !pids.isEmpty()) {
          out.put(uid, new ArrayList<>(pids));
        }
      }
      return out;
    }

    @Override
    public void kill(long pid, int uid) {
      killed.add(pid);
      if (killWorks) {
        table.get(uid).remove(pid);
      }
    }
  };
  private UidSweeper sweeper;

  @AfterEach
  void close() {
    if (sweeper != null) {
      sweeper.close();
    }
  }

  @Test
  void uidThatRunsNothing_isFreedSoon() {
    sweeper = new UidSweeper(released::add, procs, Duration.ofSeconds(5));

    sweeper.quarantine(7, null);

    await().atMost(Duration.ofSeconds(2)).until(() -> released.contains(7));
    assertThat(sweeper.waiting()).isZero();
  }

  @Test
  void uidStillRunningSomething_isFreedOnlyAfterItsProcessesAreKilled() {
    table.put(8, new CopyOnWriteArrayList<>(List.of(101L, 102L)));
    sweeper = new UidSweeper(released::add, procs, Duration.ofSeconds(5));

    sweeper.sweepOnce(); // nothing waits yet: no scan, nothing freed
    sweeper.quarantine(8, null);
    sweeper.sweepOnce();

    assertThat(killed).contains(101L, 102L);
    assertThat(released).doesNotContain(8); // killed, but not yet seen gone
    await().atMost(Duration.ofSeconds(2)).until(() -> released.contains(8));
  }

  @Test
  void uidWhoseProcessesSurviveKill_isNeverFreed() {
    killWorks = false;
    table.put(9, new CopyOnWriteArrayList<>(List.of(201L)));
    sweeper = new UidSweeper(released::add, procs, Duration.ofMillis(50));

    sweeper.quarantine(9, null);

    await().atMost(Duration.ofSeconds(2)).until(() -> sweeper.waiting() == 0);
    assertThat(released).doesNotContain(9);
    assertThat(killed).contains(201L);
  }

  @Test
  void manyDeletesAtOnce_shareScans() {
    sweeper = new UidSweeper(released::add, procs, Duration.ofSeconds(5));

    for (int uid = 1000; uid < 1200; uid++) {
      sweeper.quarantine(uid, null);
    }

    await().atMost(Duration.ofSeconds(2)).until(() -> released.size() == 200);
    assertThat(scans.get()).isLessThan(50);
  }

  @Test
  void leftoverWorkspace_isRemovedWhenItsUidIsClear(@TempDir Path dir) throws Exception {
    Path ws = Files.createDirectories(dir.resolve("ws1/sub"));
    Files.writeString(ws.resolve("late.txt"), "written by the jail's last process");
    table.put(10, new CopyOnWriteArrayList<>(List.of(301L)));
    sweeper = new UidSweeper(released::add, procs, Duration.ofSeconds(5));

    sweeper.quarantine(10, dir.resolve("ws1"));

    await().atMost(Duration.ofSeconds(2)).until(() -> released.contains(10));
    assertThat(dir.resolve("ws1")).doesNotExist();
  }

  @Test
  void drain_waitsForWaitingUidsThenStops() {
    table.put(11, new CopyOnWriteArrayList<>(List.of(401L)));
    sweeper = new UidSweeper(released::add, procs, Duration.ofSeconds(5));
    sweeper.quarantine(11, null);

    sweeper.drain(Duration.ofSeconds(5));

    assertThat(released).contains(11);
    sweeper.quarantine(12, null); // closed: ignored, never freed
    assertThat(sweeper.waiting()).isZero();
    assertThat(released).doesNotContain(12);
  }
}
