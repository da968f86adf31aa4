package io.vqstream.core.backend;

/**
 * Turns a winner found in fast float arithmetic into the reference's winner
 * ({@link ScalarBackend}), so that every backend returns the same index, ties included.
 *
 * <p>Fast kernels maximise {@code ĥ_j = x·c_j − ‖c_j‖²/2} (L2; the squared distance is
 * {@code ‖x‖² − 2h}) or {@code ĥ_j = x·c_j} (DOT) in float, in any summation order. With
 * {@code u = 2⁻²⁴} and {@code γ = (d+2)u/(1−(d+2)u)} the standard error bounds are
 * <pre>
 * |ĥ_j − h_j|       ≤ γ·(‖c‖²max + ‖x‖·‖c‖max)            fast float score
 * |s_ref,j − s_j|   ≤ (4u + d·2⁻⁵⁰)·(‖x‖ + ‖c‖max)²         reference's rounding (L2)
 * |dp_ref,j − dp_j| ≤ (u + d·2⁻⁵²)·‖x‖·‖c‖max              reference's rounding (DOT)
 * </pre>
 * A code whose fast score lies further than the sum M of both bounds behind the fast best
 * cannot be the reference's winner; when no other code is that close the fast winner is
 * certain, otherwise only the few codes inside the window are rescored exactly. The clamp at
 * 1e-8 is honoured: codes that could clamp to the same value stay in the window.
 */
final class Referee {
    private static final double U = 0x1p-24;
    private final boolean l2;
    private final int d;
    private final double cmax;
    private final double gamma;

    /** {@code maxNormSq}: the largest ‖c_j‖² of the codebook, computed in float. */
    Referee(Metric metric, int d, double maxNormSq) {
        this.l2 = metric == Metric.L2;
        this.d = d;
        this.cmax = Math.sqrt(Math.max(maxNormSq, 0.0)) * 1.01 + 1e-30;
        double nu = (d + 2) * U;
        this.gamma = nu / (1 - nu);
    }

    /**
     * Smallest fast score a code may have and still be the reference's winner, given the
     * row's approximate ‖x‖² and fast best {@code hBest}. NaN when the inputs are not finite.
     */
    double floor(double xx, double hBest) {
        return floor(xx, Math.sqrt(xx) * 1.01 + 1e-30, cmax, hBest);
    }

    /** {@link #floor(double, double)} for codes of norm at most {@code cmax} ({@code xn ≥ ‖x‖}). */
    private double floor(double xx, double xn, double cmax, double hBest) {
        if (l2) {
            double m = 2 * gamma * (cmax * cmax + xn * cmax + xn * xn)
                    + (4 * U + d * 0x1p-50) * (xn + cmax) * (xn + cmax);
            double sBest = xx - 2 * hBest;
            return (xx - m - Math.max(sBest + m, 1e-8)) / 2;
        }
        double m = (gamma + U + d * 0x1p-52) * xn * cmax;
        return hBest - 2 * m;
    }

    /** Whether the fast winner is the reference's: the runner-up is outside the window. */
    boolean certain(double xx, float hBest, float hSecond) {
        double f = floor(xx, hBest);
        return hSecond < f && Double.isFinite(f) && Float.isFinite(hBest);
    }

    /**
     * The reference's winner for row {@code xo} of {@code x}, given the row's fast scores
     * {@code h[hOff .. hOff+k)}: exact rescoring of the codes inside the window, or of all
     * codes when the scores are not finite.
     */
    int resolve(float[] x, int xo, float[] codebook, int cbOff, int k, float[] h, int hOff, double xx) {
        return resolve(x, xo, codebook, cbOff, k, h, hOff, xx, null);
    }

    /**
     * As {@link #resolve(float[], int, float[], int, int, float[], int, double)}, with the
     * codes' float norms {@code norms[j] = ‖c_j‖²} (may be null): then each code's window is
     * sized by the larger of its own norm and the fast winner's instead of the codebook's
     * largest, since the bounds above hold for any {@code ‖c‖max} at least both norms. Codes
     * outside the codebook-wide window are skipped first; the reference's {@code ‖x‖²} is
     * computed once per row.
     */
    int resolve(float[] x, int xo, float[] codebook, int cbOff, int k, float[] h, int hOff, double xx, float[] norms) {
        int fastBest = 0;
        for (int j = 1; j < k; j++) {
            if (h[hOff + j] > h[hOff + fastBest]) {
                fastBest = j;
            }
        }
        double hb = h[hOff + fastBest];
        double f = floor(xx, hb);
        Metric metric = l2 ? Metric.L2 : Metric.DOT;
        if (!Double.isFinite(f) || !Float.isFinite(h[hOff + fastBest])) {
            // the reference's row loop with its comparisons (NaN keeps code 0)
            return ScalarBackend.nearest(x, xo, d, codebook, cbOff, k, metric, null);
        }
        double xn = Math.sqrt(xx) * 1.01 + 1e-30;
        float exactXx = l2 ? ScalarBackend.dot(x, xo, x, xo, d) : 0f;
        int best = -1;
        float bestScore = 0f;
        for (int j = 0; j < k; j++) {
            if (!(h[hOff + j] >= f)) {
                continue;
            }
            if (norms != null) {
                double c = Math.sqrt(Math.max(Math.max(norms[fastBest], norms[j]), 0.0)) * 1.01 + 1e-30;
                if (!(h[hOff + j] >= floor(xx, xn, c, hb))) {
                    continue;
                }
            }
            int co = cbOff + j * d;
            float dp = ScalarBackend.dot(x, xo, codebook, co, d);
            float s = l2 ? ScalarBackend.l2(exactXx, ScalarBackend.dot(codebook, co, codebook, co, d), dp) : dp;
            boolean better = l2 ? s < bestScore : s > bestScore;
            if (best < 0 || better) {
                best = j;
                bestScore = s;
            }
        }
        return best;
    }
}
