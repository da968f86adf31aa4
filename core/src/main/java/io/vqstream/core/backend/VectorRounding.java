package io.vqstream.core.backend;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link BoundedRounding.Kernels} on the Vector API. Loaded by name only when
 * {@link VectorSupport#available()}. One vector covers L consecutive elements of the flat
 * array whatever the row length; per-dimension constants are read from patterns
 * {@code p[j] = c[j mod d]} at the element's phase {@code f mod d}.
 *
 * <p>Rounding: {@code rint(y) = (y + 1.5·2²³) − 1.5·2²³} for {@code |y| < 2²²} (round half to
 * even, as {@link Math#rint}), with the sign of y restored so that −0.0 stays −0.0. The
 * vector tanh (the Vector API's {@code TANH}) is within a few ulps of {@link Math#tanh}; an
 * element whose rounding argument lies within
 * <pre>
 * δ_i = (scale_i + 1)·2⁻¹⁸      (scale_i = halfL_i, or levelsMinus1_i/2 for the symmetric bound)
 * </pre>
 * of a rounding boundary (about 2⁻¹⁸ relative, 2⁶ times the tanh error allowed for) is
 * recomputed on the scalar path, so every code and every output float equals the scalar one.
 * Digits and row indices leave through a per-block float buffer and a scalar cast after each
 * block's vector loop: JDK 17's F2I {@code convertShape} is not intrinsified and ran the whole
 * loop 4× slower, and reading lanes right behind each vector store cost a store-to-load round
 * trip per vector (slow when the store split a cache line: FSQ calls 1.4× slower in some runs).
 */
final class VectorRounding implements BoundedRounding.Kernels {
    private static final VectorSpecies<Float> S = species();
    private static final int L = S.length();
    private static final float MAGIC = 12582912f; // 1.5·2²³
    private static final float MARGIN = 0x1p-18f;
    /**
     * {@code ROT_n}: lane i takes lane {@code (i + n) mod L}. Static finals, not an array: C2
     * intrinsifies a rearrange only when it knows the shuffle's exact class.
     */
    private static final jdk.incubator.vector.VectorShuffle<Float> ROT_1 = jdk.incubator.vector.VectorShuffle.iota(S, 1, 1, true);
    private static final jdk.incubator.vector.VectorShuffle<Float> ROT_2 = jdk.incubator.vector.VectorShuffle.iota(S, 2, 1, true);
    private static final jdk.incubator.vector.VectorShuffle<Float> ROT_4 = jdk.incubator.vector.VectorShuffle.iota(S, 4, 1, true);
    private static final jdk.incubator.vector.VectorShuffle<Float> ROT_8 = jdk.incubator.vector.VectorShuffle.iota(S, 8, 1, true);

    /** Each lane {@code g·d} of the result holds the sum of lanes {@code g·d .. g·d+d−1} of v (d a power of two ≤ 16, ≤ L). */
    private static FloatVector rowSums(FloatVector v, int d) {
        if (d >= 2) {
            v = v.add(v.rearrange(ROT_1));
        }
        if (d >= 4) {
            v = v.add(v.rearrange(ROT_2));
        }
        if (d >= 8) {
            v = v.add(v.rearrange(ROT_4));
        }
        if (d >= 16) {
            v = v.add(v.rearrange(ROT_8));
        }
        return v;
    }

    private static VectorSpecies<Float> species() {
        int preferred = FloatVector.SPECIES_PREFERRED.length();
        int lanes = VectorSupport.chooseLanes(preferred, VectorSupport.requestedLanes());
        return lanes == preferred ? FloatVector.SPECIES_PREFERRED
                : VectorSpecies.of(float.class, jdk.incubator.vector.VectorShape.forBitSize(lanes * 32));
    }

    /** {@code p[j] = c[j mod d]} for j &lt; d + L. */
    private static float[] pattern(float[] c, int d, float scale, float add) {
        float[] p = new float[d + L];
        for (int j = 0; j < p.length; j++) {
            p[j] = c[j % d] * scale + add;
        }
        return p;
    }

    private static FloatVector rint(FloatVector y) {
        FloatVector r = y.add(MAGIC).sub(MAGIC);
        IntVector rb = r.reinterpretAsInts().and(0x7fffffff);
        IntVector sign = y.reinterpretAsInts().and(0x80000000);
        return rb.or(sign).reinterpretAsFloats();
    }

    @Override
    public void fsqStandard(float[] z, int count, int d, float[] shift, float[] halfL, float[] offset, float[] halfWidth,
                            boolean hardClamp, int[] digits) {
        int total = count * d;
        float[] pShift = pattern(shift, d, 1f, 0f);
        float[] pHalfL = pattern(halfL, d, 1f, 0f);
        float[] pOffset = pattern(offset, d, 1f, 0f);
        float[] pWidth = pattern(halfWidth, d, 1f, 0f);
        float[] pDelta = pattern(halfL, d, MARGIN, MARGIN);
        for (int i = 0; i < d; i++) {
            if (!(Math.abs(halfL[i]) < 0x1p21f)) {
                // outside the range of the rounding trick: the scalar loop decides
                BoundedRounding.fsqStandardScalar(z, 0, total, d, shift, halfL, offset, halfWidth, hardClamp, digits);
                return;
            }
        }
        float[] keep = new float[L];
        int vecEnd = total / L * L;
        int block = fsqBlock(d);
        float[] fd = new float[Math.min(block, vecEnd)];
        for (int f0 = 0; f0 < vecEnd; f0 += block) {
            standardBlock(z, f0, Math.min(vecEnd, f0 + block), d, shift, halfL, offset, halfWidth, hardClamp, digits, pShift, pHalfL,
                    pOffset, pWidth, pDelta, keep, fd);
        }
        BoundedRounding.fsqStandardScalar(z, vecEnd, total, d, shift, halfL, offset, halfWidth, hardClamp, digits);
    }

    /** {@link #fsqStandard}'s vector loop over elements {@code [from, to)}, {@code from} a multiple of {@link #fsqBlock}. */
    private static void standardBlock(float[] z, int from, int to, int d, float[] shift, float[] halfL, float[] offset,
                                      float[] halfWidth, boolean hardClamp, int[] digits, float[] pShift, float[] pHalfL,
                                      float[] pOffset, float[] pWidth, float[] pDelta, float[] keep, float[] fd) {
        int ph = 0;
        for (int f = from; f < to; f += L) {
            FloatVector zv = FloatVector.fromArray(S, z, f);
            FloatVector s = zv.add(FloatVector.fromArray(S, pShift, ph));
            FloatVector t = hardClamp ? s.max(-1f).min(1f) : s.lanewise(VectorOperators.TANH);
            FloatVector y = t.mul(FloatVector.fromArray(S, pHalfL, ph)).sub(FloatVector.fromArray(S, pOffset, ph));
            FloatVector r = rint(y);
            FloatVector width = FloatVector.fromArray(S, pWidth, ph);
            VectorMask<Float> close = null;
            if (!hardClamp) {
                // distance of y to the nearest half-integer, where rint changes its result
                FloatVector gap = y.sub(r).abs().sub(0.5f).abs();
                close = gap.compare(VectorOperators.LT, FloatVector.fromArray(S, pDelta, ph));
                if (close.anyTrue()) {
                    zv.intoArray(keep, 0);
                } else {
                    close = null;
                }
            }
            r.div(width).intoArray(z, f);
            r.add(width).intoArray(fd, f - from);
            if (close != null) {
                for (int l = 0; l < L; l++) {
                    if (close.laneIsSet(l)) {
                        z[f + l] = keep[l];
                        BoundedRounding.fsqStandardScalar(z, f + l, f + l + 1, d, shift, halfL, offset, halfWidth, false, digits);
                        fd[f - from + l] = digits[f + l];
                    }
                }
            }
            ph += L;
            ph %= d;
        }
        // the digits leave after the loop, as the indices in thresholdsBlock
        for (int i = 0; i < to - from; i++) {
            digits[from + i] = (int) fd[i];
        }
    }

    @Override
    public void fsqSymmetric(float[] z, int count, int d, float[] levelsMinus1, float[] symStep, boolean hardClamp, int[] digits) {
        int total = count * d;
        float[] pLm1 = pattern(levelsMinus1, d, 1f, 0f);
        float[] pStep = pattern(symStep, d, 1f, 0f);
        float[] pDelta = pattern(levelsMinus1, d, 0.5f * MARGIN, MARGIN);
        for (int i = 0; i < d; i++) {
            if (!(Math.abs(levelsMinus1[i]) < 0x1p21f)) {
                BoundedRounding.fsqSymmetricScalar(z, 0, total, d, levelsMinus1, symStep, hardClamp, digits);
                return;
            }
        }
        float[] keep = new float[L];
        int vecEnd = total / L * L;
        int block = fsqBlock(d);
        float[] fd = new float[Math.min(block, vecEnd)];
        for (int f0 = 0; f0 < vecEnd; f0 += block) {
            symmetricBlock(z, f0, Math.min(vecEnd, f0 + block), d, levelsMinus1, symStep, hardClamp, digits, pLm1, pStep, pDelta,
                    keep, fd);
        }
        BoundedRounding.fsqSymmetricScalar(z, vecEnd, total, d, levelsMinus1, symStep, hardClamp, digits);
    }

    /** {@link #fsqSymmetric}'s vector loop over elements {@code [from, to)}, {@code from} a multiple of {@link #fsqBlock}. */
    private static void symmetricBlock(float[] z, int from, int to, int d, float[] levelsMinus1, float[] symStep, boolean hardClamp,
                                       int[] digits, float[] pLm1, float[] pStep, float[] pDelta, float[] keep, float[] fd) {
        int ph = 0;
        for (int f = from; f < to; f += L) {
            FloatVector zv = FloatVector.fromArray(S, z, f);
            FloatVector t = hardClamp ? zv.max(-1f).min(1f) : zv.lanewise(VectorOperators.TANH);
            FloatVector bracket = FloatVector.fromArray(S, pLm1, ph).mul(t.add(1f)).div(2f).add(0.5f);
            FloatVector r = rint(bracket);
            // floor: one less where rint rounded up
            FloatVector k = r.sub(FloatVector.broadcast(S, 1f), r.compare(VectorOperators.GT, bracket));
            VectorMask<Float> close = null;
            if (!hardClamp) {
                FloatVector gap = bracket.sub(r).abs();
                close = gap.compare(VectorOperators.LT, FloatVector.fromArray(S, pDelta, ph));
                if (close.anyTrue()) {
                    zv.intoArray(keep, 0);
                } else {
                    close = null;
                }
            }
            FloatVector.fromArray(S, pStep, ph).mul(k).sub(1f).intoArray(z, f);
            k.intoArray(fd, f - from);
            if (close != null) {
                for (int l = 0; l < L; l++) {
                    if (close.laneIsSet(l)) {
                        z[f + l] = keep[l];
                        BoundedRounding.fsqSymmetricScalar(z, f + l, f + l + 1, d, levelsMinus1, symStep, false, digits);
                        fd[f - from + l] = digits[f + l];
                    }
                }
            }
            ph += L;
            ph %= d;
        }
        for (int i = 0; i < to - from; i++) {
            digits[from + i] = (int) fd[i];
        }
    }

    /** NaN in some lane when some lane of {@code v} was NaN or ±∞ ({@code v·0} is NaN exactly then). */
    private static FloatVector nonFinite(FloatVector acc, FloatVector v) {
        return v.mul(0f).add(acc);
    }

    private static boolean finite(FloatVector acc) {
        return !acc.test(VectorOperators.IS_NAN).anyTrue();
    }

    /** Elements per call of {@link #copyFiniteBlock}. */
    private static final int COPY_BLOCK = 4096;

    /**
     * Block by block: a single vector loop over a large array is first entered from the
     * interpreter and compiled on stack replacement, and on JDK 17 that compilation (and the
     * method's later ones) ran the lane-wise add on the Vector API's generic Java fallback,
     * 5–15× slower than the copy itself; a short block method is compiled normally.
     */
    @Override
    public boolean copyFinite(float[] src, int srcOff, float[] dst, int dstOff, int n) {
        boolean finite = true;
        int i = 0;
        for (; i + COPY_BLOCK <= n; i += COPY_BLOCK) {
            finite &= copyFiniteBlock(src, srcOff + i, dst, dstOff + i, COPY_BLOCK);
        }
        int end = i + S.loopBound(n - i);
        if (end > i) {
            finite &= copyFiniteBlock(src, srcOff + i, dst, dstOff + i, end - i);
        }
        return finite && BoundedRounding.copyFiniteScalar(src, srcOff + end, dst, dstOff + end, n - end);
    }

    /** {@link #copyFinite} of {@code n} elements, a multiple of L. */
    private static boolean copyFiniteBlock(float[] src, int srcOff, float[] dst, int dstOff, int n) {
        FloatVector bad = FloatVector.zero(S);
        if (dst != null) {
            for (int i = 0; i < n; i += L) {
                FloatVector v = FloatVector.fromArray(S, src, srcOff + i);
                bad = nonFinite(bad, v);
                v.intoArray(dst, dstOff + i);
            }
        } else {
            for (int i = 0; i < n; i += L) {
                bad = nonFinite(bad, FloatVector.fromArray(S, src, srcOff + i));
            }
        }
        return finite(bad);
    }

    /** {@code SIGN_WEIGHTS[w][l] = 2^(w−1−(l mod w))} for row widths w ≤ L: lane l's bit in its row's index. */
    private static final float[][] SIGN_WEIGHTS = new float[L + 1][];

    static {
        for (int w = 1; w <= L; w++) {
            SIGN_WEIGHTS[w] = new float[L];
            for (int l = 0; l < L; l++) {
                SIGN_WEIGHTS[w][l] = (float) (1 << (w - 1 - l % w));
            }
        }
    }

    /**
     * Indices from the sign masks without {@code VectorMask.toLong} (a lane loop on JDK 17): the
     * positive lanes' weights {@code 2^(bits below)} summed in float, exact below 2²⁴.
     */
    /** Rows per call of {@link #lfqSignsRows}: a multiple of every {@code L/d}. */
    private static final int LFQ_BLOCK_ROWS = 1024;

    /** Block by block, for the reason given at {@link #copyFinite}. */
    @Override
    public boolean lfqSigns(float[] u, int rows, int d, float scale, float[] q, long[] indices) {
        if (!(d % L == 0 && d <= 63) && L % d != 0) {
            return BoundedRounding.lfqSignsScalar(u, 0, rows, d, scale, q, indices);
        }
        boolean finite = true;
        int r = 0;
        for (; r + LFQ_BLOCK_ROWS <= rows; r += LFQ_BLOCK_ROWS) {
            finite &= lfqSignsRows(u, r, r + LFQ_BLOCK_ROWS, d, scale, q, indices);
        }
        if (r < rows) {
            finite &= lfqSignsRows(u, r, rows, d, scale, q, indices);
        }
        return finite;
    }

    /** {@link #lfqSigns} of rows {@code [from, to)}, for {@code d} a multiple of L up to 63 or a divisor of L. */
    private static boolean lfqSignsRows(float[] u, int from, int to, int d, float scale, float[] q, long[] indices) {
        FloatVector pos = FloatVector.broadcast(S, scale);
        FloatVector neg = FloatVector.broadcast(S, -scale);
        FloatVector zero = FloatVector.zero(S);
        FloatVector bad = zero;
        if (d % L == 0 && d <= 63) {
            int per = d / L;
            FloatVector weights = FloatVector.fromArray(S, SIGN_WEIGHTS[L], 0);
            for (int r = from; r < to; r++) {
                long index = 0;
                int o = r * d;
                for (int v = 0; v < per; v++) {
                    FloatVector uv = FloatVector.fromArray(S, u, o + v * L);
                    bad = nonFinite(bad, uv);
                    VectorMask<Float> m = uv.compare(VectorOperators.GT, 0f);
                    neg.blend(pos, m).intoArray(q, o + v * L);
                    // dimension 0 is the most significant bit
                    index = (index << L) | (long) zero.blend(weights, m).reduceLanes(VectorOperators.ADD);
                }
                indices[r] = index;
            }
            return finite(bad);
        }
        int perVector = L / d;
        FloatVector weights = FloatVector.fromArray(S, SIGN_WEIGHTS[d], 0);
        float[] sums = new float[L];
        int r = from;
        for (; r + perVector <= to; r += perVector) {
            int o = r * d;
            FloatVector uv = FloatVector.fromArray(S, u, o);
            bad = nonFinite(bad, uv);
            VectorMask<Float> m = uv.compare(VectorOperators.GT, 0f);
            neg.blend(pos, m).intoArray(q, o);
            rowSums(zero.blend(weights, m), d).intoArray(sums, 0);
            for (int w = 0; w < perVector; w++) {
                indices[r + w] = (long) sums[w * d];
            }
        }
        return finite(bad) && BoundedRounding.lfqSignsScalar(u, r, to, d, scale, q, indices);
    }

    /**
     * Rows of whole vectors: with {@code L mod d = 0} every vector holds {@code L/d} whole rows and
     * the index of each is summed from the digit·basis products of its lanes; otherwise rows
     * straddle vectors and the sum runs on across them.
     */
    private static int sumRows(float[] prod, int d, int row, float[] carry, long[] indices) {
        if (L % d == 0) {
            for (int g = 0; g < L; g += d) {
                float acc = 0f;
                for (int i = 0; i < d; i++) {
                    acc += prod[g + i];
                }
                indices[row++] = (long) acc;
            }
            return row;
        }
        float acc = carry[0];
        int col = (int) carry[1];
        for (int l = 0; l < L; l++) {
            acc += prod[l];
            if (++col == d) {
                indices[row++] = (long) acc;
                acc = 0f;
                col = 0;
            }
        }
        carry[0] = acc;
        carry[1] = col;
        return row;
    }

    @Override
    public boolean fsqStandardIndexed(float[] src, float[] dst, int count, int d, float[] shift, float[] halfL, float[] offset,
                                      float[] halfWidth, boolean hardClamp, float[] basis, long[] indices) {
        for (int i = 0; i < d; i++) {
            if (!(Math.abs(halfL[i]) < 0x1p21f)) {
                return BoundedRounding.fsqStandardIndexedScalar(src, dst, 0, count, d, shift, halfL, offset, halfWidth, hardClamp,
                        basis, indices);
            }
        }
        Patterns p = Patterns.standard(d, shift, halfL, offset, halfWidth, basis, hardClamp);
        if (p.thresholds != null && hardClamp == p.thresholdsHardClamp) {
            return standardByThresholds(src, dst, count, d, p, shift, halfL, offset, halfWidth, hardClamp, basis, indices);
        }
        float[] keep = new float[L];
        float[] prod = new float[L];
        float[] carry = new float[2];
        float[] one = new float[1];
        int total = count * d;
        int vecEnd = wholeRowsVectorEnd(total, d);
        boolean finite = true;
        int block = fsqBlock(d);
        float[] sums = new float[Math.min(block, vecEnd)];
        for (int f0 = 0; f0 < vecEnd; f0 += block) {
            finite &= standardIndexedBlock(src, dst, f0, Math.min(vecEnd, f0 + block), d, p, shift, halfL, offset, halfWidth,
                    hardClamp, basis, indices, keep, prod, carry, one, sums);
        }
        return finite && BoundedRounding.fsqStandardIndexedScalar(src, dst, vecEnd / d, count, d, shift, halfL, offset, halfWidth,
                hardClamp, basis, indices);
    }

    /**
     * Elements per call of the FSQ block methods: whole groups of L rows (L·d elements, a
     * multiple of L), so that every block starts a row at phase 0 with an empty carry.
     */
    /**
     * Where the vector loops of an indexed kernel stop among {@code total} floats of rows of
     * {@code d}: a multiple of L that is also whole rows, so that the scalar rest starts at a row.
     */
    private static int wholeRowsVectorEnd(int total, int d) {
        return L % d == 0 ? total / L * L : (total / L / d) * L * d;
    }

    private static int fsqBlock(int d) {
        int group = L * d;
        return Math.max(1, FSQ_BLOCK_FLOATS / group) * group;
    }

    /** About the elements per FSQ block call: small enough for short calls, large enough to amortise one. */
    private static final int FSQ_BLOCK_FLOATS = 2048;

    /**
     * {@link #fsqStandardIndexed}'s vector loop over elements {@code [from, to)}, {@code from}
     * a multiple of {@link #fsqBlock}: a method of its own for the reason given at
     * {@link #copyFinite} (the finiteness accumulator would otherwise live across one long loop).
     */
    private static boolean standardIndexedBlock(float[] src, float[] dst, int from, int to, int d, Patterns p, float[] shift,
                                                float[] halfL, float[] offset, float[] halfWidth, boolean hardClamp, float[] basis,
                                                long[] indices, float[] keep, float[] prod, float[] carry, float[] one, float[] sums) {
        FloatVector bad = FloatVector.zero(S);
        boolean wholeRows = L % d == 0 && Integer.bitCount(d) == 1 && d <= 16;
        carry[0] = 0f;
        carry[1] = 0f;
        int row = from / d;
        int ph = 0;
        for (int f = from; f < to; f += L) {
            FloatVector zv = FloatVector.fromArray(S, src, f);
            bad = nonFinite(bad, zv);
            FloatVector s = zv.add(FloatVector.fromArray(S, p.a, ph));
            FloatVector t = hardClamp ? s.max(-1f).min(1f) : s.lanewise(VectorOperators.TANH);
            FloatVector y = t.mul(FloatVector.fromArray(S, p.b, ph)).sub(FloatVector.fromArray(S, p.c, ph));
            FloatVector r = rint(y);
            FloatVector width = FloatVector.fromArray(S, p.width, ph);
            VectorMask<Float> close = null;
            if (!hardClamp) {
                // distance of y to the nearest half-integer, where rint changes its result
                FloatVector gap = y.sub(r).abs().sub(0.5f).abs();
                close = gap.compare(VectorOperators.LT, FloatVector.fromArray(S, p.delta, ph));
                if (close.anyTrue()) {
                    zv.intoArray(keep, 0);
                } else {
                    close = null;
                }
            }
            (p.reciprocal != null ? r.mul(FloatVector.fromArray(S, p.reciprocal, ph)) : r.div(width)).intoArray(dst, f);
            FloatVector prodV = r.add(width).mul(FloatVector.fromArray(S, p.basis, ph));
            if (close != null) {
                prodV.intoArray(prod, 0);
                for (int l = 0; l < L; l++) {
                    if (close.laneIsSet(l)) {
                        int i = (ph + l) % d;
                        float digit = BoundedRounding.fsqStandardElement(keep[l], i, shift, halfL, offset, halfWidth, false, one);
                        dst[f + l] = one[0];
                        prod[l] = digit * basis[i];
                    }
                }
                prodV = FloatVector.fromArray(S, prod, 0);
            }
            if (wholeRows) {
                rowSums(prodV, d).intoArray(sums, f - from);
            } else {
                prodV.intoArray(prod, 0);
                row = sumRows(prod, d, row, carry, indices);
            }
            ph += L;
            if (ph >= d) {
                ph %= d;
            }
        }
        if (wholeRows) {
            // read after the loop, as in thresholdsBlock
            for (int o = 0; o < to - from; o += d) {
                indices[row++] = (long) sums[o];
            }
        }
        return finite(bad);
    }

    /**
     * The standard bound without evaluating tanh: the digit
     * <pre>
     * digit(s) = (int) rint(fl(fl(tanh(s))·halfL) − offset) + halfWidth,   s = fl(z + shift)
     * </pre>
     * is a non-decreasing step function of the float s ({@link Math#tanh} is semi-monotonic and
     * every later step is monotone), so it equals its smallest value plus the number of its
     * steps at or below s. The steps ({@code thresholds[j]}: the least float with a digit above
     * the j-th) are found once per quantizer by bisection over the floats with the scalar
     * formula itself, so digits, indices and codes are the scalar loop's exactly, without a
     * boundary check. A code of 0 keeps the sign of y, as {@code rint} does: −0.0 below the
     * float {@code zeroSign} where y turns non-negative.
     */
    private static boolean standardByThresholds(float[] src, float[] dst, int count, int d, Patterns p, float[] shift, float[] halfL,
                                                float[] offset, float[] halfWidth, boolean hardClamp, float[] basis, long[] indices) {
        float[] prod = new float[L];
        float[] carry = new float[2];
        int total = count * d;
        int vecEnd = wholeRowsVectorEnd(total, d);
        boolean finite = true;
        int block = fsqBlock(d);
        float[] sums = new float[Math.min(block, vecEnd)];
        for (int f0 = 0; f0 < vecEnd; f0 += block) {
            finite &= thresholdsBlock(src, dst, f0, Math.min(vecEnd, f0 + block), d, p, indices, prod, carry, sums);
        }
        return finite && BoundedRounding.fsqStandardIndexedScalar(src, dst, vecEnd / d, count, d, shift, halfL, offset, halfWidth,
                hardClamp, basis, indices);
    }

    /** {@link #standardByThresholds}'s vector loop over elements {@code [from, to)}, as {@link #standardIndexedBlock}. */
    private static boolean thresholdsBlock(float[] src, float[] dst, int from, int to, int d, Patterns p, long[] indices,
                                           float[] prod, float[] carry, float[] sums) {
        FloatVector bad = FloatVector.zero(S);
        FloatVector oneV = FloatVector.broadcast(S, 1f);
        FloatVector negZero = FloatVector.broadcast(S, -0f);
        boolean wholeRows = L % d == 0 && Integer.bitCount(d) == 1 && d <= 16;
        int steps = p.thresholds.length;
        carry[0] = 0f;
        carry[1] = 0f;
        int row = from / d;
        int ph = 0;
        for (int f = from; f < to; f += L) {
            FloatVector zv = FloatVector.fromArray(S, src, f);
            bad = nonFinite(bad, zv);
            FloatVector s = zv.add(FloatVector.fromArray(S, p.a, ph));
            FloatVector digit = FloatVector.fromArray(S, p.lowestDigit, ph);
            for (int j = 0; j < steps; j++) {
                // NaN pads the dimensions with fewer steps: never counted
                digit = digit.add(oneV, s.compare(VectorOperators.GE, FloatVector.fromArray(S, p.thresholds[j], ph)));
            }
            FloatVector width = FloatVector.fromArray(S, p.width, ph);
            FloatVector r = digit.sub(width);
            FloatVector code = p.reciprocal != null ? r.mul(FloatVector.fromArray(S, p.reciprocal, ph)) : r.div(width);
            VectorMask<Float> negativeZero = r.compare(VectorOperators.EQ, 0f)
                    .and(s.compare(VectorOperators.LT, FloatVector.fromArray(S, p.zeroSign, ph)));
            code.blend(negZero, negativeZero).intoArray(dst, f);
            FloatVector prodV = digit.mul(FloatVector.fromArray(S, p.basis, ph));
            if (wholeRows) {
                rowSums(prodV, d).intoArray(sums, f - from);
            } else {
                prodV.intoArray(prod, 0);
                row = sumRows(prod, d, row, carry, indices);
            }
            ph += L;
            if (ph >= d) {
                ph %= d;
            }
        }
        if (wholeRows) {
            // the row sums sit at every d-th float; read after the loop, not right behind each
            // vector store (a store-to-load round trip per vector, slow when the store splits a cache line)
            for (int o = 0; o < to - from; o += d) {
                indices[row++] = (long) sums[o];
            }
        }
        return finite(bad);
    }

    /** Floats in an int order: {@code key(a) < key(b)} iff a &lt; b, with −0.0 just below +0.0. */
    private static int key(float v) {
        int b = Float.floatToRawIntBits(v);
        return b >= 0 ? b : b ^ 0x7fffffff;
    }

    private static float unkey(int k) {
        return Float.intBitsToFloat(k >= 0 ? k : k ^ 0x7fffffff);
    }

    /** The standard digit of s in dimension i, by the scalar formula. */
    private static float standardDigit(float s, int i, float[] halfL, float[] offset, float[] halfWidth, boolean hardClamp) {
        float bounded = hardClamp ? Math.max(-1f, Math.min(1f, s)) : (float) Math.tanh(s);
        float y = bounded * halfL[i] - offset[i];
        float rounded = (float) Math.rint(y);
        return (int) rounded + (int) halfWidth[i];
    }

    /** Least finite float s (in {@link #key} order) with {@code test(s)}, for a test that holds from some s on; MAX_VALUE if none. */
    private static float least(java.util.function.IntPredicate testKey) {
        int lo = key(-Float.MAX_VALUE);
        int hi = key(Float.MAX_VALUE);
        if (!testKey.test(hi)) {
            return Float.NaN;
        }
        while (lo < hi) {
            int mid = (int) (((long) lo + hi) >> 1);
            if (testKey.test(mid)) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return unkey(lo);
    }

    @Override
    public boolean fsqSymmetricIndexed(float[] src, float[] dst, int count, int d, float[] levelsMinus1, float[] symStep,
                                       boolean hardClamp, float[] basis, long[] indices) {
        for (int i = 0; i < d; i++) {
            if (!(Math.abs(levelsMinus1[i]) < 0x1p21f)) {
                return BoundedRounding.fsqSymmetricIndexedScalar(src, dst, 0, count, d, levelsMinus1, symStep, hardClamp, basis,
                        indices);
            }
        }
        Patterns p = Patterns.symmetric(d, levelsMinus1, symStep, basis);
        float[] keep = new float[L];
        float[] prod = new float[L];
        float[] carry = new float[2];
        float[] one = new float[1];
        int total = count * d;
        int vecEnd = wholeRowsVectorEnd(total, d);
        boolean finite = true;
        int block = fsqBlock(d);
        float[] sums = new float[Math.min(block, vecEnd)];
        for (int f0 = 0; f0 < vecEnd; f0 += block) {
            finite &= symmetricIndexedBlock(src, dst, f0, Math.min(vecEnd, f0 + block), d, p, levelsMinus1, symStep, hardClamp,
                    basis, indices, keep, prod, carry, one, sums);
        }
        return finite && BoundedRounding.fsqSymmetricIndexedScalar(src, dst, vecEnd / d, count, d, levelsMinus1, symStep, hardClamp,
                basis, indices);
    }

    /** {@link #fsqSymmetricIndexed}'s vector loop over elements {@code [from, to)}, as {@link #standardIndexedBlock}. */
    private static boolean symmetricIndexedBlock(float[] src, float[] dst, int from, int to, int d, Patterns p, float[] levelsMinus1,
                                                 float[] symStep, boolean hardClamp, float[] basis, long[] indices, float[] keep,
                                                 float[] prod, float[] carry, float[] one, float[] sums) {
        FloatVector bad = FloatVector.zero(S);
        boolean wholeRows = L % d == 0 && Integer.bitCount(d) == 1 && d <= 16;
        carry[0] = 0f;
        carry[1] = 0f;
        int row = from / d;
        int ph = 0;
        for (int f = from; f < to; f += L) {
            FloatVector zv = FloatVector.fromArray(S, src, f);
            bad = nonFinite(bad, zv);
            FloatVector t = hardClamp ? zv.max(-1f).min(1f) : zv.lanewise(VectorOperators.TANH);
            FloatVector bracket = FloatVector.fromArray(S, p.a, ph).mul(t.add(1f)).div(2f).add(0.5f);
            FloatVector r = rint(bracket);
            // floor: one less where rint rounded up
            FloatVector k = r.sub(FloatVector.broadcast(S, 1f), r.compare(VectorOperators.GT, bracket));
            VectorMask<Float> close = null;
            if (!hardClamp) {
                FloatVector gap = bracket.sub(r).abs();
                close = gap.compare(VectorOperators.LT, FloatVector.fromArray(S, p.delta, ph));
                if (close.anyTrue()) {
                    zv.intoArray(keep, 0);
                } else {
                    close = null;
                }
            }
            FloatVector.fromArray(S, p.b, ph).mul(k).sub(1f).intoArray(dst, f);
            FloatVector prodV = k.mul(FloatVector.fromArray(S, p.basis, ph));
            if (close != null) {
                prodV.intoArray(prod, 0);
                for (int l = 0; l < L; l++) {
                    if (close.laneIsSet(l)) {
                        int i = (ph + l) % d;
                        float digit = BoundedRounding.fsqSymmetricElement(keep[l], i, levelsMinus1, symStep, false, one);
                        dst[f + l] = one[0];
                        prod[l] = digit * basis[i];
                    }
                }
                prodV = FloatVector.fromArray(S, prod, 0);
            }
            if (wholeRows) {
                rowSums(prodV, d).intoArray(sums, f - from);
            } else {
                prodV.intoArray(prod, 0);
                row = sumRows(prod, d, row, carry, indices);
            }
            ph += L;
            if (ph >= d) {
                ph %= d;
            }
        }
        if (wholeRows) {
            // read after the loop, as in thresholdsBlock
            for (int o = 0; o < to - from; o += d) {
                indices[row++] = (long) sums[o];
            }
        }
        return finite(bad);
    }

    /**
     * The per-dimension constants of one FSQ as lane patterns, built once per quantizer and
     * dimension count: the last ones of the thread are kept with copies of their constants and reused
     * while the constants are equal.
     */
    private static final class Patterns {
        final float[] a;
        final float[] b;
        final float[] c;
        final float[] width;
        final float[] delta;
        final float[] basis;
        /** {@code 1/width} when every width is a power of two (then r·(1/w) = r/w exactly), else null. */
        final float[] reciprocal;
        /** Standard bound by steps (see {@code standardByThresholds}), or null when a dimension has more than {@value #MAX_STEPS}. */
        float[][] thresholds;
        float[] lowestDigit;
        float[] zeroSign;
        boolean thresholdsHardClamp;
        static final int MAX_STEPS = 16;
        final Object[] key;

        private Patterns(Object[] key, float[] a, float[] b, float[] c, float[] width, float[] delta, float[] basis) {
            this.key = key;
            float[] rec = null;
            if (width != null) {
                rec = new float[width.length];
                for (int j = 0; j < width.length && rec != null; j++) {
                    float w = width[j];
                    boolean powerOfTwo = w > 0 && w >= Float.MIN_NORMAL && w <= 0x1p100f
                            && (Float.floatToRawIntBits(w) & 0x007fffff) == 0;
                    if (powerOfTwo) {
                        rec[j] = 1f / w;
                    } else {
                        rec = null;
                    }
                }
            }
            this.reciprocal = rec;
            this.a = a;
            this.b = b;
            this.c = c;
            this.width = width;
            this.delta = delta;
            this.basis = basis;
        }

        private static final ThreadLocal<Patterns> LAST = new ThreadLocal<>();

        /** The last patterns of this thread if built from constants equal to {@code key} (contents, d floats each). */
        private static Patterns cached(float[]... key) {
            Patterns p = LAST.get();
            if (p == null || p.key.length != key.length) {
                return null;
            }
            for (int i = 0; i < key.length; i++) {
                if (!java.util.Arrays.equals((float[]) p.key[i], key[i])) {
                    return null;
                }
            }
            return p;
        }

        private static Object[] copies(float[]... key) {
            Object[] c = new Object[key.length];
            for (int i = 0; i < key.length; i++) {
                c[i] = key[i].clone();
            }
            return c;
        }

        static Patterns standard(int d, float[] shift, float[] halfL, float[] offset, float[] halfWidth, float[] basis, boolean hardClamp) {
            float[][] key = {shift, halfL, offset, halfWidth, basis, {hardClamp ? 1f : 0f}};
            Patterns p = cached(key);
            if (p == null || p.a.length != d + L) {
                p = new Patterns(copies(key), pattern(shift, d, 1f, 0f),
                        pattern(halfL, d, 1f, 0f), pattern(offset, d, 1f, 0f), pattern(halfWidth, d, 1f, 0f),
                        pattern(halfL, d, MARGIN, MARGIN), pattern(basis, d, 1f, 0f));
                p.steps(d, halfL, offset, halfWidth, hardClamp);
                LAST.set(p);
            }
            return p;
        }

        /** The steps of the standard digit per dimension, as lane patterns (NaN where a dimension has fewer). */
        private void steps(int d, float[] halfL, float[] offset, float[] halfWidth, boolean hardClamp) {
            float[][] perDim = new float[d][];
            float[] lowest = new float[d];
            float[] zero = new float[d];
            int most = 0;
            for (int i = 0; i < d; i++) {
                final int dim = i;
                float lo = standardDigit(-Float.MAX_VALUE, i, halfL, offset, halfWidth, hardClamp);
                float hi = standardDigit(Float.MAX_VALUE, i, halfL, offset, halfWidth, hardClamp);
                int n = (int) (hi - lo);
                if (!(n >= 0 && n <= MAX_STEPS)) {
                    return;
                }
                lowest[i] = lo;
                perDim[i] = new float[n];
                for (int j = 0; j < n; j++) {
                    float want = lo + j + 1;
                    perDim[i][j] = least(k -> standardDigit(unkey(k), dim, halfL, offset, halfWidth, hardClamp) >= want);
                }
                // where y = fl(bounded·halfL) − offset stops being negative or −0.0
                zero[i] = least(k -> {
                    float sv = unkey(k);
                    float bounded = hardClamp ? Math.max(-1f, Math.min(1f, sv)) : (float) Math.tanh(sv);
                    float y = bounded * halfL[dim] - offset[dim];
                    return y > 0 || (y == 0 && Float.floatToRawIntBits(y) == 0);
                });
                most = Math.max(most, n);
            }
            float[][] t = new float[most][];
            for (int j = 0; j < most; j++) {
                float[] c = new float[d];
                for (int i = 0; i < d; i++) {
                    c[i] = j < perDim[i].length ? perDim[i][j] : Float.NaN;
                }
                t[j] = pattern(c, d, 1f, 0f);
            }
            this.thresholds = t;
            this.lowestDigit = pattern(lowest, d, 1f, 0f);
            // NaN (y never turns non-negative): every zero code is −0.0; compare LT NaN is false, so use +∞
            for (int i = 0; i < d; i++) {
                if (Float.isNaN(zero[i])) {
                    zero[i] = Float.POSITIVE_INFINITY;
                }
            }
            this.zeroSign = pattern(zero, d, 1f, 0f);
            this.thresholdsHardClamp = hardClamp;
        }

        static Patterns symmetric(int d, float[] levelsMinus1, float[] symStep, float[] basis) {
            float[][] key = {levelsMinus1, symStep, basis};
            Patterns p = cached(key);
            if (p == null || p.a.length != d + L) {
                p = new Patterns(copies(key), pattern(levelsMinus1, d, 1f, 0f),
                        pattern(symStep, d, 1f, 0f), null, null, pattern(levelsMinus1, d, 0.5f * MARGIN, MARGIN),
                        pattern(basis, d, 1f, 0f));
                LAST.set(p);
            }
            return p;
        }
    }
}
