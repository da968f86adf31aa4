package io.vqstream.core.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import static io.vqstream.core.quantize.VectorQuantizeTest.args;
import static io.vqstream.core.quantize.VectorQuantizeTest.gaussian;

/**
 * Options of VectorQuantize and its residual stacks that the conformance cases do not reach:
 * stochastic sampling, the diversity loss, the cross-entropy commitment, the orthogonal
 * regulariser on a random subset, the learnable-codebook refusal and the grouped quantize
 * dropout. Expected values are recomputed here in float64 from the definitions.
 */
class VectorQuantizeOptionsTest {

    // gaussian(seed, shape...) and args(name, value, ...) come from VectorQuantizeTest

    /** A random source that records its Gumbel draws and returns scripted uniforms and row picks. */
    private static final class ScriptedRandom implements RandomSource {
        final SplittableRandom rng = new SplittableRandom(11);
        final List<Double> gumbels = new ArrayList<>();
        final double[] uniforms;
        int uniformCalls;
        final int[] rows;
        int rowsAvailable = -1;

        ScriptedRandom(double[] uniforms, int[] rows) {
            this.uniforms = uniforms;
            this.rows = rows;
        }

        @Override
        public int[] kmeansSeedRows(int available, int count) {
            throw new AssertionError("no kmeans here");
        }

        @Override
        public int[] deadCodeRows(int available, int count) {
            rowsAvailable = available;
            assertEquals(rows.length, count);
            return rows.clone();
        }

        @Override
        public double gumbel() {
            double g = -Math.log(-Math.log(rng.nextDouble() * 0.999998 + 1e-6));
            gumbels.add(g);
            return g;
        }

        @Override
        public double uniform() {
            return uniforms[uniformCalls++];
        }
    }

    /** Negative euclidean distances in float64, {@code (m, c)}. */
    private static double[][] scores(float[] x, float[] e, int m, int c, int d) {
        double[][] s = new double[m][c];
        for (int t = 0; t < m; t++) {
            for (int j = 0; j < c; j++) {
                double q = 0;
                for (int k = 0; k < d; k++) {
                    double diff = (double) x[t * d + k] - e[j * d + k];
                    q += diff * diff;
                }
                s[t][j] = -Math.sqrt(Math.max(q, 1e-8));
            }
        }
        return s;
    }

