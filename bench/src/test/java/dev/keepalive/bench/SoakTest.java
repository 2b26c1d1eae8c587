package dev.keepalive.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The {@link Soak} as a test: runs only under the Maven profile soak, which sets
 * {@code soak.duration} (the default build skips bench's tests altogether). Needs nginx on
 * 127.0.0.1:18080 (http) and :18443 (https): run it with {@code bench/soak.sh [DURATION]}, which
 * starts one and passes its CA. System properties: {@code soak.duration} (30m),
 * {@code soak.ca}, {@code soak.csv}, {@code soak.summary} (files), {@code soak.args} (more
 * options of Soak, space-separated: {@code --threads 4 --max-open 64}).
 */
@EnabledIfSystemProperty(named = "soak.duration", matches = ".+")
class SoakTest {
  @Test
  void heapAndDescriptorsStayFlatUnderChurnAndFaults() throws Exception {
    List<String> args = new ArrayList<>(List.of("--duration", System.getProperty("soak.duration")));
    for (String file : List.of("ca", "csv", "summary")) {
      String value = System.getProperty("soak." + file, "");
      if (!value.isBlank()) {
        args.addAll(List.of("--" + file, value));
      }
    }
    String more = System.getProperty("soak.args", "").strip();
    if (!more.isEmpty()) {
      args.addAll(List.of(more.split("\\s+")));
    }
    assertTrue(
        Soak.run(args.toArray(String[]::new)),
        "soak FAIL: the heap or the descriptors "
            + "grew, an invariant broke or nothing succeeded (see the summary printed above)");
  }
}
