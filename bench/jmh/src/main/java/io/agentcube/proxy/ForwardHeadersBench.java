package io.agentcube.proxy;

import io.agentcube.bench.jmh.HeaderBench;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The proxy's own head copies ({@link HopHeaders}, package-private, hence this package) on the
 * heads a wrk request and an nginx answer carry: the request head minus hop-by-hop headers and
 * Host, the response head minus hop-by-hop headers. Compare with {@code HeaderBench.copiesOnly},
 * the same copies done the obvious way (String entries, a lower-cased name per header).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ForwardHeadersBench {

  private MultiMap request;
  private MultiMap response;

  @Setup
  public void setUp() {
    request = HeaderBench.requestHead();
    response = HeaderBench.responseHead();
  }

  @Benchmark
  public MultiMap hopHeadersCopies() {
    HopHeaders.copyRequest(request, HttpHeaders.headers());
    MultiMap back = HttpHeaders.headers();
    HopHeaders.copyResponse(response, back);
    return back;
  }
}
