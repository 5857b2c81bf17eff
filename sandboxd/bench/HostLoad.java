import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Load driver for a host-mode sandboxd (bench/measure-host.sh only): CONCURRENCY clients, each
 * looping create a sandbox → execute a command in it → delete it, over keep-alive HTTP/1.1 as the
 * proxy talks to a host (one connection per client). The first WARMUP sessions (all clients together) are not counted. Prints
 * p50/p99 per request and the sessions per second of the counted part.
 *
 * <pre>java HostLoad.java URL KEY.pem SESSIONS CONCURRENCY [WARMUP] [COMMAND...]</pre>
 *
 * KEY.pem is the PKCS#8 private key whose public half is sandboxd's PICOD_AUTH_PUBLIC_KEY.
 */
public class HostLoad {

  public static void main(String[] args) throws Exception {
    String url = args[0];
    PrivateKey key = privateKey(Path.of(args[1]));
    int sessions = Integer.parseInt(args[2]);
    int clients = Integer.parseInt(args[3]);
    int warmup = args.length > 4 ? Integer.parseInt(args[4]) : 0;
    List<String> command = args.length > 5 ? List.of(args).subList(5, args.length) : List.of("true");
    StringBuilder json = new StringBuilder("{\"command\":[");
    for (int i = 0; i < command.size(); i++) {
      json.append(i == 0 ? "\"" : ",\"").append(command.get(i)).append('"');
    }
    String execBody = json.append("]}").toString();

    long now = System.currentTimeMillis() / 1000;
    String admin = jwt(key, "{\"iss\":\"agentcube-router\",\"aud\":\"agentcube-sandbox-host\","
        + "\"iat\":" + now + ",\"exp\":" + (now + 3600) + "}");
    URI base = URI.create(url);
    String run = Long.toString(System.nanoTime() % 100000, 36);
    int total = warmup + sessions;
    // Signed up front: the clients' CPU goes to HTTP, not to RSA.
    String[] tokens = new String[total];
    for (int i = 0; i < total; i++) {
      String id = "load-" + run + "-" + i;
      tokens[i] = jwt(key, "{\"iss\":\"agentcube-router\",\"session_id\":\"s-" + id
          + "\",\"sandbox_id\":\"" + id + "\",\"iat\":" + now + ",\"exp\":" + (now + 3600)
          + "}");
    }

    List<long[]> samples = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger next = new AtomicInteger();
    AtomicInteger failures = new AtomicInteger();
    long[] window = new long[2]; // start of the counted part, end
    CountDownLatch done = new CountDownLatch(clients);
    for (int c = 0; c < clients; c++) {
      Thread t = new Thread(() -> {
        Connection http = new Connection(base);
        try {
          int i;
          while ((i = next.getAndIncrement()) < total) {
            if (i == warmup) {
              synchronized (window) {
                window[0] = System.nanoTime();
              }
            }
            String id = "load-" + run + "-" + i;
            String token = tokens[i];
            long t0 = System.nanoTime();
            int a = http.send("POST", "/host/v1/sandboxes", admin, "{\"id\":\"" + id + "\"}");
            long t1 = System.nanoTime();
            int b = http.send("POST", "/api/execute", token, execBody);
            long t2 = System.nanoTime();
            int d = http.send("DELETE", "/host/v1/sandboxes/" + id, admin, null);
            long t3 = System.nanoTime();
            if (a != 201 || b != 200 || d != 204) {
              failures.incrementAndGet();
              System.err.println("session " + id + ": create " + a + " execute " + b
                  + " delete " + d);
            }
            if (i >= warmup) {
              samples.add(new long[] {t1 - t0, t2 - t1, t3 - t2, t3 - t0});
            }
          }
        } catch (Exception e) {
          failures.incrementAndGet();
          e.printStackTrace();
        } finally {
          synchronized (window) {
            window[1] = Math.max(window[1], System.nanoTime());
          }
          done.countDown();
        }
      });
      t.start();
    }
    done.await();
    double seconds = (window[1] - window[0]) / 1e9;
    String[] names = {"create", "execute", "delete", "session"};
    StringBuilder out = new StringBuilder();
    out.append(String.format("  clients=%d sessions=%d (after %d warm-up) failures=%d:"
        + " %.1f sessions/s%n", clients, samples.size(), warmup, failures.get(),
        samples.size() / seconds));
    for (int k = 0; k < names.length; k++) {
      long[] v = new long[samples.size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = samples.get(i)[k];
      }
      Arrays.sort(v);
      out.append(String.format("    %-8s p50 %6.1f ms  p99 %6.1f ms%n", names[k],
          pct(v, 0.50) / 1e6, pct(v, 0.99) / 1e6));
    }
    System.out.print(out);
    System.exit(failures.get() == 0 ? 0 : 1);
  }

