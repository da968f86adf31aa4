package io.vqstream.core.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The vectorised FSQ/LFQ cores against their scalar definition, bit for bit: random inputs at
 * several scales, signed zeros, subnormals, huge values, and inputs placed within a few ulps
 * of every rounding boundary of the bound (where a tanh that is off in the last bits would
 * flip a code).
 */
class TanhRoundingTest {
    private static final int[][] LEVELS = {{8, 5, 5, 5}, {3}, {2, 4, 7}, {16, 15}, {5, 5, 5, 5, 5}, {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}};

    @Test
    void vectorKernelsAreInUse() {
        if (VectorSupport.available()) {
            assertNotSame(BoundedRounding.SCALAR, BoundedRounding.kernels());
        }
    }

    @Test
    void standardBoundMatchesScalarEverywhere() {
        for (int[] levels : LEVELS) {
            int d = levels.length;
            float[] halfL = new float[d];
            float[] offset = new float[d];
            float[] shift = new float[d];
            float[] halfWidth = new float[d];
            for (int i = 0; i < d; i++) {
                halfL[i] = (float) ((levels[i] - 1) * (1 + 1e-3) / 2);
                offset[i] = levels[i] % 2 == 0 ? 0.5f : 0f;
                double ratio = offset[i] / halfL[i];
                shift[i] = (float) (0.5 * Math.log((1 + ratio) / (1 - ratio)));
                halfWidth[i] = levels[i] / 2;
            }
            for (boolean hard : new boolean[] {false, true}) {
                float[] z = inputs(d, levels, halfL, offset, shift, false, 7L * d + (hard ? 1 : 0));
                float[] want = z.clone();
                float[] got = z.clone();
                int[] wantDigits = new int[z.length];
                int[] gotDigits = new int[z.length];
                int rows = z.length / d;
                BoundedRounding.SCALAR.fsqStandard(want, rows, d, shift, halfL, offset, halfWidth, hard, wantDigits);
                BoundedRounding.kernels().fsqStandard(got, rows, d, shift, halfL, offset, halfWidth, hard, gotDigits);
                assertArrayEquals(wantDigits, gotDigits, "digits, levels " + java.util.Arrays.toString(levels) + " hard=" + hard);
                assertBits(want, got, "codes, levels " + java.util.Arrays.toString(levels));
            }
        }
    }

    @Test
    void symmetricBoundMatchesScalarEverywhere() {
        for (int[] levels : LEVELS) {
            int d = levels.length;
            float[] lm1 = new float[d];
            float[] step = new float[d];
            for (int i = 0; i < d; i++) {
                lm1[i] = levels[i] - 1;
                step[i] = 2f / (levels[i] - 1);
            }
            for (boolean hard : new boolean[] {false, true}) {
                float[] z = inputs(d, levels, lm1, null, null, true, 11L * d + (hard ? 1 : 0));
                float[] want = z.clone();
                float[] got = z.clone();
                int[] wantDigits = new int[z.length];
                int[] gotDigits = new int[z.length];
                int rows = z.length / d;
                BoundedRounding.SCALAR.fsqSymmetric(want, rows, d, lm1, step, hard, wantDigits);
                BoundedRounding.kernels().fsqSymmetric(got, rows, d, lm1, step, hard, gotDigits);
                assertArrayEquals(wantDigits, gotDigits, "digits, levels " + java.util.Arrays.toString(levels) + " hard=" + hard);
                assertBits(want, got, "codes, levels " + java.util.Arrays.toString(levels));
            }
        }
    }

    @Test
    void lfqSignsMatchScalar() {
        for (int d : new int[] {1, 3, 4, 8, 10, 16, 32, 48, 63}) {
            SplittableRandom rnd = new SplittableRandom(d);
            // more than two of the vector path's row blocks, and a partial one
            int rows = 2100 + d;
            float[] u = new float[rows * d];
            for (int i = 0; i < u.length; i++) {
                int kind = rnd.nextInt(10);
                u[i] = switch (kind) {
                    case 0 -> 0f;
                    case 1 -> -0f;
                    case 2 -> Float.MIN_VALUE * (rnd.nextBoolean() ? 1 : -1);
                    default -> (float) rnd.nextGaussian();
                };
            }
            float[] wantQ = new float[u.length];
            float[] gotQ = new float[u.length];
            long[] want = new long[rows];
            long[] got = new long[rows];
            BoundedRounding.SCALAR.lfqSigns(u, rows, d, 0.75f, wantQ, want);
            BoundedRounding.kernels().lfqSigns(u, rows, d, 0.75f, gotQ, got);
            assertArrayEquals(want, got, "indices, d=" + d);
            assertBits(wantQ, gotQ, "codes, d=" + d);
        }
    }

