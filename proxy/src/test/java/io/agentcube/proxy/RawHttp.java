package io.agentcube.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** HTTP/1.1 over a plain socket, for tests that must see the bytes and the close themselves. */
final class RawHttp {
  private RawHttp() {}

  /** A socket to {@code 127.0.0.1:port} whose reads give up after {@code timeoutMs}. */
  static Socket connect(int port, int timeoutMs) throws IOException {
    Socket s = new Socket("127.0.0.1", port);
    s.setSoTimeout(timeoutMs);
    return s;
  }

  /** Writes a GET of {@code target} with a Host field and nothing else. */
  static void sendGet(Socket s, String target) throws IOException {
    s.getOutputStream().write(("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
  }

  /** Bytes up to and including {@code end}; an IOException if the connection ends first. */
  static String readUntil(InputStream in, String end) throws IOException {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    while (!got.toString(StandardCharsets.ISO_8859_1).endsWith(end)) {
      int c = in.read();
      if (c < 0) {
        throw new IOException("connection ended after: " + got.toString(StandardCharsets.ISO_8859_1));
      }
      got.write(c);
    }
    return got.toString(StandardCharsets.ISO_8859_1);
  }
}
