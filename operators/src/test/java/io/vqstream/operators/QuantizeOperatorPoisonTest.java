package io.vqstream.operators;

import static io.vqstream.operators.OperatorTestSupport.codes;
import static io.vqstream.operators.OperatorTestSupport.deadLetters;
import static io.vqstream.operators.OperatorTestSupport.harness;
import static io.vqstream.operators.OperatorTestSupport.randomVector;
import static io.vqstream.operators.OperatorTestSupport.snapshots;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** A finite value too large for float32 arithmetic is one record's problem: a dead letter, never a non-finite output. */
class QuantizeOperatorPoisonTest {
    private static final Map<String, Object> VQ = Map.of("dim", 8, "codebook_size", 16, "decay", 0.8);

    private static VectorRecord rec(long seq, float[] v) {
        return new VectorRecord("k", seq, 1000 + seq, v);
    }

    private static void assertAllFinite(List<CodeRecord> out) {
        for (CodeRecord c : out) {
            assertTrue(Float.isFinite(c.error()), c.toString());
            if (c.quantized() != null) {
                for (float f : c.quantized()) {
                    assertTrue(Float.isFinite(f), c.toString());
                }
            }
        }
    }

    @Test
    void aHugeFiniteValueIsDeadLetteredAndTheLearnedCodebookStaysFinite() throws Exception {
        SplittableRandom rng = new SplittableRandom(7);
        var config = QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.INIT).learn(true).batchSize(4)
                .maxDelay(Duration.ZERO).emitQuantized(true).build();
        try (var h = harness(config)) {
            h.open();
            for (int i = 0; i < 12; i++) {
                float[] v = randomVector(rng, 8);
                if (i == 5) {
                    v[3] = 1e30f;
                }
                h.processElement1(rec(i, v), 1000 + i);
            }
            h.endInput1();
            List<CodeRecord> out = codes(h);
            assertEquals(11, out.size());
            assertTrue(out.stream().noneMatch(c -> c.seq() == 5));
            assertAllFinite(out);
            List<DeadLetter> dead = deadLetters(h);
            assertEquals(1, dead.size());
            assertEquals(DeadLetter.Stage.QUANTIZE, dead.get(0).stage());
            assertTrue(dead.get(0).reason().startsWith("vector too large"), dead.get(0).reason());
            for (CodebookSnapshot s : snapshots(h)) {
                for (float f : s.params().get("_codebook.embed").data()) {
                    assertTrue(Float.isFinite(f) && Math.abs(f) < 100, "codebook value " + f);
                }
            }
        }
    }

    @Test
    void aCodebookTooLargeForTheErrorTermDeadLettersTheRecordInsteadOfEmittingInfinity() throws Exception {
        Params p = Quantizers.create("VectorQuantize", VQ).initParams(1);
        Tensor embed = p.get("_codebook.embed");
        float[] huge = embed.data().clone();
        java.util.Arrays.fill(huge, 1e20f);
        p.put("_codebook.embed", new Tensor(huge, embed.shape()));
        var config = QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.FILE).sharedParams(p).batchSize(2)
                .maxDelay(Duration.ZERO).build();
        try (var h = harness(config)) {
            h.open();
            h.processElement1(rec(0, randomVector(new SplittableRandom(1), 8)), 1000);
            h.processElement1(rec(1, randomVector(new SplittableRandom(2), 8)), 1001);
            assertEquals(0, codes(h).size());
            List<DeadLetter> dead = deadLetters(h);
            assertEquals(2, dead.size());
            assertTrue(dead.get(0).reason().startsWith("non-finite quantization error"), dead.get(0).reason());
        }
    }
}
