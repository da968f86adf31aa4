package io.vqstream.core.quantize;

/**
 * A {@link RandomSource} that answers some draws itself and leaves the others to a base source.
 *
 * @param fixedUniform the fixed uniform draw, or null for the base's
 */
record OverridingRandomSource(RandomSource base, boolean firstRowsKmeans, Double fixedUniform) implements RandomSource {

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
        return fixedUniform != null ? fixedUniform : base.uniform();
    }
}
