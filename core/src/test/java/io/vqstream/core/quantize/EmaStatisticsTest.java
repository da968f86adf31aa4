package io.vqstream.core.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.tensor.Tensor;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Recording statistics and applying them later is the training forward's own EMA step, split in two. */
class EmaStatisticsTest {

    private static Tensor batch(long seed, int rows, int dim) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] x = new float[rows * dim];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return new Tensor(x, rows, 1, dim);
    }

    private static void assertRecordThenApplyEqualsTrain(Quantizer q) {
        Params start = q.initParams(5);
        Tensor x = batch(9, 40, q.dim());
        Params trained = start.copy();
        QuantizerOutput direct = q.forwardTokens(trained, x, ForwardOptions.train(RandomSource.seeded(77)));

        Params deferred = start.copy();
        EmaStatistics stats = new EmaStatistics();
        QuantizerOutput recorded = q.forwardTokens(deferred, x,
                ForwardOptions.builder().mode(Mode.TRAIN).random(RandomSource.seeded(77)).emaStatistics(stats).build());
        assertTrue(deferred.bitEquals(start), "recording leaves the parameters untouched");
        assertArrayEquals(direct.indices().data(), recorded.indices().data(), "the same codes");
        EmaStatistics wire = EmaStatistics.fromBytes(EmaStatistics.combine(List.of(new EmaStatistics(), stats)).toBytes());
        wire.applyTo(q, deferred, RandomSource.seeded(77));
        assertTrue(deferred.bitEquals(trained), q.type() + ": the deferred step equals the training forward's");
        assertFalse(trained.bitEquals(start), "the step changed the codebook");
    }

    @Test
    void vectorQuantizeWithDeadCodes() {
        assertRecordThenApplyEqualsTrain(Quantizers.create("VectorQuantize",
                Map.of("dim", 8, "codebook_size", 32, "decay", 0.8, "threshold_ema_dead_code", 2.0)));
    }

    @Test
    void residualVqLayerByLayer() {
        assertRecordThenApplyEqualsTrain(Quantizers.create("ResidualVQ",
                Map.of("dim", 8, "codebook_size", 16, "num_quantizers", 3, "decay", 0.9, "threshold_ema_dead_code", 1.0)));
    }

    @Test
    void groupedResidualVq() {
        assertRecordThenApplyEqualsTrain(Quantizers.create("GroupedResidualVQ",
                Map.of("dim", 8, "groups", 2, "codebook_size", 16, "num_quantizers", 2, "decay", 0.9)));
    }

    @Test
    void twoBatchesCombinedAreOneStepOnTheirUnion() {
        Quantizer q = Quantizers.create("VectorQuantize", Map.of("dim", 8, "codebook_size", 16, "decay", 0.5));
        Params start = q.initParams(2);
        Tensor a = batch(1, 30, 8);
        Tensor b = batch(2, 20, 8);
        float[] union = Arrays.copyOf(a.data(), 50 * 8);
        System.arraycopy(b.data(), 0, union, 30 * 8, 20 * 8);
        Params one = start.copy();
        q.forwardTokens(one, new Tensor(union, 50, 1, 8), ForwardOptions.train(RandomSource.seeded(0)));

        EmaStatistics sa = new EmaStatistics();
        EmaStatistics sb = new EmaStatistics();
        ForwardOptions.Builder o = ForwardOptions.builder().mode(Mode.TRAIN);
        q.forwardTokens(start, a, o.emaStatistics(sa).build());
        q.forwardTokens(start, b, o.emaStatistics(sb).build());
        EmaStatistics both = EmaStatistics.combine(List.of(sa, sb));
        assertEquals(50, both.layers().get(0).total(0));
        Params two = start.copy();
        both.applyTo(q, two, RandomSource.seeded(0));
        float[] x = one.get("_codebook.embed_avg").data();
        float[] y = two.get("_codebook.embed_avg").data();
        for (int i = 0; i < x.length; i++) {
            assertEquals(x[i], y[i], 1e-5f, "embed_avg[" + i + "]");
        }
        assertArrayEquals(one.get("_codebook.cluster_size").data(), two.get("_codebook.cluster_size").data(), 0f);
    }

    @Test
    void sharedCodebookResidualVqRefusesToRecord() {
        Quantizer q = Quantizers.create("ResidualVQ", Map.of("dim", 8, "codebook_size", 16, "num_quantizers", 2, "shared_codebook", true));
        assertThrows(IllegalArgumentException.class, () -> q.forwardTokens(q.initParams(1), batch(1, 4, 8),
                ForwardOptions.builder().mode(Mode.TRAIN).emaStatistics(new EmaStatistics()).build()));
    }

    /**
     * The wire format is the element-by-element DataOutput encoding of format 1 (parts are
     * checkpointed, so its bytes must not drift): written here field by field.
     */
    @Test
    void bytesAreFormatOneFieldByField() throws Exception {
        Quantizer q = Quantizers.create("VectorQuantize", Map.of("dim", 4, "codebook_size", 8, "decay", 0.8, "threshold_ema_dead_code", 2.0));
        EmaStatistics stats = new EmaStatistics();
        q.forwardTokens(q.initParams(3), batch(4, 6, 4), ForwardOptions.builder().mode(Mode.TRAIN).emaStatistics(stats).build());
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (java.io.DataOutputStream out = new java.io.DataOutputStream(bytes)) {
            out.writeInt(1);
            out.writeInt(stats.layers().size());
            for (EmaStatistics.Layer l : stats.layers()) {
                out.writeUTF(l.prefix);
                out.writeInt(l.numCodebooks);
                out.writeInt(l.size);
                out.writeInt(l.dim);
                out.writeBoolean(l.rows != null);
                float[] c = l.stats.counts();
                int hit = 0;
                for (int j = 0; j < l.size; j++) {
                    out.writeFloat(c[j]);
                }
                for (int j = 0; j < l.size; j++) {
                    if (c[j] != 0f) {
                        hit++;
                        for (int e = 0; e < l.dim; e++) {
                            out.writeFloat(l.stats.sums()[j * l.dim + e]);
                        }
                    }
                }
                assertTrue(hit > 1 && hit < l.size, "some codes hit, some not: " + hit);
                out.writeInt(l.rowCounts[0]);
                assertTrue(l.rowCounts[0] > 0, "candidate rows recorded");
                for (int i = 0; i < l.rowCounts[0] * l.dim; i++) {
                    out.writeFloat(l.rows[0][i]);
                }
            }
        }
        assertArrayEquals(bytes.toByteArray(), stats.toBytes());
        assertArrayEquals(bytes.toByteArray(), EmaStatistics.fromBytes(bytes.toByteArray()).toBytes());
    }
}
