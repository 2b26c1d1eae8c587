package dev.keepalive.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.TypeConversionException;

/** The small pieces: durations, JSON, file names, the progress line. */
class UnitTest {
  @Test
  void durations() {
    assertThat(Durations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(Durations.parse("10s")).isEqualTo(Duration.ofSeconds(10));
    assertThat(Durations.parse("10")).isEqualTo(Duration.ofSeconds(10));
    assertThat(Durations.parse("1.5s")).isEqualTo(Duration.ofMillis(1500));
    assertThat(Durations.parse("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(Durations.parse("1h")).isEqualTo(Duration.ofHours(1));
    assertThat(Durations.parse("PT3S")).isEqualTo(Duration.ofSeconds(3));
    assertThatThrownBy(() -> Durations.parse("0s")).isInstanceOf(TypeConversionException.class);
    assertThatThrownBy(() -> Durations.parse("-1s")).isInstanceOf(TypeConversionException.class);
    assertThatThrownBy(() -> Durations.parse("soon")).isInstanceOf(TypeConversionException.class);
    assertThat(Durations.format(Duration.ofMillis(250))).isEqualTo("250 ms");
    assertThat(Durations.format(Duration.ofSeconds(10))).isEqualTo("10 s");
    assertThat(Durations.format(Duration.ofMillis(1500))).isEqualTo("1.5 s");
    assertThat(Durations.format(Duration.ofMinutes(5))).isEqualTo("5 min");
  }

  @Test
  void jsonIsValidAndEscaped() throws Exception {
    Map<String, Object> inner = new LinkedHashMap<>();
    inner.put("empty", Map.of());
    inner.put("list", Arrays.asList(1, "two", null));
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("text", "quote \" backslash \\ newline \n tab \t bell \u0007 é");
    m.put("int", 42L);
    m.put("double", 0.25);
    m.put("small", 1e-7);
    m.put("nan", Double.NaN);
    m.put("bool", true);
    m.put("null", null);
    m.put("inner", inner);
    JsonNode n = new ObjectMapper().readTree(Json.write(m));
    assertThat(n.get("text").asText()).isEqualTo(m.get("text"));
    assertThat(n.get("int").asLong()).isEqualTo(42);
    assertThat(n.get("double").asDouble()).isEqualTo(0.25);
    assertThat(n.get("small").asDouble()).isEqualTo(0.0);
    assertThat(n.get("nan").isNull()).isTrue();
    assertThat(n.get("bool").asBoolean()).isTrue();
    assertThat(n.get("null").isNull()).isTrue();
    assertThat(n.get("inner").get("empty").size()).isZero();
    assertThat(n.get("inner").get("list").size()).isEqualTo(3);
  }

  @Test
  void fileNames() {
    Set<String> taken = new HashSet<>();
    assertThat(GetCommand.fileName("http://h:1/", taken)).isEqualTo("index.html");
    assertThat(GetCommand.fileName("http://h:1", taken)).isEqualTo("index.html.1");
    assertThat(GetCommand.fileName("http://h/a/b.txt?x=1#f", taken)).isEqualTo("b.txt");
    assertThat(GetCommand.fileName("http://h/c/b.txt", taken)).isEqualTo("b.txt.1");
    assertThat(GetCommand.fileName("http://h/a/..", taken)).isEqualTo("index.html.2");
    assertThat(GetCommand.fileName("http://h/we%20ird:name", taken)).isEqualTo("we_20ird_name");
  }

  @Test
  void progressLine() {
    assertThat(Progress.line(5_000_000_000L, 125_000, 3, 0, 10_000_000_000L))
        .isEqualTo("[############............]  50%  5.0 s  125,000 requests  25,000/s  3 errors");
    assertThat(Progress.line(1_000_000_000L, 100, 0, 400, 0))
        .startsWith("[######..................]  25%");
    assertThat(Progress.line(20_000_000_000L, 100, 0, 0, 10_000_000_000L))
        .startsWith("[########################] 100%");
  }

  @Test
  void latencyFormat() {
    assertThat(BenchReport.millis(412_345)).isEqualTo("0.412 ms");
    assertThat(BenchReport.millis(2_314_000)).isEqualTo("2.31 ms");
    assertThat(BenchReport.millis(23_700_000)).isEqualTo("23.7 ms");
    assertThat(BenchReport.millis(412_000_000)).isEqualTo("412 ms");
  }
}
