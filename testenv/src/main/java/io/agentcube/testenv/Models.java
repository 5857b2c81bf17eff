package io.agentcube.testenv;

import java.util.List;

/** Null-safety for fabric8's model, which leaves a list null when the server omitted it. */
final class Models {

  private Models() {
  }

  static <T> List<T> orEmpty(List<T> list) {
    return list == null ? List.of() : list;
  }
}
