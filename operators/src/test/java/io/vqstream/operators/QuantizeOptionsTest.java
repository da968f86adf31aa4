package io.vqstream.operators;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vqstream.core.config.ConfigOption;
import io.vqstream.core.config.OptionValueException;
import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** The builder takes its defaults from {@link QuantizeOptions} and refuses what the options refuse, with the same message. */
class QuantizeOptionsTest {
    private static QuantizeOperatorConfig.Builder vq() {
        return QuantizeOperatorConfig.builder("VectorQuantize", Map.of("dim", 4, "codebook_size", 8));
    }

    private static <T> void refusedLikeTheOption(ConfigOption<T> option, T bad, Consumer<QuantizeOperatorConfig.Builder> set) {
        String expected = assertThrows(OptionValueException.class, () -> option.validate(bad)).getMessage();
        OptionValueException e = assertThrows(OptionValueException.class, () -> {
            QuantizeOperatorConfig.Builder b = vq();
            set.accept(b);
            b.build();
        }, option.key());
        assertEquals(expected, e.getMessage());
        assertEquals(option.key(), e.key());
    }

    @Test
    void theBuilderRefusesEachKeysBadValueWithTheKeysMessage() {
        refusedLikeTheOption(QuantizeOptions.BATCH_SIZE, 0, b -> b.batchSize(0));
        refusedLikeTheOption(QuantizeOptions.BATCH_MAX_DELAY, Duration.ofMillis(-1), b -> b.maxDelay(Duration.ofMillis(-1)));
        refusedLikeTheOption(QuantizeOptions.CODEBOOK_PUBLISH_EVERY, -1, b -> b.publishEvery(-1));
        refusedLikeTheOption(QuantizeOptions.LEARN_ACCUMULATE, 0, b -> b.accumulate(0));
        refusedLikeTheOption(QuantizeOptions.OUTPUT_TOPK, -1, b -> b.topk(-1));
        refusedLikeTheOption(QuantizeOptions.BACKEND, "gpu9", b -> b.backend("gpu9"));
        refusedLikeTheOption(QuantizeOptions.CODEBOOK_ROUND_TIMEOUT, Duration.ZERO, b -> b.roundTimeout(Duration.ZERO));
        refusedLikeTheOption(QuantizeOptions.CODEBOOK_INIT_MIN_VECTORS, 0, b -> b.initMinVectors(0));
        assertEquals("config key 'batch.size' must be at least 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> vq().batchSize(0).build()).getMessage());
    }

    @Test
    void theBuildersDefaultsAreTheOptionsDefaults() {
        QuantizeOperatorConfig c = vq().build();
        assertEquals(QuantizeOptions.LEARN.defaultValue(), c.learn());
        assertEquals(QuantizeOptions.BATCH_SIZE.defaultValue(), c.batchSize());
        assertEquals(QuantizeOptions.BATCH_MAX_DELAY.defaultValue().toMillis(), c.maxDelayMillis());
        assertEquals(QuantizeOptions.CODEBOOK_SOURCE.defaultValue(), c.source());
        assertEquals(QuantizeOptions.CODEBOOK_SCOPE.defaultValue(), c.scope());
        assertEquals(QuantizeOptions.CODEBOOK_ROUND_TIMEOUT.defaultValue().toMillis(), c.roundTimeoutMillis());
        assertEquals(QuantizeOptions.CODEBOOK_PUBLISH_EVERY.defaultValue(), c.publishEvery());
        assertEquals(QuantizeOptions.SEED.defaultValue(), c.seed());
        assertEquals(QuantizeOptions.OUTPUT_QUANTIZED.defaultValue(), c.emitQuantized());
        assertEquals(QuantizeOptions.OUTPUT_ERROR.defaultValue(), c.emitError());
        assertEquals(QuantizeOptions.OUTPUT_TOPK.defaultValue(), c.topk());
        assertEquals(QuantizeOptions.LEARN_ACCUMULATE.defaultValue(), c.accumulate());
        assertEquals(QuantizeOptions.BACKEND.defaultValue(), c.backend());
        assertEquals(8, c.initMinVectors(), "init-min-vectors defaults to the largest codebook size");
    }
}
