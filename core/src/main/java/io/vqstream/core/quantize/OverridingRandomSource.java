package io.vqstream.core.quantize;

/** A {@link RandomSource} that answers some draws itself and leaves the others to a base source. */
final class OverridingRandomSource implements RandomSource {
    private final RandomSource base;
    private final boolean firstRowsKmeans;
    /** The fixed uniform draw, or null for the base's. */
    private final Double uniform;

    OverridingRandomSource(RandomSource base, boolean firstRowsKmeans, Double uniform) {
        this.base = base;
        this.firstRowsKmeans = firstRowsKmeans;
        this.uniform = uniform;
    }

    @Override
    public int[] kmeansSeedRows(int available, int count) {
        if (!firstRowsKmeans) {
            return base.kmeansSeedRows(available, count);
        }
        int[] r = new int[count];
        for (int i = 0; i < count; i++) {
            r[i] = i % available;
        }
        return r;
    }

    @Override
    public int[] deadCodeRows(int available, int count) {
        return base.deadCodeRows(available, count);
    }

    @Override
    public double gumbel() {
        return base.gumbel();
    }

    @Override
    public double uniform() {
        return uniform != null ? uniform : base.uniform();
    }
}
