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
 * Digits leave through a small float buffer and a scalar int cast: JDK 17's F2I
 * {@code convertShape} is not intrinsified and ran the whole loop 4× slower.
 */
final class VectorRounding implements BoundedRounding.Kernels {
    private static final VectorSpecies<Float> S = species();
    private static final int L = S.length();
    private static final float MAGIC = 12582912f; // 1.5·2²³
    private static final float MARGIN = 0x1p-18f;

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
        float[] fd = new float[L];
        int f = 0;
        int ph = 0;
        for (; f + L <= total; f += L) {
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
            r.add(width).intoArray(fd, 0);
            for (int l = 0; l < L; l++) {
                digits[f + l] = (int) fd[l];
            }
            if (close != null) {
                for (int l = 0; l < L; l++) {
                    if (close.laneIsSet(l)) {
                        z[f + l] = keep[l];
                        BoundedRounding.fsqStandardScalar(z, f + l, f + l + 1, d, shift, halfL, offset, halfWidth, false, digits);
                    }
                }
            }
            ph += L;
            ph %= d;
        }
        BoundedRounding.fsqStandardScalar(z, f, total, d, shift, halfL, offset, halfWidth, hardClamp, digits);
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
        float[] fd = new float[L];
        int f = 0;
        int ph = 0;
        for (; f + L <= total; f += L) {
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
            k.intoArray(fd, 0);
            for (int l = 0; l < L; l++) {
                digits[f + l] = (int) fd[l];
            }
            if (close != null) {
                for (int l = 0; l < L; l++) {
                    if (close.laneIsSet(l)) {
                        z[f + l] = keep[l];
                        BoundedRounding.fsqSymmetricScalar(z, f + l, f + l + 1, d, levelsMinus1, symStep, false, digits);
                    }
                }
            }
            ph += L;
            ph %= d;
        }
        BoundedRounding.fsqSymmetricScalar(z, f, total, d, levelsMinus1, symStep, hardClamp, digits);
    }

    @Override
    public void lfqSigns(float[] u, int rows, int d, float scale, float[] q, long[] indices) {
        FloatVector pos = FloatVector.broadcast(S, scale);
        FloatVector neg = FloatVector.broadcast(S, -scale);
        if (d % L == 0 && d <= 63) {
            int per = d / L;
            for (int r = 0; r < rows; r++) {
                long bits = 0;
                int o = r * d;
                for (int v = 0; v < per; v++) {
                    VectorMask<Float> m = FloatVector.fromArray(S, u, o + v * L).compare(VectorOperators.GT, 0f);
                    neg.blend(pos, m).intoArray(q, o + v * L);
                    bits |= m.toLong() << (v * L);
                }
                // lane j is bit j; the index has dimension 0 as its most significant bit
                indices[r] = Long.reverse(bits) >>> (64 - d);
            }
            return;
        }
        if (L % d == 0) {
            int perVector = L / d;
            long low = (1L << d) - 1;
            int r = 0;
            for (; r + perVector <= rows; r += perVector) {
                int o = r * d;
                VectorMask<Float> m = FloatVector.fromArray(S, u, o).compare(VectorOperators.GT, 0f);
                neg.blend(pos, m).intoArray(q, o);
                long bits = m.toLong();
                for (int w = 0; w < perVector; w++) {
                    indices[r + w] = Long.reverse((bits >>> (w * d)) & low) >>> (64 - d);
                }
            }
            for (; r < rows; r++) {
                long index = 0;
                for (int j = 0; j < d; j++) {
                    boolean positive = u[r * d + j] > 0;
                    q[r * d + j] = positive ? scale : -scale;
                    index = (index << 1) | (positive ? 1 : 0);
                }
                indices[r] = index;
            }
            return;
        }
        BoundedRounding.SCALAR.lfqSigns(u, rows, d, scale, q, indices);
    }
}
