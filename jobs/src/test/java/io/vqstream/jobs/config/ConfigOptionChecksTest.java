package io.vqstream.jobs.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.config.Check;
import io.vqstream.core.config.ConfigOption;
import io.vqstream.core.config.OptionType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Each key's checks hold in the YAML file: a value out of its bound is refused with one line naming the key and the bound. */
class ConfigOptionChecksTest {

    /** A configuration with one key set to {@code value} (nested as YAML nests it) and an FSQ quantizer. */
    private static Map<String, Object> withKey(String key, Object value) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("quantizer", Map.of("type", "FSQ", "levels", List.of(8, 5, 5, 5)));
        String[] parts = key.split("\\.");
        Map<String, Object> m = root;
        for (int i = 0; i < parts.length - 1; i++) {
            @SuppressWarnings("unchecked")
            Map<String, Object> next = (Map<String, Object>) m.computeIfAbsent(parts[i], k -> new LinkedHashMap<String, Object>());
            m = next;
        }
        m.put(parts[parts.length - 1], value);
        return root;
    }

    private static String error(String key, Object value) {
        return assertThrows(ConfigException.class, () -> JobConfig.fromMap(withKey(key, value), true), key + " = " + value).getMessage();
    }

    @Test
    void everyCheckOfEveryKeyRefusesItsCounterexampleNamingTheKey() {
        int checked = 0;
        for (ConfigOption<?> o : ConfigKeys.ALL) {
            for (Check<?> c : o.checks()) {
                Object bad = c.violatingExample();
                assertNotNull(bad, o.key() + ": " + c.rule() + " has a counterexample");
                String msg = error(o.key(), bad);
                assertTrue(msg.startsWith("config key '" + o.key() + "'"), msg);
                assertFalse(msg.contains("\n"), "one line: " + msg);
                checked++;
            }
        }
        assertTrue(checked >= 20, "checks exercised: " + checked);
    }

    @Test
    void numericKeysAreBoundedAndRealNumbersRefuseNaN() {
        // numbers without a bound by design: any seed is a seed
        Set<String> unbounded = Set.of("seed");
        for (ConfigOption<?> o : ConfigKeys.ALL) {
            boolean numeric = o.type() == OptionType.INT || o.type() == OptionType.LONG || o.type() == OptionType.DOUBLE;
            if (numeric && !unbounded.contains(o.key())) {
                assertFalse(o.checks().isEmpty(), o.key() + " has a bound");
            }
            if (o.type() == OptionType.DOUBLE) {
                assertTrue(error(o.key(), Double.NaN).startsWith("config key '" + o.key() + "' must be a finite number, got NaN"), o.key());
                assertTrue(error(o.key(), Double.NEGATIVE_INFINITY).contains("finite"), o.key());
            }
        }
    }

    /** The bound of each key, one by one: a check dropped from an option fails its row. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "learn.accumulate | 0 | config key 'learn.accumulate' must be at least 1, got 0",
        "backend | gpu9 | config key 'backend': unknown backend 'gpu9' (expected auto, jvm, nd4j or jvm-scalar)",
        "batch.size | 0 | config key 'batch.size' must be at least 1, got 0",
        "batch.max-delay | -5 | config key 'batch.max-delay' must not be negative",
        "codebook.round-timeout | 0 | config key 'codebook.round-timeout' must be positive, got 0 ms",
        "codebook.init-min-vectors | 0 | config key 'codebook.init-min-vectors' must be at least 1, got 0",
        "codebook.publish-every | -1 | config key 'codebook.publish-every' must be at least 0, got -1",
        "output.topk | -1 | config key 'output.topk' must be at least 0, got -1",
        "audio.sample-rate | 0 | config key 'audio.sample-rate' must be in [1, 1000000], got 0",
        "audio.sample-rate | 1000001 | config key 'audio.sample-rate' must be in [1, 1000000], got 1000001",
        "audio.win-length | 0 | config key 'audio.win-length' must be at least 1, got 0",
        "audio.hop | 0 | config key 'audio.hop' must be at least 1, got 0",
        "audio.n-fft | 0 | config key 'audio.n-fft' must be at least 1, got 0",
        "audio.n-mels | 0 | config key 'audio.n-mels' must be at least 1, got 0",
        "audio.chunk-samples | 16777217 | config key 'audio.chunk-samples' must be in [1, 16777216], got 16777217",
        "audio.max-buffered-chunks | 0 | config key 'audio.max-buffered-chunks' must be in [1, 1048576], got 0",
        "audio.gate-db | 3 | config key 'audio.gate-db' must be at most 0 (a level in dB full scale), got 3.0",
        "job.parallelism | 0 | config key 'job.parallelism' must be at least 1, got 0",
        "job.parallelism | 32769 | config key 'job.parallelism' must be at most 32768 (Flink's maximum), got 32769",
        "job.checkpoint-interval | 9 | config key 'job.checkpoint-interval' must be at least 10 ms, got 9 ms",
    })
    void eachBoundedKeyRefusesAValueOutsideItsBound(String key, String value, String message) {
        Object yaml = value.matches("-?\\d+") ? (Object) Long.parseLong(value) : value;
        assertEquals(message, error(key, yaml));
    }

    @Test
    void valuesOnTheBoundPass() {
        assertEquals(1, JobConfig.fromMap(withKey("batch.size", 1), true).batchSize);
        assertEquals(32768, JobConfig.fromMap(withKey("job.parallelism", 32768), true).parallelism);
        assertEquals(0.0, JobConfig.fromMap(withKey("audio.gate-db", 0), true).gateDb);
        assertEquals(0, JobConfig.fromMap(withKey("codebook.publish-every", 0), true).publishEvery);
        assertEquals("scalar", JobConfig.fromMap(withKey("backend", "scalar"), true).backend, "the alias of jvm-scalar");
    }
}
