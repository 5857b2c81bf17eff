package io.agentcube.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrampolineTest {

  private final Trampoline trampoline = new Trampoline();
  private final List<String> order = new ArrayList<>();

  @Test
  void execute_fromInsideATask_runsAfterItOnTheSameThread() {
    Thread caller = Thread.currentThread();
    trampoline.execute(() -> {
      order.add("outer start");
      trampoline.execute(() -> {
        assertThat(Thread.currentThread()).isSameAs(caller);
        order.add("inner");
        trampoline.execute(() -> order.add("inner's inner"));
      });
      order.add("outer end");
    });
    order.add("returned");
    assertThat(order).containsExactly("outer start", "outer end", "inner", "inner's inner",
        "returned");
  }

  @Test
  void execute_taskThrows_laterTasksStillRunAndNextCallRunsAtOnce() {
    trampoline.execute(() -> {
      trampoline.execute(() -> {
        throw new IllegalStateException("boom");
      });
      trampoline.execute(() -> order.add("after the failure"));
    });
    trampoline.execute(() -> order.add("next call"));
    assertThat(order).containsExactly("after the failure", "next call");
  }
}