  /**
   * A minimal keep-alive HTTP/1.1 client, one connection per client thread: each request in one
   * write with TCP_NODELAY, as the proxy's Vert.x client sends it (the JDK's HttpClient writes
   * headers and body apart without TCP_NODELAY, and delayed ACKs then add ~40 ms).
   */
  static final class Connection {
    private final String host;
    private final int port;
    private Socket socket;
    private InputStream in;

    Connection(URI base) {
      this.host = base.getHost();
      this.port = base.getPort();
    }

    int send(String method, String path, String token, String body) throws IOException {
      if (socket == null) {
        socket = new Socket(host, port);
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(30_000);
        in = new BufferedInputStream(socket.getInputStream());
      }
      byte[] payload = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
      String head = method + " " + path + " HTTP/1.1\r\nHost: " + host + ":" + port
          + "\r\nAuthorization: Bearer " + token
          + (body == null ? "" : "\r\nContent-Type: application/json")
          + "\r\nContent-Length: " + payload.length + "\r\n\r\n";
      byte[] h = head.getBytes(StandardCharsets.US_ASCII);
      byte[] req = Arrays.copyOf(h, h.length + payload.length);
      System.arraycopy(payload, 0, req, h.length, payload.length);
      OutputStream out = socket.getOutputStream();
      out.write(req);
      out.flush();
      String status = line();
      int code = Integer.parseInt(status.split(" ")[1]);
      long length = 0;
      boolean chunked = false;
      for (String l = line(); !l.isEmpty(); l = line()) {
        String lower = l.toLowerCase(Locale.ROOT);
        if (lower.startsWith("content-length:")) {
          length = Long.parseLong(l.substring(15).strip());
        } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
          chunked = true;
        }
      }
      if (chunked) {
        for (long n = Long.parseLong(line().strip(), 16); n > 0;
            n = Long.parseLong(line().strip(), 16)) {
          in.readNBytes((int) n);
          line();
        }
        line();
      } else {
        in.readNBytes((int) length);
      }
      return code;
    }

    private String line() throws IOException {
      StringBuilder b = new StringBuilder();
      for (int c = in.read(); c != '\n'; c = in.read()) {
        if (c < 0) {
          throw new EOFException("connection closed");
        }
        if (c != '\r') {
          b.append((char) c);
        }
      }
      return b.toString();
    }
  }

  private static double pct(long[] sorted, double p) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
  }

  private static PrivateKey privateKey(Path pem) throws Exception {
    String b64 = Files.readString(pem).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    return KeyFactory.getInstance("RSA")
        .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
  }

  private static String jwt(PrivateKey key, String claims) throws Exception {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String unsigned = b64.encodeToString("{\"alg\":\"RS256\",\"typ\":\"JWT\"}"
        .getBytes(StandardCharsets.UTF_8)) + "." + b64.encodeToString(
        claims.getBytes(StandardCharsets.UTF_8));
    Signature s = Signature.getInstance("SHA256withRSA");
    s.initSign(key);
    s.update(unsigned.getBytes(StandardCharsets.US_ASCII));
    return unsigned + "." + b64.encodeToString(s.sign());
  }
}