    /**
     * The indexed variants (input to output, indices instead of digits, input check fused)
     * against the in-place digit loops and {@code Σ digit·basis}: same floats, same indices, the
     * input untouched, also with input and output the same array; false exactly when the input
     * holds NaN or ±∞.
     */
    @Test
    void indexedVariantsMatchTheDigitLoops() {
        for (int[] levels : LEVELS) {
            int d = levels.length;
            long size = 1;
            for (int l : levels) {
                size *= l;
            }
            if (size > BoundedRounding.MAX_INDEXED_CODEBOOK) {
                continue;
            }
            float[] basis = new float[d];
            float[] halfL = new float[d];
            float[] offset = new float[d];
            float[] shift = new float[d];
            float[] halfWidth = new float[d];
            float[] lm1 = new float[d];
            float[] step = new float[d];
            long acc = 1;
            for (int i = 0; i < d; i++) {
                basis[i] = acc;
                acc *= levels[i];
                halfL[i] = (float) ((levels[i] - 1) * (1 + 1e-3) / 2);
                offset[i] = levels[i] % 2 == 0 ? 0.5f : 0f;
                double ratio = offset[i] / halfL[i];
                shift[i] = (float) (0.5 * Math.log((1 + ratio) / (1 - ratio)));
                halfWidth[i] = levels[i] / 2;
                lm1[i] = levels[i] - 1;
                step[i] = 2f / (levels[i] - 1);
            }
            for (boolean symmetric : new boolean[] {false, true}) {
                for (boolean hard : new boolean[] {false, true}) {
                    String what = java.util.Arrays.toString(levels) + (symmetric ? " symmetric" : " standard") + " hard=" + hard;
                    float[] z = symmetric ? inputs(d, levels, lm1, null, null, true, 13L * d + (hard ? 1 : 0))
                            : inputs(d, levels, halfL, offset, shift, false, 17L * d + (hard ? 1 : 0));
                    int rows = z.length / d;
                    float[] want = z.clone();
                    int[] digits = new int[z.length];
                    if (symmetric) {
                        BoundedRounding.SCALAR.fsqSymmetric(want, rows, d, lm1, step, hard, digits);
                    } else {
                        BoundedRounding.SCALAR.fsqStandard(want, rows, d, shift, halfL, offset, halfWidth, hard, digits);
                    }
                    long[] wantIdx = new long[rows];
                    for (int r = 0; r < rows; r++) {
                        for (int i = 0; i < d; i++) {
                            wantIdx[r] += digits[r * d + i] * (long) basis[i];
                        }
                    }
                    for (BoundedRounding.Kernels k : new BoundedRounding.Kernels[] {BoundedRounding.SCALAR, BoundedRounding.kernels()}) {
                        float[] src = z.clone();
                        float[] dst = new float[z.length];
                        long[] idx = new long[rows];
                        assertEquals(true, indexed(k, symmetric, src, dst, rows, d, shift, halfL, offset, halfWidth, lm1, step, hard, basis, idx));
                        assertBits(z, src, "input kept, " + what);
                        assertBits(want, dst, "codes, " + what);
                        assertArrayEquals(wantIdx, idx, "indices, " + what);
                        float[] same = z.clone();
                        long[] idx2 = new long[rows];
                        assertEquals(true, indexed(k, symmetric, same, same, rows, d, shift, halfL, offset, halfWidth, lm1, step, hard, basis, idx2));
                        assertBits(want, same, "codes in place, " + what);
                        assertArrayEquals(wantIdx, idx2, "indices in place, " + what);
                        int few = Math.min(rows, 67);
                        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                            for (int at : new int[] {0, few * d / 2 + 1, few * d - 1}) {
                                float[] b = java.util.Arrays.copyOf(z, few * d);
                                b[at] = bad;
                                assertEquals(false, indexed(k, symmetric, b, new float[b.length], few, d, shift, halfL, offset, halfWidth,
                                        lm1, step, hard, basis, new long[few]), bad + " at " + at + ", " + what);
                            }
                            // in a later block of the vector loop than the first, and in the scalar rest
                            for (int at : new int[] {z.length * 3 / 4, z.length - 1}) {
                                float[] b = z.clone();
                                b[at] = bad;
                                assertEquals(false, indexed(k, symmetric, b, new float[b.length], rows, d, shift, halfL, offset, halfWidth,
                                        lm1, step, hard, basis, new long[rows]), bad + " at " + at + " of " + z.length + ", " + what);
                            }
                        }
                    }
                }
            }
        }
    }

    private static boolean indexed(BoundedRounding.Kernels k, boolean symmetric, float[] src, float[] dst, int rows, int d, float[] shift,
                                   float[] halfL, float[] offset, float[] halfWidth, float[] lm1, float[] step, boolean hard,
                                   float[] basis, long[] idx) {
        return symmetric ? k.fsqSymmetricIndexed(src, dst, rows, d, lm1, step, hard, basis, idx)
                : k.fsqStandardIndexed(src, dst, rows, d, shift, halfL, offset, halfWidth, hard, basis, idx);
    }

    @Test
    void lfqSignsReportNonFiniteInput() {
        for (int d : new int[] {3, 4, 16, 32, 10}) {
            // past the vector path's first row block
            int rows = 1100;
            float[] u = new float[rows * d];
            SplittableRandom rnd = new SplittableRandom(d);
            for (int i = 0; i < u.length; i++) {
                u[i] = (float) rnd.nextGaussian();
            }
            for (BoundedRounding.Kernels k : new BoundedRounding.Kernels[] {BoundedRounding.SCALAR, BoundedRounding.kernels()}) {
                assertEquals(true, k.lfqSigns(u, rows, d, 1f, new float[u.length], new long[rows]), "d=" + d);
                for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                    for (int at : new int[] {0, u.length / 2, u.length - 1}) {
                        float[] b = u.clone();
                        b[at] = bad;
                        assertEquals(false, k.lfqSigns(b, rows, d, 1f, new float[u.length], new long[rows]), bad + " at " + at + ", d=" + d);
                    }
                }
            }
        }
    }

    /**
     * Rows of d values: Gaussian at scales 0.01–30, special values, and values whose bound lands
     * within ±4 ulps of a rounding boundary {@code y = m + ½} (standard) or {@code b = m} (symmetric).
     */
    private static float[] inputs(int d, int[] levels, float[] scale, float[] offset, float[] shift, boolean symmetric, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int rows = 20000 / d + 37;
        float[] z = new float[rows * d];
        float[] special = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, 1e-30f, -1e-30f, 9f, -9f, 20f, -20f, 1e6f, -1e6f,
            Float.MAX_VALUE, -Float.MAX_VALUE, 0.5f, -0.5f};
        for (int f = 0; f < z.length; f++) {
            int i = f % d;
            int kind = rnd.nextInt(8);
            if (kind == 0) {
                z[f] = special[rnd.nextInt(special.length)];
            } else if (kind <= 3) {
                double[] scales = {0.01, 0.3, 1, 3, 30};
                z[f] = (float) (rnd.nextGaussian() * scales[rnd.nextInt(scales.length)]);
            } else {
                // a boundary of the rounding, pulled back through the bound
                int m = rnd.nextInt(levels[i] + 1) - levels[i] / 2;
                double t;
                if (symmetric) {
                    int mm = rnd.nextInt(levels[i] + 1);
                    t = (mm - 0.5) * 2 / scale[i] - 1;
                } else {
                    t = (m + 0.5 + offset[i]) / scale[i];
                }
                if (Math.abs(t) >= 1) {
                    t = Math.signum(t) * (1 - 1e-7);
                }
                double s = 0.5 * Math.log((1 + t) / (1 - t)) - (symmetric ? 0 : shift[i]);
                float v = (float) s;
                int ulps = rnd.nextInt(9) - 4;
                for (int u = 0; u < Math.abs(ulps); u++) {
                    v = ulps > 0 ? Math.nextUp(v) : Math.nextDown(v);
                }
                z[f] = v;
            }
        }
        return z;
    }

    private static void assertBits(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                throw new AssertionError(what + ": element " + i + " expected " + want[i] + " but was " + got[i]);
            }
        }
    }
}