    private static double[] softmax(double[] s, double scale) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : s) {
            max = Math.max(max, v * scale);
        }
        double[] p = new double[s.length];
        double z = 0;
        for (int j = 0; j < s.length; j++) {
            p[j] = Math.exp(s[j] * scale - max);
            z += p[j];
        }
        for (int j = 0; j < s.length; j++) {
            p[j] /= z;
        }
        return p;
    }

    @Test
    void stochasticSamplingPicksTheArgmaxOfScoresOverTemperaturePlusGumbelNoise() {
        int d = 4;
        int c = 8;
        double temp = 0.7;
        Quantizer vq = Quantizers.create("VectorQuantize", args("dim", d, "codebook_size", c,
                "stochastic_sample_codes", true, "sample_codebook_temp", temp, "freeze_codebook", true));
        Params p = vq.initParams(3);
        Tensor x = gaussian(5, 2, 10, d);
        float[] e = p.get("_codebook.embed").data().clone();
        ScriptedRandom rnd = new ScriptedRandom(new double[0], new int[0]);
        long[] got = vq.forwardTokens(p, x, ForwardOptions.train(rnd)).indices().data();

        double[][] s = scores(x.data(), e, 20, c, d);
        assertEquals(20 * c, rnd.gumbels.size(), "one Gumbel draw per token and code");
        int differsFromNearest = 0;
        for (int t = 0; t < 20; t++) {
            int best = 0;
            int nearest = 0;
            for (int j = 1; j < c; j++) {
                if (s[t][j] / temp + rnd.gumbels.get(t * c + j) > s[t][best] / temp + rnd.gumbels.get(t * c + best)) {
                    best = j;
                }
                if (s[t][j] > s[t][nearest]) {
                    nearest = j;
                }
            }
            assertEquals(best, got[t], "token " + t);
            differsFromNearest += best != nearest ? 1 : 0;
        }
        assertTrue(differsFromNearest > 0, "sampling at temperature 0.7 moves some tokens off their nearest code");
        // evaluation never samples
        long[] eval = vq.forwardTokens(p, x, ForwardOptions.eval()).indices().data();
        for (int t = 0; t < 20; t++) {
            int nearest = 0;
            for (int j = 1; j < c; j++) {
                nearest = s[t][j] > s[t][nearest] ? j : nearest;
            }
            assertEquals(nearest, eval[t]);
        }
    }

    @Test
    void diversityLossIsMinusTheMeanEntropyOfTheBatchAveragedCodeDistributionPerPosition() {
        int d = 3;
        int c = 6;
        int b = 3;
        int n = 4;
        double temp = 2.5;
        double weight = 0.3;
        Quantizer vq = Quantizers.create("VectorQuantize", args("dim", d, "codebook_size", c, "commitment_weight", 0.0,
                "codebook_diversity_loss_weight", weight, "codebook_diversity_temperature", temp, "freeze_codebook", true));
        Params p = vq.initParams(9);
        Tensor x = gaussian(2, b, n, d);
        double[][] s = scores(x.data(), p.get("_codebook.embed").data(), b * n, c, d);
        QuantizerOutput out = vq.forwardTokens(p, x, ForwardOptions.train(RandomSource.seeded(1)));

        double h = 0;
        for (int i = 0; i < n; i++) {
            double[] avg = new double[c];
            for (int beta = 0; beta < b; beta++) {
                double[] prob = softmax(s[beta * n + i], temp);
                for (int j = 0; j < c; j++) {
                    avg[j] += prob[j] / b;
                }
            }
            for (int j = 0; j < c; j++) {
                h -= avg[j] * Math.log(Math.max(avg[j], 1e-5));
            }
        }
        double expected = -h / n;
        assertEquals(expected, out.floatOrNull("codebook_diversity_loss").item(), 1e-5 * Math.abs(expected) + 1e-6);
        assertEquals(weight * expected, out.floatOrNull("loss").item(), 1e-5 * Math.abs(expected) + 1e-6);
    }

    @Test
    void crossEntropyCommitmentIsTheMeanNegativeLogSoftmaxOfTheChosenCode() {
        int d = 5;
        int c = 7;
        double weight = 0.4;
        Quantizer vq = Quantizers.create("VectorQuantize", args("dim", d, "codebook_size", c, "commitment_weight", weight,
                "commitment_use_cross_entropy_loss", true, "freeze_codebook", true));
        Params p = vq.initParams(4);
        Tensor x = gaussian(8, 2, 6, d);
        double[][] s = scores(x.data(), p.get("_codebook.embed").data(), 12, c, d);
        QuantizerOutput out = vq.forwardTokens(p, x, ForwardOptions.train(RandomSource.seeded(1)));
        long[] idx = out.indices().data();
        double ce = 0;
        for (int t = 0; t < 12; t++) {
            ce -= Math.log(softmax(s[t], 1.0)[(int) idx[t]]);
        }
        ce /= 12;
        assertEquals(ce, out.floatOrNull("commit_loss").item(), 1e-5 * ce + 1e-6);
        assertEquals(weight * ce, out.floatOrNull("loss").item(), 1e-5 * ce + 1e-6);
    }

    @Test
    void orthogonalRegulariserOnARandomSubsetUsesExactlyTheDrawnCodes() {
        int d = 4;
        int c = 10;
        int[] drawn = {7, 2, 9};
        Quantizer vq = Quantizers.create("VectorQuantize", args("dim", d, "codebook_size", c, "commitment_weight", 0.0,
                "orthogonal_reg_weight", 2.0, "orthogonal_reg_max_codes", drawn.length, "freeze_codebook", true));
        Params p = vq.initParams(6);
        float[] e = p.get("_codebook.embed").data();
        ScriptedRandom rnd = new ScriptedRandom(new double[0], drawn);
        QuantizerOutput out = vq.forwardTokens(p, gaussian(1, 1, 5, d), ForwardOptions.train(rnd));
        assertEquals(c, rnd.rowsAvailable, "the subset is drawn from all codes");

        int m = drawn.length;
        double[][] unit = new double[m][d];
        for (int i = 0; i < m; i++) {
            double norm = 0;
            for (int k = 0; k < d; k++) {
                norm += (double) e[drawn[i] * d + k] * e[drawn[i] * d + k];
            }
            for (int k = 0; k < d; k++) {
                unit[i][k] = e[drawn[i] * d + k] / Math.sqrt(norm);
            }
        }
        double sum = 0;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < m; j++) {
                double dot = 0;
                for (int k = 0; k < d; k++) {
                    dot += unit[i][k] * unit[j][k];
                }
                sum += dot * dot;
            }
        }
        double expected = sum / (m * m) - 1.0 / m;
        assertEquals(expected, out.floatOrNull("orthogonal_reg_loss").item(), 1e-5 * Math.abs(expected) + 1e-6);
        assertEquals(2 * expected, out.floatOrNull("loss").item(), 1e-5 * Math.abs(expected) + 1e-6);
    }

    @Test
    void learnableCodebookTogetherWithEmaIsRefusedAsInTheReference() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Quantizers.create("VectorQuantize",
                args("dim", 4, "codebook_size", 8, "learnable_codebook", true)));
        assertTrue(e.getMessage().contains("learnable_codebook"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Quantizers.create("ResidualVQ",
                args("dim", 4, "codebook_size", 8, "num_quantizers", 2, "learnable_codebook", true, "ema_update", true)));
        // without EMA the codebook is a fixed parameter here (learnt by gradient in the reference)
        Quantizer frozen = Quantizers.create("VectorQuantize",
                args("dim", 4, "codebook_size", 8, "learnable_codebook", true, "ema_update", false));
        Params p = frozen.initParams(1);
        Params before = p.copy();
        frozen.forwardTokens(p, gaussian(3, 2, 5, 4), ForwardOptions.train(RandomSource.seeded(2)));
        assertTrue(before.bitEquals(p), "no EMA step with ema_update=false");
    }

    @Test
    void groupedResidualVqDrawsOneQuantizeDropoutCutoffForAllGroups() {
        int groups = 3;
        int q = 4;
        Quantizer grvq = Quantizers.create("GroupedResidualVQ", args("dim", 12, "groups", groups, "num_quantizers", q,
                "codebook_size", 8, "quantize_dropout", true));
        Params p = grvq.initParams(2);
        // u = 0.1 keeps only layer 0; later draws would keep more layers
        ScriptedRandom rnd = new ScriptedRandom(new double[] {0.1, 0.95, 0.6, 0.3}, new int[0]);
        long[] codes = grvq.forwardTokens(p, gaussian(4, 2, 5, 12), ForwardOptions.train(rnd)).indices().data();
        assertEquals(1, rnd.uniformCalls, "one cut-off drawn per call");
        for (int t = 0; t < 10; t++) {
            for (int g = 0; g < groups; g++) {
                assertNotEquals(-1L, codes[t * groups * q + g * q], "layer 0 of group " + g + " runs");
                for (int l = 1; l < q; l++) {
                    assertEquals(-1L, codes[t * groups * q + g * q + l], "token " + t + " group " + g + " layer " + l);
                }
            }
        }
    }

    @Test
    void residualVqWithoutDropoutDrawsNothing() {
        Quantizer rvq = Quantizers.create("ResidualVQ", args("dim", 4, "num_quantizers", 3, "codebook_size", 8));
        ScriptedRandom rnd = new ScriptedRandom(new double[0], new int[0]);
        long[] codes = rvq.forwardTokens(rvq.initParams(1), gaussian(1, 1, 6, 4), ForwardOptions.train(rnd)).indices().data();
        assertEquals(0, rnd.uniformCalls);
        for (long v : codes) {
            assertTrue(v >= 0);
        }
    }
}
