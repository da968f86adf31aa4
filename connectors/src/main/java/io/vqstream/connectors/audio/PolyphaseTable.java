package io.vqstream.connectors.audio;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The non-zero coefficients of a {@link ResamplerFilter} for one rate pair, one row per output
 * phase. With {@code orig} and {@code new} the gcd-reduced rates, output {@code n = f*new + j}
 * reads inputs {@code f*orig + firstOffset[j] .. + coefficients[j].length - 1}. Tables are
 * immutable and shared between resamplers through a small LRU cache, since every stream of a
 * given rate pair uses the same one.
 */
final class PolyphaseTable {
    /** Most coefficients one table may hold (16 MiB of floats); odd rate pairs beyond it are refused. */
    static final long MAX_COEFFICIENTS = 1L << 22;
    private static final int CACHE_SIZE = 16;

    private record Key(int sourceRate, int targetRate, ResamplerFilter filter) {}

    private static final Map<Key, PolyphaseTable> CACHE = new LinkedHashMap<>(CACHE_SIZE, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, PolyphaseTable> eldest) {
            return size() > CACHE_SIZE;
        }
    };

    final int orig;
    final int neu;
    final int[] firstOffset;
    final float[][] coefficients;
    /** min over phases of firstOffset: how far before {@code f*orig} any later output may read. */
    final int minOffset;

    static PolyphaseTable of(int sourceRate, int targetRate, ResamplerFilter filter) {
        Key key = new Key(sourceRate, targetRate, filter);
        synchronized (CACHE) {
            PolyphaseTable t = CACHE.get(key);
            if (t == null) {
                t = new PolyphaseTable(sourceRate, targetRate, filter);
                CACHE.put(key, t);
            }
            return t;
        }
    }

    private PolyphaseTable(int sourceRate, int targetRate, ResamplerFilter filter) {
        int g = gcd(sourceRate, targetRate);
        orig = sourceRate / g;
        neu = targetRate / g;
        double w = filter.lowpassFilterWidth();
        double base = Math.min(orig, neu) * filter.rolloff();
        double scale = base / orig;
        // torchaudio pads the input by `width` on the left; offsets below are relative to f*orig.
        int width = (int) Math.ceil(w * orig / base);
        double halfSpan = w * orig / base;
        long estimate = (long) neu * (long) (2 * Math.ceil(halfSpan) + 2);
        if (estimate > MAX_COEFFICIENTS) {
            throw new IllegalArgumentException("resampling " + sourceRate + " Hz to " + targetRate + " Hz needs about "
                    + estimate + " filter coefficients (limit " + MAX_COEFFICIENTS
                    + "): the rates share too small a common divisor (" + g + ")");
        }
        firstOffset = new int[neu];
        coefficients = new float[neu][];
        int min = Integer.MAX_VALUE;
        for (int j = 0; j < neu; j++) {
            double centre = width + (double) j * orig / neu;
            int lo = Math.max(0, (int) Math.floor(centre - halfSpan));
            int hi = Math.min(2 * width + orig - 1, (int) Math.ceil(centre + halfSpan));
            int first = -1;
            int last = -1;
            double[] k = new double[hi - lo + 1];
            for (int m = lo; m <= hi; m++) {
                // The same expression torchaudio evaluates, so the kept taps are exactly its non-zero ones.
                double t = (-(double) j / neu + (double) (m - width) / orig) * base;
                double v = filter.unscaledKernel(t);
                if (v != 0.0 || Math.abs(t) < w) {
                    if (first < 0) {
                        first = m;
                    }
                    last = m;
                }
                k[m - lo] = v * scale;
            }
            if (first < 0) {
                throw new AssertionError("empty resampling phase " + j);
            }
            float[] c = new float[last - first + 1];
            for (int m = first; m <= last; m++) {
                c[m - first] = (float) k[m - lo];
            }
            coefficients[j] = c;
            firstOffset[j] = first - width;
            min = Math.min(min, firstOffset[j]);
        }
        minOffset = min;
    }

    static int gcd(int a, int b) {
        while (b != 0) {
            int r = a % b;
            a = b;
            b = r;
        }
        return a;
    }
}
