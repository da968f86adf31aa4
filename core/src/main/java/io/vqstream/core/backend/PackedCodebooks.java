package io.vqstream.core.backend;

import java.lang.ref.WeakReference;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Layouts derived from a codebook, built once per {@link CodebookVersions codebook version} and
 * shared by all threads: the code norms, the L2 bias {@code −‖c‖²/2}, and the panel layouts the
 * kernels read. An entry is immutable once published (layouts added later are built in full
 * before they are stored in a volatile field).
 *
 * <p>The cache is a least-recently-used map bounded by {@value #BUDGET_PROPERTY} floats in
 * all (default 8 Mi floats, 32 MiB), since operators holding many per-key codebooks would
 * otherwise keep a copy of each. Keys hold their arrays weakly.
 */
final class PackedCodebooks {
    static final String BUDGET_PROPERTY = "vqstream.jvm.packCacheFloats";
    private static final long BUDGET = Long.getLong(BUDGET_PROPERTY, 8L << 20);
    private static final Map<Key, Entry> CACHE = new LinkedHashMap<>(16, 0.75f, true);
    private static long held;

    private PackedCodebooks() {}

    /** A layout built from the codebook on first use. */
    interface Layout {
        float[] build(float[] cb, int cbOff, int k, int d);
    }

    /**
     * A layout built from the codebook on first use, into {@code spare} when that is not null
     * and has the layout's length: the same slot of the version this one replaced, so that a
     * codebook learnt step by step does not allocate its panels anew at every step.
     */
    interface RecyclingLayout {
        float[] build(float[] cb, int cbOff, int k, int d, float[] spare);
    }

    /** Slots whose arrays pass from a replaced version to its successor (the panel layouts). */
    private static final int RECYCLED_SLOTS = 2;

    /** Derived data of codes {@code [cbOff, cbOff + k·d)} of one version of a codebook. */
    static final class Entry {
        final long version;
        final int k;
        final int d;
        final float[] norms;
        final float[] biasL2;
        final boolean finite;
        final float maxNorm;
        private final Object[] layouts = new Object[3];
        /** Arrays of the replaced version's layouts, reused by {@link #layout}; guarded by this entry. */
        private final float[][] spares;
        /** Floats held, and whether the cache still counts them; both guarded by the cache's lock. */
        private long floats;
        private boolean evicted;

        Entry(long version, int k, int d, float[] norms, float[][] spares) {
            this.spares = spares;
            this.version = version;
            this.k = k;
            this.d = d;
            this.norms = norms;
            this.biasL2 = new float[k];
            boolean fin = true;
            float max = 0f;
            for (int j = 0; j < k; j++) {
                biasL2[j] = -0.5f * norms[j];
                fin &= Float.isFinite(norms[j]);
                max = Math.max(max, norms[j]);
            }
            this.finite = fin;
            this.maxNorm = max;
            this.floats = 2L * k;
        }

        /**
         * {@link #biasL2} with −∞ for every code that is a bitwise copy of a lower one: the
         * reference scores a copy exactly as its original, so the lower index always wins
         * their tie and a fast arg-max may leave the copy out (its runner-up is then a code
         * that can really win). Built on first use (layout slot 2).
         */
        float[] biasL2Unique(float[] cb, int cbOff) {
            return layout(2, cb, cbOff, (c, o, kk, dd, spare) -> withoutCopies(c, o, kk, dd, biasL2, norms));
        }

        /**
         * False the first time it is asked while layout {@code slot} is not built, true from then
         * on: a layout is worth building for the second caller of a version, not for one row once.
         */
        synchronized boolean wantsLayout(int slot) {
            if (layouts[slot] != null || askedUnbuilt[slot]) {
                return true;
            }
            askedUnbuilt[slot] = true;
            return false;
        }

        private final boolean[] askedUnbuilt = new boolean[3];

        /** Layout {@code slot}, built from {@code cb} when this entry does not hold it yet. */
        float[] layout(int slot, float[] cb, int cbOff, RecyclingLayout builder) {
            float[] a;
            float[] spare = null;
            synchronized (this) {
                a = (float[]) layouts[slot];
                if (a == null && spares != null && slot < spares.length) {
                    spare = spares[slot];
                    spares[slot] = null;
                }
            }
            if (a != null) {
                return a;
            }
            a = builder.build(cb, cbOff, k, d, spare);
            synchronized (this) {
                if (layouts[slot] == null) {
                    layouts[slot] = a;
                    grew(this, a.length);
                }
                return (float[]) layouts[slot];
            }
        }

        /**
         * Hands this replaced version's large layouts to its successor and forgets them: a call
         * still holding this entry would be reading a codebook that is being changed under it.
         */
        synchronized float[][] handOver() {
            float[][] out = new float[RECYCLED_SLOTS][];
            for (int slot = 0; slot < RECYCLED_SLOTS; slot++) {
                out[slot] = (float[]) layouts[slot];
                layouts[slot] = null;
            }
            return out;
        }
    }

    /**
     * {@code bias} with −∞ at the codes that repeat a lower code bit for bit. Copies have the
     * same float norm (the same computation on the same bits), so only codes of equal norm
     * bits are compared: codes are grouped by norm bits in a hash table, and each code is
     * compared with the originals of its group only, lowest first. For distinct codes that is
     * one hash pass and almost no comparisons; for many copies of one code (codes the EMA let
     * decay to zero) one comparison each.
     */
    static float[] withoutCopies(float[] cb, int cbOff, int k, int d, float[] bias, float[] norms) {
        float[] out = java.util.Arrays.copyOf(bias, k);
        int cap = Integer.highestOneBit(Math.max(2, 2 * k - 1)) << 1;
        int mask = cap - 1;
        int[] groups = new int[cap]; // lowest code of a norm group + 1, or 0 for an empty slot
        int[] nextOriginal = new int[k]; // the next original of the same group, −1 after the last
        for (int j = 0; j < k; j++) {
            int bits = Float.floatToRawIntBits(norms[j]);
            int h = (bits * 0x9E3779B9) >>> 7 & mask;
            while (groups[h] != 0 && Float.floatToRawIntBits(norms[groups[h] - 1]) != bits) {
                h = (h + 1) & mask;
            }
            nextOriginal[j] = -1;
            if (groups[h] == 0) {
                groups[h] = j + 1;
                continue;
            }
            int last = -1;
            boolean copy = false;
            for (int o = groups[h] - 1; o >= 0 && !copy; o = nextOriginal[o]) {
                copy = sameBits(cb, cbOff + o * d, cbOff + j * d, d);
                last = o;
            }
            if (copy) {
                out[j] = Float.NEGATIVE_INFINITY;
            } else {
                nextOriginal[last] = j;
            }
        }
        return out;
    }

    private static boolean sameBits(float[] cb, int a, int b, int d) {
        for (int e = 0; e < d; e++) {
            if (Float.floatToRawIntBits(cb[a + e]) != Float.floatToRawIntBits(cb[b + e])) {
                return false;
            }
        }
        return true;
    }

    /** Identity of (array, offset, shape); the array held weakly. */
    private static final class Key {
        private final WeakReference<float[]> array;
        private final int hash;
        private final int cbOff;
        private final int k;
        private final int d;

        Key(float[] a, int cbOff, int k, int d) {
            this.array = new WeakReference<>(a);
            this.cbOff = cbOff;
            this.k = k;
            this.d = d;
            this.hash = System.identityHashCode(a) * 31 + cbOff;
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Key other)) {
                return false;
            }
            float[] a = array.get();
            return a != null && a == other.array.get() && cbOff == other.cbOff && k == other.k && d == other.d;
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /**
     * The entry of this codebook's current version, or null when the array is not versioned.
     * {@code squares} computes the norms the way the kernels do, so that cached and uncached
     * calls see the same floats.
     */
    /** The cached entry of the current version of this codebook, or null; builds nothing. */
    static Entry peek(float[] cb, int cbOff, int k, int d) {
        long version = CodebookVersions.of(cb);
        if (version == CodebookVersions.UNTRACKED) {
            return null;
        }
        synchronized (CACHE) {
            Entry e = CACHE.get(new Key(cb, cbOff, k, d));
            return e != null && e.version == version ? e : null;
        }
    }

    static Entry get(float[] cb, int cbOff, int k, int d, Layout squares) {
        long version = CodebookVersions.of(cb);
        if (version == CodebookVersions.UNTRACKED) {
            return null;
        }
        Key key = new Key(cb, cbOff, k, d);
        float[][] spares = null;
        synchronized (CACHE) {
            Entry e = CACHE.get(key);
            if (e != null && e.version == version) {
                return e;
            }
            if (e != null && e.version < version) {
                spares = e.handOver();
            }
        }
        Entry e = new Entry(version, k, d, squares.build(cb, cbOff, k, d), spares);
        synchronized (CACHE) {
            Entry old = CACHE.put(key, e);
            if (old != null) {
                held -= old.floats;
                old.evicted = true;
            }
            held += e.floats;
            evict();
        }
        return e;
    }

    private static void grew(Entry e, long floats) {
        synchronized (CACHE) {
            if (!e.evicted) {
                e.floats += floats;
                held += floats;
                evict();
            }
        }
    }

    private static void evict() {
        Iterator<Entry> it = CACHE.values().iterator();
        while (held > BUDGET && CACHE.size() > 1 && it.hasNext()) {
            Entry e = it.next();
            held -= e.floats;
            e.evicted = true;
            it.remove();
        }
    }

    /** Drops every entry (tests). */
    static void clear() {
        synchronized (CACHE) {
            CACHE.values().forEach(e -> e.evicted = true);
            CACHE.clear();
            held = 0;
        }
    }
}
