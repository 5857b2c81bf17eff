package io.agentcube.proxy.relay;

/**
 * The byte classes of RFC 9110 §5.6 that {@link RequestHead}, {@link ResponseHead} and {@link
 * ChunkedDecoderState} share, so a header field and a trailer field are held to one set of rules;
 * and the scans the two head parsers run over their {@link HeadScratch} copy.
 */
final class HttpBytes {

  static final byte CR = '\r';
  static final byte LF = '\n';
  static final byte SP = ' ';
  static final byte HT = '\t';

  /** tchar: {@code !#$%&'*+-.^_`|~}, DIGIT, ALPHA. */
  static final boolean[] TCHAR = new boolean[256];
  /** field-vchar (VCHAR / obs-text) plus SP and HTAB: what a field value may hold. */
  static final boolean[] VALUE = new boolean[256];
  /** A byte of a request target: visible ASCII except {@code #} (a fragment is never sent). */
  static final boolean[] TARGET = new boolean[256];

  static {
    for (int c = '0'; c <= '9'; c++) {
      TCHAR[c] = true;
    }
    for (int c = 'a'; c <= 'z'; c++) {
      TCHAR[c] = true;
      TCHAR[c - 32] = true;
    }
    for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
      TCHAR[c] = true;
    }
    for (int c = 0x21; c <= 0x7e; c++) {
      VALUE[c] = true;
    }
    for (int c = 0x80; c <= 0xff; c++) {
      VALUE[c] = true; // obs-text: allowed in values by RFC 9110 §5.5, opaque to us
    }
    VALUE[SP] = true;
    VALUE[HT] = true;
    for (int c = 0x21; c < 0x7f; c++) {
      TARGET[c] = c != '#';
    }
  }

  private HttpBytes() {}

  static boolean tchar(byte b) {
    return TCHAR[b & 0xff];
  }

  static boolean valueByte(byte b) {
    return VALUE[b & 0xff];
  }

  static boolean ows(byte b) {
    return b == SP || b == HT;
  }

  /** ASCII lower case of {@code b}; other bytes unchanged. */
  static int lower(byte b) {
    return b >= 'A' && b <= 'Z' ? b + 32 : b;
  }

  /** The value of a hex digit, or -1. */
  static int hex(byte b) {
    if (b >= '0' && b <= '9') {
      return b - '0';
    }
    int l = b | 0x20;
    return l >= 'a' && l <= 'f' ? l - 'a' + 10 : -1;
  }

  /** Index of the first CR or LF in {@code a[from, to)}, or -1. */
  static int findCrlf(byte[] a, int from, int to) {
    for (int i = from; i < to; i++) {
      byte b = a[i];
      if (b == CR || b == LF) {
        return i;
      }
    }
    return -1;
  }

  /** The first index in [from, end) whose byte {@code table} refuses, or end. */
  static int scanTo(byte[] a, int from, int end, boolean[] table) {
    int i = from;
    while (i < end && table[a[i] & 0xff]) {
      i++;
    }
    return i;
  }

  static boolean equalsLower(byte[] a, int at, int len, byte[] lower) {
    if (len != lower.length) {
      return false;
    }
    for (int i = 0; i < len; i++) {
      if (HttpBytes.lower(a[at + i]) != lower[i]) {
        return false;
      }
    }
    return true;
  }

  static boolean startsWith(byte[] a, int at, String ascii) {
    for (int i = 0; i < ascii.length(); i++) {
      if (a[at + i] != ascii.charAt(i)) {
        return false;
      }
    }
    return true;
  }
}
