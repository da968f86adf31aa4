package io.vqstream.core.backend;

/**
 * Turns a winner found in fast float arithmetic into the reference's winner
 * ({@link ScalarBackend}), so that every backend returns the same index, ties included.
 *
 * <p>Fast kernels maximise {@code ĥ_j ≈ h_j = x·c_j − ‖c_j‖²/2} (L2) or {@code ĥ_j ≈ x·c_j}
 * (DOT) in float, in any summation order, FMA or not. The reference computes
 * {@code s_j = max(fl(fl(X + C_j) − 2·D_j), 1e-8)} from {@code X = fl(‖x‖²)},
 * {@code C_j = fl(‖c_j‖²)} and {@code D_j = fl(x·c_j)} (double sums rounded once) and keeps the
 * lowest index of the smallest {@code s_j}. With {@code u = 2⁻²⁴},
 * {@code γ = (d+2)u/(1−(d+2)u)}, {@code e_j = ‖x − c_j‖²} exact, and ‖x‖ known only through the
 * kernels' float {@code xx} ({@code |xx − ‖x‖²| ≤ γ‖x‖²}):
 * <pre>
 * (1) |ĥ_j − h_j| ≤ E_j = γ·(‖c_j‖² + ‖x‖·‖c_j‖)         bias −fl(‖c_j‖²)/2 plus d products,
 *                                                       a sum of d+1 terms: γ·Σ|terms|, Cauchy–Schwarz
 * (2) |s'_j − e_j| ≤ R_j = (4u + d·2⁻⁵⁰)·(‖x‖ + ‖c_j‖)²  s'_j the reference's value before the clamp
 * </pre>
 * A code j can be the reference's winner (or tie with it) over the fast winner w only if
 * {@code s_j ≤ s_w}, i.e. {@code s'_j ≤ max(s'_w, 1e-8)}, hence by (1) and (2)
 * <pre>
 * (3) ‖x‖² − 2ĥ_j − 2E_j − R_j ≤ max(‖x‖² − 2ĥ_w + 2E_w + R_w, 1e-8)
 *     ⇒ ĥ_j ≥ floor = min(ĥ_w − M, (xx − γ·xn² − 1e-8 − M)/2),
 *        M = 2γ·(c² + xn·c) + (4u + d·2⁻⁵⁰)·(xn + c)² ≥ E_w + E_j + (R_w + R_j)/2 and ≥ 2E_j + R_j
 * </pre>
 * for any {@code xn ≥ ‖x‖} and {@code c ≥ max(‖c_w‖, ‖c_j‖)}: the pair's norms, not the
 * codebook's largest. Which codes can take part is itself bounded per row: (3) with
 * {@code e_j ≤ max(e_w + R_w, 1e-8) + R_j}, {@code e_w ≤ ‖x‖² − 2ĥ_w + 2E_w} and the triangle
 * inequality {@code ‖c_j‖ ≤ ‖x‖ + √e_j} give, with {@code M_max} the M of the codebook's
 * largest norm {@code c_max} (≥ 2E_w + R_w + R_j),
 * <pre>
 * (4) ‖c_j‖ ≤ B = xn + √(max(xx + γ·xn² − 2ĥ_w, 1e-8) + 2·M_max)    (also ‖c_w‖ ≤ B)
 * </pre>
 * so codes longer than B cannot win or tie, and every pair that can has {@code c ≤ min(c_max, B)}.
 * A row is settled by the arg-max alone when its runner-up {@code ĥ_second < floor} with
 * {@code c = min(c_max, B)}: for features far from the origin whose codes lie near them B is
 * about ‖x‖ plus the distance to the winner, however long the codebook's longest code. Rows
 * that are not settled get all their fast scores; only codes with {@code ĥ_j ≥ floor} for
 * {@code c = max(‖c_w‖, ‖c_j‖)} and {@code ‖c_j‖ ≤ B} are rescored exactly. DOT:
 * {@code |ĥ_j − x·c_j| ≤ γ‖x‖‖c_j‖} and {@code |D_j − x·c_j| ≤ (u + d·2⁻⁵²)‖x‖‖c_j‖}, so
 * {@code floor = ĥ_w − 2(γ + u + d·2⁻⁵²)·xn·c}. All bounds are inflated by 1 % where they are
 * computed (square roots and sums in double). Non-finite scores: the reference's own loop.
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

    /** An upper bound of ‖x‖ from the float {@code xx} ({@code |xx − ‖x‖²| ≤ γ‖x‖²}). */
    private double xnorm(double xx) {
        return Math.sqrt(Math.max(xx, 0.0) * (1 + 2 * gamma)) * 1.01 + 1e-30;
    }

    /** M of (3) for {@code xn ≥ ‖x‖} and codes of norm at most {@code c}. */
    private double window(double xn, double c) {
        return (2 * gamma * (c * c + xn * c) + (4 * U + d * 0x1p-50) * (xn + c) * (xn + c)) * 1.01;
    }

    /** B of (4): no code longer than this can win or tie the row whose fast best is {@code hBest}. */
    double normBound(double xx, double hBest) {
        if (!l2) {
            return cmax;
        }
        double xn = xnorm(xx);
        double sBest = Math.max(xx + gamma * xn * xn - 2 * hBest, 1e-8);
        return Math.min(cmax, (xn + Math.sqrt(sBest + 2 * window(xn, cmax))) * 1.01);
    }

    /**
     * Smallest fast score a code may have and still be the reference's winner, given the
     * row's approximate ‖x‖² and fast best {@code hBest}. NaN when the inputs are not finite.
     */
    double floor(double xx, double hBest) {
        return floor(xx, xnorm(xx), normBound(xx, hBest), hBest);
    }

    /** {@link #floor(double, double)} for codes of norm at most {@code c} ({@code xn ≥ ‖x‖}). */
    private double floor(double xx, double xn, double c, double hBest) {
        if (l2) {
            double m = window(xn, c);
            return Math.min(hBest - m, (xx - gamma * xn * xn - 1e-8 - m) / 2);
        }
        double m = (gamma + U + d * 0x1p-52) * xn * c * 1.01;
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
     * outside the row's window are skipped first; the reference's {@code ‖x‖²} is
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
        double xn = xnorm(xx);
        double b = normBound(xx, hb);
        double bSq = b * b;
        float exactXx = l2 ? ScalarBackend.dot(x, xo, x, xo, d) : 0f;
        int best = -1;
        float bestScore = 0f;
        for (int j = 0; j < k; j++) {
            if (!(h[hOff + j] >= f)) {
                continue;
            }
            if (norms != null) {
                // fl(‖c_j‖²) ≤ (1+γ)‖c_j‖², so this code is longer than B: it cannot win or tie (4)
                if (norms[j] * (1 - 2 * gamma) > bSq) {
                    continue;
                }
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
