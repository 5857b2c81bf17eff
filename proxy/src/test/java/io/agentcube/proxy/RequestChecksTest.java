package io.agentcube.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.agentcube.error.AgentCubeException;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpVersion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** One case per attack on the hand-written head checks (the raw-socket ones: ProtocolStrictnessIT). */
class RequestChecksTest {

  private static MultiMap headers(String... pairs) {
    MultiMap m = MultiMap.caseInsensitiveMultiMap();
    for (int i = 0; i < pairs.length; i += 2) {
      m.add(pairs[i], pairs[i + 1]);
    }
    return m;
  }

  private static String check(String uri, MultiMap headers) {
    AgentCubeException e = RequestChecks.violation(HttpVersion.HTTP_1_1, uri, headers);
    return e == null ? null : e.code().status() + " " + e.getMessage();
  }

  @Test
  void plainRequests_pass() {
    assertThat(check("/a/b?c=d&e=%20", headers("Host", "x"))).isNull();
    assertThat(check("/a", headers("Host", "x", "Content-Length", "12"))).isNull();
    assertThat(check("/a", headers("Host", "x", "Transfer-Encoding", "chunked"))).isNull();
    assertThat(check("/a", headers("Host", "x", "Transfer-Encoding", "Chunked"))).as("case-insensitive").isNull();
    assertThat(check("http://x/a", headers("Host", "x"))).as("absolute form").isNull();
    assertThat(RequestChecks.violation(HttpVersion.HTTP_1_0, "/", headers())).as("1.0 without Host").isNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"/a#b", "/a\0b", "/a\tb", "/a\u007fb", "/a\u00e9", "/a\rb", "/a\nb"})
  void badCharacterInTarget_400(String uri) {
    assertThat(check(uri, headers("Host", "x"))).startsWith("400 invalid character in the request target");
  }

  @ParameterizedTest
  @ValueSource(strings = {"/%zz", "/a%", "/a%4", "/a%g0", "/?q=%"})
  void brokenPercentEncodingInTarget_400(String uri) {
    // Found by FuzzIT: the router's path normalisation threw on "%zz", a 500.
    assertThat(check(uri, headers("Host", "x"))).startsWith("400 invalid percent-encoding");
  }

  @ParameterizedTest
  @ValueSource(strings = {"?/v1/sessions", "v1/sessions", "", "**", "ftp://x/", "http://", "http:///a",
      "http://u@x/", "http://x y/", "http://:80/", "http://x%zz/"})
  void targetNotAPathNorAnAbsoluteUri_400(String uri) {
    // Found by FuzzIT: "?/v1/..." reached the router and was a 500.
    assertThat(check(uri, headers("Host", "x"))).startsWith("400");
  }

  @Test
  void targetForms_pass() {
    for (String uri : new String[] {"/", "*", "http://x/a?b", "HTTPS://x:8443", "http://[::1]:80/p"}) {
      assertThat(check(uri, headers("Host", "x"))).as(uri).isNull();
    }
  }

  @Test
  void host_missingOrTwice_400() {
    assertThat(check("/", headers())).startsWith("400").contains("needs a Host");
    assertThat(check("/", headers("Host", "a", "Host", "b"))).startsWith("400").contains("more than one Host");
    assertThat(RequestChecks.violation(HttpVersion.HTTP_1_0, "/", headers("Host", "a", "Host", "b"))).isNotNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"x y", "lication/json", "xon: close", "a\tb", "x\u0000", "h\u00e9", "a@b", "a\\b",
      ":x", ":80", "x:", "x:y", "x:99999", "x:123456", "[::1", "[]", "[zz]:80", "x%zz", "x:80:80", "%00x", "x%00", "a%41b"})
  void hostWithCharactersNoAuthorityHas_400(String host) {
    // Found by FuzzIT: an obs-folded or damaged Host reached the router and was a 500.
    assertThat(check("/", headers("Host", host))).startsWith("400 invalid Host");
  }

  @Test
  void hostForms_pass() {
    for (String host : new String[] {"example.com", "example.com:8080", "127.0.0.1:1", "[::1]:8080", "[::1]", "",
        "xn--bcher-kva.example", "x:65535"}) {
      assertThat(check("/", headers("Host", host))).as(host).isNull();
    }
  }

  @Test
  void contentLengthWithTransferEncoding_400() {
    assertThat(check("/", headers("Host", "x", "Content-Length", "5", "Transfer-Encoding", "chunked")))
        .startsWith("400").contains("ambiguous");
  }

  @ParameterizedTest
  @ValueSource(strings = {"gzip", "chunked, gzip", "chunked,chunked", "identity", ""})
  void chunkedNotFinalOrTwice_400(String te) {
    assertThat(check("/", headers("Host", "x", "Transfer-Encoding", te))).startsWith("400")
        .contains("must end with chunked");
  }

  @Test
  void chunkedInTwoFields_400() {
    assertThat(check("/", headers("Host", "x", "Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked")))
        .startsWith("400");
  }

  @Test
  void unknownCodingBeforeChunked_501WithoutEchoingControlCharacters() {
    assertThat(check("/", headers("Host", "x", "Transfer-Encoding", "gzip, chunked")))
        .isEqualTo("501 transfer coding not implemented (only chunked is): gzip");
    assertThat(check("/", headers("Host", "x", "Transfer-Encoding", "x\u0001y, chunked")))
        .isEqualTo("501 transfer coding not implemented (only chunked is): x?y");
  }

  @ParameterizedTest
  @ValueSource(strings = {"-1", "+5", "5 ", "0x10", "1e3", "", "99999999999999999999", "3,4"})
  void malformedContentLength_400(String cl) {
    assertThat(check("/", headers("Host", "x", "Content-Length", cl))).startsWith("400").contains("Content-Length");
  }

  @Test
  void twoContentLengths_400() {
    assertThat(check("/", headers("Host", "x", "Content-Length", "3", "Content-Length", "3"))).startsWith("400");
  }
}
