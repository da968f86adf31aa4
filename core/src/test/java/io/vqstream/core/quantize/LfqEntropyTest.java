package io.vqstream.core.quantize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The bit-factorised entropies against a direct softmax over every code. */
class LfqEntropyTest {

    /** Per-sample and batch entropy from explicit (token, codebook, code) probabilities. */
    private static double[] bruteForce(float[] u, int tokens, int k, int d, double tau, double c) {
        int size = 1 << d;
        double[][][] p = new double[tokens][k][size];
        for (int t = 0; t < tokens; t++) {
            for (int cb = 0; cb < k; cb++) {
                double max = Double.NEGATIVE_INFINITY;
                double[] logits = new double[size];
                for (int m = 0; m < size; m++) {
                    double dot = 0;
                    for (int j = 0; j < d; j++) {
                        double entry = ((m >> (d - 1 - j)) & 1) == 1 ? c : -c;
                        dot += u[(t * k + cb) * d + j] * entry;
                    }
                    logits[m] = 2 * tau * dot;
                    max = Math.max(max, logits[m]);
                }
                double sum = 0;
                for (int m = 0; m < size; m++) {
                    p[t][cb][m] = Math.exp(logits[m] - max);
                    sum += p[t][cb][m];
                }
                for (int m = 0; m < size; m++) {
                    p[t][cb][m] /= sum;
                }
            }
        }
        double perSample = 0;
        double batch = 0;
        for (int cb = 0; cb < k; cb++) {
            double[] avg = new double[size];
            for (int t = 0; t < tokens; t++) {
                for (int m = 0; m < size; m++) {
                    perSample -= p[t][cb][m] * Math.log(Math.max(p[t][cb][m], 1e-5));
                    avg[m] += p[t][cb][m] / tokens;
                }
            }
            for (int m = 0; m < size; m++) {
                batch -= avg[m] * Math.log(Math.max(avg[m], 1e-5));
            }
        }
        return new double[] {perSample / (tokens * k), batch / k};
    }

    @Test
    void factorisedEntropiesEqualTheDirectSoftmax() {
        int tokens = 7;
        int k = 2;
        int d = 5;
        SplittableRandom rng = new SplittableRandom(42);
        for (double tau : new double[] {0.3, 5, 100}) {
            float[] u = Nn.normal(rng, 0.2, tokens * k * d).data();
            int[] all = {0, 1, 2, 3, 4, 5, 6};
            double c = 0.75;
            double[] got = LfqEntropy.compute(u, k, d, 4 * tau * c, all);
            double[] want = bruteForce(u, tokens, k, d, tau, c);
            assertEquals(want[0], got[0], 1e-12 + 1e-10 * want[0], "per-sample entropy at tau " + tau);
            assertEquals(want[1], got[1], 1e-12 + 1e-10 * want[1], "batch entropy at tau " + tau);
            assertTrue(got[1] >= got[0] - 1e-12, "the batch distribution is never more certain than the average sample");
        }
    }

    @Test
    void expansionPutsFeatureZeroInTheMostSignificantBit() {
        double[] p = new double[8];
        double[] lp = new double[8];
        // feature 0 strongly positive, feature 1 strongly negative, feature 2 undecided
        LfqEntropy.expand(new float[] {50f, -50f, 0f}, 0, 3, 1.0, p, lp);
        assertEquals(0.5, p[0b100], 1e-12);
        assertEquals(0.5, p[0b101], 1e-12);
        assertEquals(Math.log(0.5), lp[0b101], 1e-12);
        assertEquals(0.0, p[0b010], 1e-12);
    }
}
