package io.agentcube.proxy;

import static io.agentcube.proxy.ProxyFixture.invoke;
import static io.agentcube.proxy.RawHttp.readUntil;
import static io.agentcube.proxy.RawHttp.sendGet;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.Socket;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code server.clientIdleTimeout} on the relay ({@link IdleTimeout}): a connection with no
 * traffic either way is closed after it; one the proxy keeps writing to is not, although the
 * client sends nothing. Raw sockets, so the close itself is seen.
 */
class IdleTimeoutIT {

  @TempDir
  static Path tmp;
  private static ProxyFixture f;

  @BeforeAll
  static void start() throws Exception {
    f = ProxyFixture.echo(tmp, Map.of("server.clientIdleTimeout", "1s"));
  }

  @AfterAll
  static void stop() throws Exception {
    f.close();
  }

  @Test
  void keepAliveConnection_idleAfterAnInvocation_closedAtTheTimeout() throws Exception {
    try (Socket s = socket()) {
      sendGet(s, invoke("echo", "/"));
      String head = readUntil(s.getInputStream(), "\r\n\r\n");
      assertThat(head).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("connection: close");
      int length = Integer.parseInt(head.replaceAll("(?is).*content-length: *(\\d+).*", "$1"));
      assertThat(s.getInputStream().readNBytes(length)).hasSize(length);
      long idleSince = System.nanoTime();

      assertThat(s.getInputStream().read()).as("closed by the proxy").isEqualTo(-1);
      assertThat((System.nanoTime() - idleSince) / 1_000_000).as("ms until closed").isGreaterThanOrEqualTo(900);
    }
  }

  @Test
  void connectionWithNoRequest_closedAtTheTimeout() throws Exception {
    try (Socket s = socket()) {
      assertThat(s.getInputStream().read()).isEqualTo(-1);
    }
  }

  @Test
  void streamLongerThanTheTimeout_clientSendingNothing_arrivesWholeAndTheConnectionStaysOpen() throws Exception {
    try (Socket s = socket()) {
      // Six chunks 0.4 s apart: 2.4 s with no byte from the client, never 1 s without a write.
      sendGet(s, invoke("echo", "/chunked?n=6&interval=0.4&size=16"));
      String response = readUntil(s.getInputStream(), "\r\n0\r\n\r\n");
      assertThat(response).startsWith("HTTP/1.1 200");
      for (int i = 0; i < 6; i++) {
        assertThat(response).contains("chunk-" + i);
      }
      // Never idle, so still open for the next request (an idle spell during the stream would
      // have closed it after the stream: a close is held back only while an exchange is active).
      sendGet(s, invoke("echo", "/after"));
      assertThat(readUntil(s.getInputStream(), "\r\n\r\n")).startsWith("HTTP/1.1 200");
    }
  }

  private static Socket socket() throws Exception {
    return RawHttp.connect(f.proxy.port(), 10_000);
  }
}
