package dev.keepalive.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;

/** {@link Columns} prints what the format strings it replaces print. */
class ColumnsTest {
  @Property
  void groupedIsCommaD(@ForAll long n) {
    assertThat(Columns.grouped(n)).isEqualTo(String.format(Locale.ROOT, "%,d", n));
  }

  @Property
  void leftAndRightAreWidths(
      @ForAll @StringLength(max = 30) String s, @ForAll @IntRange(min = 1, max = 25) int w) {
    assertThat(Columns.left(s, w)).isEqualTo(String.format(Locale.ROOT, "%-" + w + "s", s));
    assertThat(Columns.right(s, w)).isEqualTo(String.format(Locale.ROOT, "%" + w + "s", s));
  }

  /** Half up on the exact decimal value, as Formatter rounds a BigDecimal. */
  @Property
  void decimalIsDotDfOfTheExactValue(
      @ForAll @LongRange(min = -10_000_000_000L, max = 10_000_000_000L) long nanos,
      @ForAll @IntRange(min = 0, max = 6) int decimals) {
    BigDecimal exact = BigDecimal.valueOf(nanos, 6);
    assertThat(Columns.decimal(nanos, 6, decimals))
        .isEqualTo(String.format(Locale.ROOT, "%." + decimals + "f", exact));
  }

  @Test
  void examples() {
    assertThat(Columns.decimal(1_234_567, 6, 2)).isEqualTo("1.23");
    assertThat(Columns.decimal(1_235_000, 6, 2)).isEqualTo("1.24");
    assertThat(Columns.decimal(999_500, 6, 3)).isEqualTo("1.000");
    assertThat(Columns.decimal(499, 6, 3)).isEqualTo("0.000");
    assertThat(Columns.decimal(500, 6, 3)).isEqualTo("0.001");
    assertThat(Columns.decimal(-1_500_000, 6, 0)).isEqualTo("-2");
    assertThat(BenchReport.millis(44_812_345)).isEqualTo("44.8 ms");
    assertThat(BenchReport.millis(123_456_789)).isEqualTo("123 ms");
    assertThat(new BigDecimal("2.5").setScale(0, RoundingMode.HALF_UP).toString())
        .isEqualTo("3");
    assertThatThrownBy(() -> Columns.decimal(1, 2, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("decimals 3");
  }
}
