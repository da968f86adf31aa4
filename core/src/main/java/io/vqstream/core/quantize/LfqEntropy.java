package io.vqstream.core.quantize;

/**
 * The two entropy terms of LFQ's auxiliary loss, computed without a (tokens × 2^D) probability
 * matrix.
 *
 * <p>The reference scores latent {@code u} (D features of one codebook) against the implicit
 * codebook {@code C} whose row {@code m} holds {@code ±c} (bit {@code D−1−j} of {@code m} set
 * gives {@code +c} at feature {@code j}). The logit is a sum of one term per bit, so the softmax
 * over the 2^D codes is a product of independent bits:
 * <pre>
 * p(m) = softmax_m(2τ·u·C_m) = Π_j p_j(m_j),   p_j(1) = σ(4τc·u_j),   p_j(0) = σ(−4τc·u_j)
 * </pre>
 * Without the clamp, H(p) would be the sum of the D bit entropies. The reference clamps inside
 * the logarithm, {@code H(p) = −Σ_m p(m)·log(max(p(m), 1e-5))}, and at the usual temperatures
 * most codes fall below 1e-5, so that shortcut is wrong by a lot. Instead each token's 2^D
 * probabilities (and their logarithms) are expanded bit by bit, doubling one reused buffer, and
 * the clamped sum is taken exactly; the batch distribution is a running sum of 2^D values per
 * codebook. Memory is O(K·2^D), time O(T·K·2^D), against the reference's O(T·K·2^D·D) time and
 * O(T·K·2^D) memory. All of it runs in double precision.
 */
final class LfqEntropy {
    /** The clamp of the reference's {@code log(t, eps = 1e-5)}. */
    static final double EPS = 1e-5;
    private static final double LOG_EPS = Math.log(EPS);

    private LfqEntropy() {}

    /**
     * Mean per-sample entropy over the selected tokens and all codebooks, and the mean over
     * codebooks of the entropy of the batch-averaged distribution.
     *
     * @param u             latents {@code (T, K, D)} row-major, as scored by the reference
     * @param codebooks     K
     * @param bits          D
     * @param bitLogitScale {@code 4·inv_temperature·c}, c the magnitude of a codebook entry
     * @param tokens        the token rows to use (all of them, or the random subset of
     *                      {@code frac_per_sample_entropy})
     * @return {@code {per_sample_entropy, batch_entropy}}
     */
    static double[] compute(float[] u, int codebooks, int bits, double bitLogitScale, int[] tokens) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("LFQ: the entropy loss needs at least one token");
        }
        int size = 1 << bits;
        double[] prob = new double[size];
        double[] logProb = new double[size];
        double[] batch = new double[codebooks * size];
        double perSample = 0;
        for (int t : tokens) {
            for (int k = 0; k < codebooks; k++) {
                expand(u, (t * codebooks + k) * bits, bits, bitLogitScale, prob, logProb);
                double h = 0;
                int off = k * size;
                for (int m = 0; m < size; m++) {
                    double p = prob[m];
                    h -= p * Math.max(logProb[m], LOG_EPS);
                    batch[off + m] += p;
                }
                perSample += h;
            }
        }
        perSample /= (double) tokens.length * codebooks;
        double batchEntropy = 0;
        for (int k = 0; k < codebooks; k++) {
            double h = 0;
            for (int m = 0; m < size; m++) {
                double p = batch[k * size + m] / tokens.length;
                h -= p * Math.log(Math.max(p, EPS));
            }
            batchEntropy += h;
        }
        return new double[] {perSample, batchEntropy / codebooks};
    }

    /**
     * Fills {@code prob[m]} and {@code logProb[m]} for all 2^D codes of one latent, feature 0
     * being the most significant bit of {@code m}.
     */
    static void expand(float[] u, int off, int bits, double bitLogitScale, double[] prob, double[] logProb) {
        prob[0] = 1.0;
        logProb[0] = 0.0;
        int len = 1;
        for (int j = 0; j < bits; j++) {
            double a = bitLogitScale * u[off + j];
            double log1 = -softplus(-a);
            double log0 = -softplus(a);
            double p1 = Math.exp(log1);
            double p0 = Math.exp(log0);
            // descending, so entry i is read before slots 2i and 2i+1 (both >= i) are written
            for (int i = len - 1; i >= 0; i--) {
                double p = prob[i];
                double lp = logProb[i];
                prob[2 * i] = p * p0;
                prob[2 * i + 1] = p * p1;
                logProb[2 * i] = lp + log0;
                logProb[2 * i + 1] = lp + log1;
            }
            len <<= 1;
        }
    }

    /** {@code log(1 + e^x)} without overflow. */
    static double softplus(double x) {
        return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
    }
}
