package io.vqstream.core.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Reading, type errors, checks and table text of one option. */
class ConfigOptionTest {
    private static final ConfigOption<Integer> SIZE = ConfigOption.key("batch.size", OptionType.INT)
            .defaultValue(256).check(Check.atLeast(1)).description("records").flag("--size", "N");
    private static final ConfigOption<Double> GATE = ConfigOption.key("audio.gate-db", OptionType.DOUBLE)
            .check(Check.finite()).check(Check.atMost(0.0, "dBFS"));

    private static String refused(Runnable r) {
        return assertThrows(OptionValueException.class, r::run).getMessage();
    }

    @Test
    void readsDefaultsTypesAndBounds() {
        assertEquals(256, SIZE.fromYaml(null));
        assertEquals(3, SIZE.fromYaml(3));
        assertEquals("batch", SIZE.section());
        assertEquals("size", SIZE.leaf());
        assertEquals("config key 'batch.size' must be an integer, got 'ten'", refused(() -> SIZE.fromYaml("ten")));
        assertEquals("config key 'batch.size' must be an integer, got 2.5", refused(() -> SIZE.fromYaml(2.5)));
        assertEquals("config key 'batch.size' must be an integer, got 3000000000", refused(() -> SIZE.fromYaml(3_000_000_000L)));
        assertEquals("config key 'batch.size' must be at least 1, got 0", refused(() -> SIZE.fromYaml(0)));
        assertEquals("config key 'batch.size' must be at least 1, got -4", refused(() -> SIZE.validate(-4)));
        assertEquals(7, SIZE.fromFlag("7"));
        assertEquals("--size must be at least 1, got 0", refused(() -> SIZE.fromFlag("0")));
        assertEquals("--size must be an integer, got 'x'", refused(() -> SIZE.fromFlag("x")));
    }

    @Test
    void realNumbersRefuseNaNAndInfinityBeforeTheirBound() {
        assertNull(GATE.fromYaml(null));
        assertEquals(-60.0, GATE.fromYaml(-60));
        assertEquals("config key 'audio.gate-db' must be a finite number, got NaN", refused(() -> GATE.fromYaml(Double.NaN)));
        assertEquals("config key 'audio.gate-db' must be a finite number, got Infinity",
                refused(() -> GATE.fromYaml(Double.POSITIVE_INFINITY)));
        assertEquals("config key 'audio.gate-db' must be at most 0 (dBFS), got 1.5", refused(() -> GATE.fromYaml(1.5)));
    }

    @Test
    void durationsPathsEnumsAndMappings() {
        ConfigOption<Duration> d = ConfigOption.key("batch.max-delay", OptionType.DURATION).check(Check.notNegative());
        assertEquals(Duration.ofMillis(1500), d.fromYaml("1.5s"));
        assertEquals(Duration.ofMinutes(2), d.fromYaml("2min"));
        assertEquals(Duration.ZERO, d.fromYaml("none"));
        assertEquals(Duration.ofMillis(750), d.fromYaml(750));
        assertEquals("config key 'batch.max-delay' must not be negative", refused(() -> d.fromYaml(-1)));
        assertEquals("config key 'batch.max-delay' must be a duration like 50ms, 10s or 2min, got 'soon'", refused(() -> d.fromYaml("soon")));
        assertEquals("100ms", OptionType.DURATION.format(Duration.ofMillis(100)));
        assertEquals("10s", OptionType.DURATION.format(Duration.ofSeconds(10)));
        assertEquals("2min", OptionType.DURATION.format(Duration.ofMinutes(2)));

        ConfigOption<Path> p = ConfigOption.key("job.restore-from", OptionType.PATH);
        assertEquals(Path.of("/tmp/sp-1"), p.fromYaml("file:/tmp/sp-1"));
        assertEquals(Path.of("rel/x"), p.fromYaml("rel/x"));

        ConfigOption<Thread.State> e = ConfigOption.key("job.state", OptionType.enumType(Thread.State.class));
        assertEquals(Thread.State.TIMED_WAITING, e.fromYaml("Timed-Waiting"));
        assertEquals("new | runnable | blocked | waiting | timed-waiting | terminated", e.type().name());
        assertEquals("config key 'job.state' must be one of new, runnable, blocked, waiting, timed-waiting, terminated, got 'x'",
                refused(() -> e.fromYaml("x")));

        ConfigOption<Map<String, String>> m = ConfigOption.key("kafka.properties", OptionType.STRING_MAP).defaultValue(Map.of());
        assertEquals(Map.of("linger.ms", "5"), m.fromYaml(Map.of("linger.ms", 5)));
        assertEquals("config key 'kafka.properties' must be a mapping, got [a]", refused(() -> m.fromYaml(List.of("a"))));
    }

    @Test
    void keysAreDottedLowerCaseNames() {
        assertThrows(IllegalArgumentException.class, () -> ConfigOption.key("Batch Size", OptionType.INT));
        assertEquals("default-text", SIZE.defaultDescription("default-text").defaultText());
        assertEquals("256", SIZE.defaultText());
        assertEquals("none", GATE.defaultText());
    }
}
