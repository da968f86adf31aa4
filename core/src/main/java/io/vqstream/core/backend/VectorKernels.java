package io.vqstream.core.backend;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link FloatKernels} on the Java Vector API. Loaded only when the boot layer has
 * {@code jdk.incubator.vector} (see {@link JvmBackend}). The tile bodies are unrolled by hand:
 * the accumulators must be locals for C2 to keep them in registers.
 *
 * <p>Batches above L rows run a register tile of 2 vectors of rows × 5 codes. The rows of a
 * tile are transposed once, so that one vector holds one coordinate of {@code 2·L} rows, and
 * each code coordinate is broadcast; the arg-max then runs lane-wise (lane = row) with no
 * reduction across lanes:
 * <pre>
 * for e &lt; d:  h[v][q] += xᵀ[e][v·L ..] · c_q[e]       (10 FMAs per 2 loads + 5 broadcasts)
 * </pre>
 * Ten accumulators leave registers for the operands (16 on AVX2; a 12-accumulator tile spilled
 * and ran at half speed). From {@link #PACK_MIN_ROWS} rows on, the codebook is first copied
 * into panels of 5 codes with their coordinates interleaved, so that the five broadcasts share
 * one address; the copy is paid back over the row tiles. Smaller batches run 2 × 4 on the
 * codebook as it is, batches of {@link #TILE_MIN_ROWS}..L rows one vector of rows × 6 codes,
 * and batches below {@link #TILE_MIN_ROWS} rows vectorise along d, with the codebook norms in
 * the same pass. Codes are visited in cache blocks shared by several row tiles (eight times as
 * many against a codebook larger than the caches); vectors longer than {@link #DEPTH_CHUNK} are
 * cut into chunks whose tile rows stay in L1.
 */
final class VectorKernels implements FloatKernels {
    private static final VectorSpecies<Float> S = species();
    private static final int L = S.length();
    /** The tile for this width and register file (see {@link VectorSupport.TileShape}). */
    static final VectorSupport.TileShape SHAPE = VectorSupport.TileShape.pick(L, registers());
    /** Rows per register tile. */
    private static final int T = 2 * L;
    /** Codes per packed panel. */
    private static final int P = 5;
    /** Batches below this many rows use the d-vectorised kernels. */
    static final int TILE_MIN_ROWS = Integer.getInteger("vqstream.jvm.tileMinRows", 5);
    /** Batches of at most this many rows against a versioned codebook run {@link #argmaxSmall}. */
    static final int SMALL_MAX_ROWS = Integer.getInteger("vqstream.jvm.smallMaxRows", 16);
    /** Batches from this many rows on repack the codebook into panels. */
    static final int PACK_MIN_ROWS = Integer.getInteger("vqstream.jvm.packMinRows", 96);
    /**
     * Coordinates per pass of a row tile over a code block: longer vectors are cut so that the
     * tile's rows (T·chunk floats, 16 KiB) stay in L1; partial sums wait in a small buffer.
     */
    static final int DEPTH_CHUNK = Integer.getInteger("vqstream.jvm.depthChunk", 256);
    /** Floats per cache block of codes and of transposed rows (128 KiB each). */
    private static final int BLOCK_FLOATS = Integer.getInteger("vqstream.jvm.blockFloats", 32 * 1024);
    /**
     * Codebooks of at least this many floats (4 MiB) are larger than a core's share of the last
     * cache level on the machines measured: every block of rows then streams the whole codebook
     * from memory, so their row blocks are {@link #LARGE_ROW_BLOCK_FLOATS} of transposed rows.
     */
    private static final int LARGE_CODEBOOK_FLOATS = Integer.getInteger("vqstream.jvm.largeCodebookFloats", 1 << 20);
    /**
     * Floats of transposed rows per block against a large codebook (1 MiB, in L2 with a code
     * block): at D=512, K=8192 the codebook streams once per 512 rows instead of once per 64.
     * Measured on an AMD EPYC with AVX-512, one thread, N=4096: 115–122 → 154 GF/s at 512×8192,
     * 152 → 166 at 256×8192, 124 → 133 at 64×16384; 512×8192 at N=256 92 → 140. Small codebooks
     * keep the 128 KiB blocks (256×1024: 161 against 151 with the large block).
     */
    private static final int LARGE_ROW_BLOCK_FLOATS = Integer.getInteger("vqstream.jvm.largeRowBlockFloats", 256 * 1024);

    /** Per thread: transposed rows, arg-max state or tile buffer, bias or four scores, packed codebook, partial sums. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[5][0]);

    @Override
    public String describe() {
        return "Vector API, " + L + " float lanes, tile " + SHAPE.describe();
    }

    @Override
    public VectorSupport.TileShape tileShape() {
        return SHAPE;
    }

    /** The width chosen by {@link VectorSupport#chooseLanes} from the CPU's preferred one. */
    private static VectorSpecies<Float> species() {
        int preferred = FloatVector.SPECIES_PREFERRED.length();
        int lanes = VectorSupport.chooseLanes(preferred, VectorSupport.requestedLanes());
        return lanes == preferred ? FloatVector.SPECIES_PREFERRED : VectorSpecies.of(float.class, jdk.incubator.vector.VectorShape.forBitSize(lanes * 32));
    }

    /**
     * Vector registers of the CPU: 32 where it has 512-bit vectors (AVX-512 has zmm0–31, and
     * its 256-bit forms reach ymm16–31 too), 16 otherwise (AVX2). Overridable with
     * {@code -Dvqstream.jvm.registers} for comparisons.
     */
    private static int registers() {
        int def = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? 32 : 16;
        return Integer.getInteger("vqstream.jvm.registers", def);
    }

    @Override
    public int groupMinRows() {
        return TILE_MIN_ROWS;
    }

    @Override
    public void releaseThreadScratch() {
        SCRATCH.remove();
    }

    private static float[] scratch(int slot, int size) {
        float[][] s = SCRATCH.get();
        if (s[slot].length < size) {
            s[slot] = new float[Math.max(size, s[slot].length + (s[slot].length >> 1))];
        }
        return s[slot];
    }

    // ------------------------------------------------------------------ norms, scatter-add

    @Override
    public void sumSquares(float[] a, int off, int rows, int d, float[] out, int outOff) {
        squares(a, off, rows, d, out, outOff);
    }

    private static void squares(float[] a, int off, int rows, int d, float[] out, int outOff) {
        int vd = S.loopBound(d);
        for (int r = 0; r < rows; r++) {
            int o = off + r * d;
            FloatVector acc0 = FloatVector.zero(S);
            FloatVector acc1 = FloatVector.zero(S);
            int e = 0;
            for (; e + 2 * L <= vd; e += 2 * L) {
                FloatVector v0 = FloatVector.fromArray(S, a, o + e);
                FloatVector v1 = FloatVector.fromArray(S, a, o + e + L);
                acc0 = v0.fma(v0, acc0);
                acc1 = v1.fma(v1, acc1);
            }
            for (; e < vd; e += L) {
                FloatVector v0 = FloatVector.fromArray(S, a, o + e);
                acc0 = v0.fma(v0, acc0);
            }
            float s = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
            for (; e < d; e++) {
                s += a[o + e] * a[o + e];
            }
            out[outOff + r] = s;
        }
    }

    @Override
    public void scatterAdd(float[] x, int n, int d, int[] idx, float[] counts, float[] sums) {
        int vd = S.loopBound(d);
        for (int i = 0; i < n; i++) {
            int j = idx[i];
            if (j < 0) {
                continue;
            }
            counts[j] += 1f;
            int so = j * d;
            int xo = i * d;
            int e = 0;
            for (; e < vd; e += L) {
                FloatVector.fromArray(S, sums, so + e).add(FloatVector.fromArray(S, x, xo + e)).intoArray(sums, so + e);
            }
            for (; e < d; e++) {
                sums[so + e] += x[xo + e];
            }
        }
    }

    @Override
    public double gatherScatter(float[] cb, int cbOff, int d, int[] idx, float[] x, int n, float[] out, float[] counts, int cOff,
                                float[] sums, int sOff) {
        double err = 0;
        for (int i = 0; i < n; i++) {
            int j = idx[i];
            if (j < 0) {
                java.util.Arrays.fill(out, i * d, (i + 1) * d, 0f);
                continue;
            }
            err += gatherScatterRow(cb, cbOff + j * d, d, x, i * d, out, sums, counts == null ? -1 : sOff + j * d);
            if (counts != null) {
                counts[cOff + j] += 1f;
            }
        }
        return err;
    }

    /**
     * One row of {@link #gatherScatter}: the code to {@code out}, the row into the sums at
     * {@code so} (none when negative), and the row's squared error. A method of its own, so that
     * no vector lives across the rows' loop (see {@code VectorRounding.copyFinite}).
     */
    private static float gatherScatterRow(float[] cb, int c, int d, float[] x, int o, float[] out, float[] sums, int so) {
        int vd = S.loopBound(d);
        FloatVector acc = FloatVector.zero(S);
        int e = 0;
        if (so >= 0) {
            for (; e < vd; e += L) {
                FloatVector v = FloatVector.fromArray(S, cb, c + e);
                FloatVector xv = FloatVector.fromArray(S, x, o + e);
                v.intoArray(out, o + e);
                FloatVector.fromArray(S, sums, so + e).add(xv).intoArray(sums, so + e);
                FloatVector diff = xv.sub(v);
                acc = diff.fma(diff, acc);
            }
        } else {
            for (; e < vd; e += L) {
                FloatVector v = FloatVector.fromArray(S, cb, c + e);
                v.intoArray(out, o + e);
                FloatVector diff = FloatVector.fromArray(S, x, o + e).sub(v);
                acc = diff.fma(diff, acc);
            }
        }
        float err = acc.reduceLanes(VectorOperators.ADD);
        for (; e < d; e++) {
            float v = cb[c + e];
            out[o + e] = v;
            float diff = x[o + e] - v;
            err += diff * diff;
            if (so >= 0) {
                sums[so + e] += x[o + e];
            }
        }
        return err;
    }

    // ------------------------------------------------------------------ blocking

    /** Codes [j0, j1) (multiples of P apart) into panels: {@code pk[j·d + e·P + q] = c_{j+q}[e]}. */
    private static void pack(float[] cb, int cbOff, int j0, int j1, int d, float[] pk) {
        for (int j = j0; j + P <= j1; j += P) {
            packPanel(cb, cbOff + j * d, d, pk, j * d);
        }
    }

    /**
     * One panel of {@link #pack}: the five codes from {@code c0} read side by side so that the
     * panel is written in order (a third faster than one code at a time with stride-5 stores).
     */
    private static void packPanel(float[] cb, int c0, int d, float[] pk, int base) {
        int c1 = c0 + d;
        int c2 = c1 + d;
        int c3 = c2 + d;
        int c4 = c3 + d;
        for (int e = 0, o = base; e < d; e++, o += P) {
            pk[o] = cb[c0 + e];
            pk[o + 1] = cb[c1 + e];
            pk[o + 2] = cb[c2 + e];
            pk[o + 3] = cb[c3 + e];
            pk[o + 4] = cb[c4 + e];
        }
    }

    /** {@code xt[t·T·d + e·T + r] = x[xo0 + (t·T + r)·d + e]}, zero past the last row. */
    private static void transposeTiles(float[] x, int xo0, int rows, int d, float[] xt, int tiles) {
        for (int t = 0; t < tiles; t++) {
            int base = t * T * d;
            int have = Math.min(T, rows - t * T);
            for (int r = 0; r < T; r++) {
                if (r < have) {
                    int xo = xo0 + (t * T + r) * d;
                    for (int e = 0; e < d; e++) {
                        xt[base + e * T + r] = x[xo + e];
                    }
                } else {
                    for (int e = 0; e < d; e++) {
                        xt[base + e * T + r] = 0f;
                    }
                }
            }
        }
    }

    /** Row tiles per block of rows: 128 KiB of transposed rows, 1 MiB against a large codebook. */
    private static int tilesPerBlock(int d, int k) {
        int floats = (long) k * d >= LARGE_CODEBOOK_FLOATS ? LARGE_ROW_BLOCK_FLOATS : BLOCK_FLOATS;
        return Math.max(1, floats / (T * Math.max(d, 1)));
    }

    private static int codesPerBlock(int d) {
        return Math.max(P, BLOCK_FLOATS / Math.max(d, 1) / P * P);
    }

    // ------------------------------------------------------------------ arg-max

    @Override
    public void argmax(float[] x, int n, int d, float[] cb, int cbOff, int k, boolean l2, float[] norms,
                       float[] best, float[] second, int[] bestIdx) {
        if (n < TILE_MIN_ROWS && CodebookVersions.firstSight(cb)) {
            // a few rows against a codebook version never used before: one pass over the codes as
            // they lie (norms and dots together) costs what building the panels would. Panels come
            // with the second call on a version, so a codebook that changes at every record (one
            // EMA step per record) is never packed, and a frozen one is packed once.
            argmaxRows(x, n, d, cb, cbOff, k, l2, norms, best, second, bestIdx);
            return;
        }
        PackedCodebooks.Entry entry = PackedCodebooks.get(cb, cbOff, k, d, VectorKernels::norms);
        if (entry != null && n <= SMALL_MAX_ROWS) {
            argmaxSmall(x, n, d, cb, cbOff, k, l2, entry, norms, best, second, bestIdx);
            return;
        }
        if (entry == null && n < TILE_MIN_ROWS) {
            argmaxRows(x, n, d, cb, cbOff, k, l2, norms, best, second, bestIdx);
            return;
        }
        if (entry == null && n <= L) {
            argmaxNarrow(x, n, d, cb, cbOff, k, l2, norms, best, second, bestIdx);
            return;
        }
        int tpb = tilesPerBlock(d, k);
        int rowBlock = T * tpb;
        int codeBlock = codesPerBlock(d);
        float[] xt = scratch(0, rowBlock * d);
        float[] st = scratch(1, tpb * 3 * T);
        float[] bias = scratch(2, k);
        // a versioned codebook has its panels already: packing costs nothing at any batch size
        boolean packed = entry != null || n >= PACK_MIN_ROWS;
        float[] pk = entry != null ? entry.layout(0, cb, cbOff, VectorKernels::panels) : packed ? scratch(3, k * d) : null;
        if (entry != null) {
            System.arraycopy(entry.norms, 0, norms, 0, k);
            if (l2) {
                System.arraycopy(entry.biasL2Unique(cb, cbOff), 0, bias, 0, k);
            } else {
                java.util.Arrays.fill(bias, 0, k, 0f);
            }
        }
        // an untracked codebook (k-means scratch, tests): its bitwise copies found per call, so that
        // the arg-max leaves them out as it does for a versioned one (a pass over k·d bits, small
        // next to the n·k·d of the search)
        float[] copies = null;
        if (entry == null && l2 && n >= PACK_MIN_ROWS) {
            // the norms up front (per row, so the same floats as block by block below), then the copies
            squares(cb, cbOff, k, d, norms, 0);
            copies = PackedCodebooks.withoutCopies(cb, cbOff, k, d, new float[k], norms);
        }
        int packedEnd = k - k % P;
        int chunk = d <= DEPTH_CHUNK ? d : DEPTH_CHUNK;
        float[] acc = d <= DEPTH_CHUNK ? null : scratch(4, (codeBlock + P) * T);
        for (int r0 = 0; r0 < n; r0 += rowBlock) {
            int rows = Math.min(rowBlock, n - r0);
            int tiles = (rows + T - 1) / T;
            transposeTiles(x, r0 * d, rows, d, xt, tiles);
            for (int t = 0; t < tiles; t++) {
                int so = t * 3 * T;
                java.util.Arrays.fill(st, so, so + 2 * T, Float.NEGATIVE_INFINITY);
                java.util.Arrays.fill(st, so + 2 * T, so + 3 * T, 0f);
            }
            for (int j0 = 0; j0 < k; j0 += codeBlock) {
                int j1 = Math.min(k, j0 + codeBlock);
                if (r0 == 0 && entry == null) {
                    // norms, bias and panels of this block while it is in cache for the first row tiles
                    if (copies == null) {
                        squares(cb, cbOff + j0 * d, j1 - j0, d, norms, j0);
                    }
                    for (int j = j0; j < j1; j++) {
                        bias[j] = l2 ? -0.5f * norms[j] : 0f;
                    }
                    if (copies != null) {
                        for (int j = j0; j < j1; j++) {
                            if (copies[j] == Float.NEGATIVE_INFINITY) {
                                bias[j] = Float.NEGATIVE_INFINITY;
                            }
                        }
                    }
                    if (packed) {
                        pack(cb, cbOff, j0, Math.min(j1, packedEnd), d, pk);
                    }
                }
                for (int t = 0; t < tiles; t++) {
                    if (packed) {
                        for (int e0 = 0; e0 < d; e0 += chunk) {
                            tileArgmaxPacked(xt, t * T * d, d, cb, cbOff, j0, j1, bias, e0, Math.min(d, e0 + chunk), acc, 0,
                                    pk, 0, packedEnd, 0, st, t * 3 * T);
                        }
                    } else {
                        tileArgmax(xt, t * T * d, d, cb, cbOff, j0, j1, bias, st, t * 3 * T);
                    }
                }
            }
            for (int r = 0; r < rows; r++) {
                int so = (r / T) * 3 * T + r % T;
                best[r0 + r] = st[so];
                second[r0 + r] = st[so + T];
                bestIdx[r0 + r] = (int) st[so + 2 * T];
            }
        }
    }

    /**
     * One row tile against codes {@code [j0, j1)}; {@code st[so ..]} holds per lane the best
     * score, the runner-up and the best code (as float: exact below 2²⁴). Strictly greater
     * wins, so the lowest code keeps a tie.
     */
    private static void tileArgmax(float[] xt, int xo, int d, float[] cb, int cbOff, int j0, int j1, float[] bias, float[] st, int so) {
        final int t = T;
        int j = j0;
        for (; j + 4 <= j1; j += 4) {
            FloatVector h00 = FloatVector.broadcast(S, bias[j]), h10 = h00;
            FloatVector h01 = FloatVector.broadcast(S, bias[j + 1]), h11 = h01;
            FloatVector h02 = FloatVector.broadcast(S, bias[j + 2]), h12 = h02;
            FloatVector h03 = FloatVector.broadcast(S, bias[j + 3]), h13 = h03;
            int c0 = cbOff + j * d, c1 = c0 + d, c2 = c1 + d, c3 = c2 + d;
            for (int e = 0; e < d; e++) {
                int o = xo + e * t;
                FloatVector x0 = FloatVector.fromArray(S, xt, o);
                FloatVector x1 = FloatVector.fromArray(S, xt, o + L);
                FloatVector w0 = FloatVector.broadcast(S, cb[c0 + e]);
                h00 = x0.fma(w0, h00); h10 = x1.fma(w0, h10);
                FloatVector w1 = FloatVector.broadcast(S, cb[c1 + e]);
                h01 = x0.fma(w1, h01); h11 = x1.fma(w1, h11);
                FloatVector w2 = FloatVector.broadcast(S, cb[c2 + e]);
                h02 = x0.fma(w2, h02); h12 = x1.fma(w2, h12);
                FloatVector w3 = FloatVector.broadcast(S, cb[c3 + e]);
                h03 = x0.fma(w3, h03); h13 = x1.fma(w3, h13);
            }
            {
                int o = so;
                FloatVector best = FloatVector.fromArray(S, st, o);
                FloatVector sec = FloatVector.fromArray(S, st, o + t);
                FloatVector idx = FloatVector.fromArray(S, st, o + 2 * t);
                VectorMask<Float> m;
                m = h00.compare(VectorOperators.GT, best);
                sec = sec.blend(h00, h00.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h00, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j)), m);
                m = h01.compare(VectorOperators.GT, best);
                sec = sec.blend(h01, h01.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h01, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 1)), m);
                m = h02.compare(VectorOperators.GT, best);
                sec = sec.blend(h02, h02.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h02, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 2)), m);
                m = h03.compare(VectorOperators.GT, best);
                sec = sec.blend(h03, h03.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h03, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 3)), m);
                best.intoArray(st, o);
                sec.intoArray(st, o + t);
                idx.intoArray(st, o + 2 * t);
            }
            {
                int o = so + L;
                FloatVector best = FloatVector.fromArray(S, st, o);
                FloatVector sec = FloatVector.fromArray(S, st, o + t);
                FloatVector idx = FloatVector.fromArray(S, st, o + 2 * t);
                VectorMask<Float> m;
                m = h10.compare(VectorOperators.GT, best);
                sec = sec.blend(h10, h10.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h10, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j)), m);
                m = h11.compare(VectorOperators.GT, best);
                sec = sec.blend(h11, h11.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h11, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 1)), m);
                m = h12.compare(VectorOperators.GT, best);
                sec = sec.blend(h12, h12.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h12, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 2)), m);
                m = h13.compare(VectorOperators.GT, best);
                sec = sec.blend(h13, h13.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h13, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 3)), m);
                best.intoArray(st, o);
                sec.intoArray(st, o + t);
                idx.intoArray(st, o + 2 * t);
            }
        }
        if (j < j1) {
            tileArgmaxRest(xt, xo, d, cb, cbOff, j, j1, bias, st, so);
        }
    }

    private static void tileArgmaxRest(float[] xt, int xo, int d, float[] cb, int cbOff, int j, int j1, float[] bias, float[] st, int so) {
        final int t = T;
        for (; j < j1; j++) {
            FloatVector h00 = FloatVector.broadcast(S, bias[j]), h10 = h00;
            int c0 = cbOff + j * d;
            for (int e = 0; e < d; e++) {
                int o = xo + e * t;
                FloatVector w0 = FloatVector.broadcast(S, cb[c0 + e]);
                h00 = FloatVector.fromArray(S, xt, o).fma(w0, h00);
                h10 = FloatVector.fromArray(S, xt, o + L).fma(w0, h10);
            }
            {
                int o = so;
                FloatVector best = FloatVector.fromArray(S, st, o);
                FloatVector sec = FloatVector.fromArray(S, st, o + t);
                FloatVector idx = FloatVector.fromArray(S, st, o + 2 * t);
                VectorMask<Float> m;
                m = h00.compare(VectorOperators.GT, best);
                sec = sec.blend(h00, h00.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h00, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j)), m);
                best.intoArray(st, o);
                sec.intoArray(st, o + t);
                idx.intoArray(st, o + 2 * t);
            }
            {
                int o = so + L;
                FloatVector best = FloatVector.fromArray(S, st, o);
                FloatVector sec = FloatVector.fromArray(S, st, o + t);
                FloatVector idx = FloatVector.fromArray(S, st, o + 2 * t);
                VectorMask<Float> m;
                m = h10.compare(VectorOperators.GT, best);
                sec = sec.blend(h10, h10.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h10, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j)), m);
                best.intoArray(st, o);
                sec.intoArray(st, o + t);
                idx.intoArray(st, o + 2 * t);
            }
        }
    }

    /**
     * Packed panels for codes below {@code jpEnd}; coordinates [e0, e1) only, the partial sums
     * of earlier chunks read from and later ones left in {@code acc}.
     * One row tile against codes {@code [j0, j1)}; {@code st[so ..]} holds per lane the best
     * score, the runner-up and the best code (as float: exact below 2²⁴). Strictly greater
     * wins, so the lowest code keeps a tie.
     */
    private static void tileArgmaxPacked(float[] xt, int xo, int d, float[] cb, int cbOff, int j0, int j1, float[] bias, int e0, int e1, float[] acc, int ao, float[] pa, int jp, int jpEnd, int pk, float[] st, int so) {
        final int t = T;
        int j = j0;
        for (; j + 5 <= Math.min(j1, jpEnd); j += 5) {
            // pa holds codes [jp, jpEnd) in panels of 5: pa[pk + (j − jp)·d + e·5 + q] = c_{j+q}[e]
            FloatVector h00 = FloatVector.broadcast(S, bias[j]), h10 = h00;
            FloatVector h01 = FloatVector.broadcast(S, bias[j + 1]), h11 = h01;
            FloatVector h02 = FloatVector.broadcast(S, bias[j + 2]), h12 = h02;
            FloatVector h03 = FloatVector.broadcast(S, bias[j + 3]), h13 = h03;
            FloatVector h04 = FloatVector.broadcast(S, bias[j + 4]), h14 = h04;
            int p = pk + (j - jp) * d;
            int a = ao + (j - j0) * t;
            if (e0 > 0) {
                h00 = FloatVector.fromArray(S, acc, a);
                h10 = FloatVector.fromArray(S, acc, a + L);
                h01 = FloatVector.fromArray(S, acc, a + t);
                h11 = FloatVector.fromArray(S, acc, a + t + L);
                h02 = FloatVector.fromArray(S, acc, a + 2 * t);
                h12 = FloatVector.fromArray(S, acc, a + 2 * t + L);
                h03 = FloatVector.fromArray(S, acc, a + 3 * t);
                h13 = FloatVector.fromArray(S, acc, a + 3 * t + L);
                h04 = FloatVector.fromArray(S, acc, a + 4 * t);
                h14 = FloatVector.fromArray(S, acc, a + 4 * t + L);
            }
            for (int pe = p + e0 * 5, o = xo + e0 * t, pEnd = p + e1 * 5; pe < pEnd; pe += 5, o += t) {
                FloatVector x0 = FloatVector.fromArray(S, xt, o);
                FloatVector x1 = FloatVector.fromArray(S, xt, o + L);
                FloatVector w0 = FloatVector.broadcast(S, pa[pe]);
                h00 = x0.fma(w0, h00); h10 = x1.fma(w0, h10);
                FloatVector w1 = FloatVector.broadcast(S, pa[pe + 1]);
                h01 = x0.fma(w1, h01); h11 = x1.fma(w1, h11);
                FloatVector w2 = FloatVector.broadcast(S, pa[pe + 2]);
                h02 = x0.fma(w2, h02); h12 = x1.fma(w2, h12);
                FloatVector w3 = FloatVector.broadcast(S, pa[pe + 3]);
                h03 = x0.fma(w3, h03); h13 = x1.fma(w3, h13);
                FloatVector w4 = FloatVector.broadcast(S, pa[pe + 4]);
                h04 = x0.fma(w4, h04); h14 = x1.fma(w4, h14);
            }
            if (e1 < d) {
                h00.intoArray(acc, a);
                h10.intoArray(acc, a + L);
                h01.intoArray(acc, a + t);
                h11.intoArray(acc, a + t + L);
                h02.intoArray(acc, a + 2 * t);
                h12.intoArray(acc, a + 2 * t + L);
                h03.intoArray(acc, a + 3 * t);
                h13.intoArray(acc, a + 3 * t + L);
                h04.intoArray(acc, a + 4 * t);
                h14.intoArray(acc, a + 4 * t + L);
                continue;
            }
            {
                int o = so;
                FloatVector best = FloatVector.fromArray(S, st, o);
                FloatVector sec = FloatVector.fromArray(S, st, o + t);
                FloatVector idx = FloatVector.fromArray(S, st, o + 2 * t);
                VectorMask<Float> m;
                m = h00.compare(VectorOperators.GT, best);
                sec = sec.blend(h00, h00.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h00, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j)), m);
                m = h01.compare(VectorOperators.GT, best);
                sec = sec.blend(h01, h01.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h01, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 1)), m);
                m = h02.compare(VectorOperators.GT, best);
                sec = sec.blend(h02, h02.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h02, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 2)), m);
                m = h03.compare(VectorOperators.GT, best);
                sec = sec.blend(h03, h03.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h03, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 3)), m);
                m = h04.compare(VectorOperators.GT, best);
                sec = sec.blend(h04, h04.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h04, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 4)), m);
                best.intoArray(st, o);
                sec.intoArray(st, o + t);
                idx.intoArray(st, o + 2 * t);
            }
            {
                int o = so + L;
                FloatVector best = FloatVector.fromArray(S, st, o);
                FloatVector sec = FloatVector.fromArray(S, st, o + t);
                FloatVector idx = FloatVector.fromArray(S, st, o + 2 * t);
                VectorMask<Float> m;
                m = h10.compare(VectorOperators.GT, best);
                sec = sec.blend(h10, h10.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h10, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j)), m);
                m = h11.compare(VectorOperators.GT, best);
                sec = sec.blend(h11, h11.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h11, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 1)), m);
                m = h12.compare(VectorOperators.GT, best);
                sec = sec.blend(h12, h12.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h12, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 2)), m);
                m = h13.compare(VectorOperators.GT, best);
                sec = sec.blend(h13, h13.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h13, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 3)), m);
                m = h14.compare(VectorOperators.GT, best);
                sec = sec.blend(h14, h14.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h14, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 4)), m);
                best.intoArray(st, o);
                sec.intoArray(st, o + t);
                idx.intoArray(st, o + 2 * t);
            }
        }
        if (j < j1) {
            tileArgmaxPackedRest(xt, xo, d, cb, cbOff, j, j1, bias, e0, e1, acc, ao, j0, st, so);
        }
    }

    private static void tileArgmaxPackedRest(float[] xt, int xo, int d, float[] cb, int cbOff, int j, int j1, float[] bias, int e0, int e1, float[] acc, int ao, int j0, float[] st, int so) {
        final int t = T;
        for (; j < j1; j++) {
            FloatVector h00 = FloatVector.broadcast(S, bias[j]), h10 = h00;
            int c0 = cbOff + j * d;
            int a = ao + (j - j0) * t;
            if (e0 > 0) {
                h00 = FloatVector.fromArray(S, acc, a);
                h10 = FloatVector.fromArray(S, acc, a + L);
            }
            for (int e = e0; e < e1; e++) {
                int o = xo + e * t;
                FloatVector w0 = FloatVector.broadcast(S, cb[c0 + e]);
                h00 = FloatVector.fromArray(S, xt, o).fma(w0, h00);
                h10 = FloatVector.fromArray(S, xt, o + L).fma(w0, h10);
            }
            if (e1 < d) {
                h00.intoArray(acc, a);
                h10.intoArray(acc, a + L);
                continue;
            }
            {
                int o = so;
                FloatVector best = FloatVector.fromArray(S, st, o);
                FloatVector sec = FloatVector.fromArray(S, st, o + t);
                FloatVector idx = FloatVector.fromArray(S, st, o + 2 * t);
                VectorMask<Float> m;
                m = h00.compare(VectorOperators.GT, best);
                sec = sec.blend(h00, h00.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h00, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j)), m);
                best.intoArray(st, o);
                sec.intoArray(st, o + t);
                idx.intoArray(st, o + 2 * t);
            }
            {
                int o = so + L;
                FloatVector best = FloatVector.fromArray(S, st, o);
                FloatVector sec = FloatVector.fromArray(S, st, o + t);
                FloatVector idx = FloatVector.fromArray(S, st, o + 2 * t);
                VectorMask<Float> m;
                m = h10.compare(VectorOperators.GT, best);
                sec = sec.blend(h10, h10.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h10, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j)), m);
                best.intoArray(st, o);
                sec.intoArray(st, o + t);
                idx.intoArray(st, o + 2 * t);
            }
        }
    }

    /**
     * Narrow tile: one vector of rows, six codes.
     * One row tile against codes {@code [j0, j1)}; {@code st[so ..]} holds per lane the best
     * score, the runner-up and the best code (as float: exact below 2²⁴). Strictly greater
     * wins, so the lowest code keeps a tie.
     */
    private static void tileArgmaxNarrow(float[] xt, int xo, int d, float[] cb, int cbOff, int j0, int j1, float[] bias, float[] st, int so) {
        final int t = L;
        int j = j0;
        for (; j + 6 <= j1; j += 6) {
            FloatVector h00 = FloatVector.broadcast(S, bias[j]);
            FloatVector h01 = FloatVector.broadcast(S, bias[j + 1]);
            FloatVector h02 = FloatVector.broadcast(S, bias[j + 2]);
            FloatVector h03 = FloatVector.broadcast(S, bias[j + 3]);
            FloatVector h04 = FloatVector.broadcast(S, bias[j + 4]);
            FloatVector h05 = FloatVector.broadcast(S, bias[j + 5]);
            int c0 = cbOff + j * d, c1 = c0 + d, c2 = c1 + d, c3 = c2 + d, c4 = c3 + d, c5 = c4 + d;
            for (int e = 0, o = xo; e < d; e++, o += t) {
                FloatVector x0 = FloatVector.fromArray(S, xt, o);
                FloatVector w0 = FloatVector.broadcast(S, cb[c0 + e]);
                h00 = x0.fma(w0, h00);
                FloatVector w1 = FloatVector.broadcast(S, cb[c1 + e]);
                h01 = x0.fma(w1, h01);
                FloatVector w2 = FloatVector.broadcast(S, cb[c2 + e]);
                h02 = x0.fma(w2, h02);
                FloatVector w3 = FloatVector.broadcast(S, cb[c3 + e]);
                h03 = x0.fma(w3, h03);
                FloatVector w4 = FloatVector.broadcast(S, cb[c4 + e]);
                h04 = x0.fma(w4, h04);
                FloatVector w5 = FloatVector.broadcast(S, cb[c5 + e]);
                h05 = x0.fma(w5, h05);
            }
            {
                int o = so;
                FloatVector best = FloatVector.fromArray(S, st, o);
                FloatVector sec = FloatVector.fromArray(S, st, o + t);
                FloatVector idx = FloatVector.fromArray(S, st, o + 2 * t);
                VectorMask<Float> m;
                m = h00.compare(VectorOperators.GT, best);
                sec = sec.blend(h00, h00.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h00, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j)), m);
                m = h01.compare(VectorOperators.GT, best);
                sec = sec.blend(h01, h01.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h01, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 1)), m);
                m = h02.compare(VectorOperators.GT, best);
                sec = sec.blend(h02, h02.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h02, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 2)), m);
                m = h03.compare(VectorOperators.GT, best);
                sec = sec.blend(h03, h03.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h03, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 3)), m);
                m = h04.compare(VectorOperators.GT, best);
                sec = sec.blend(h04, h04.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h04, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 4)), m);
                m = h05.compare(VectorOperators.GT, best);
                sec = sec.blend(h05, h05.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h05, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j + 5)), m);
                best.intoArray(st, o);
                sec.intoArray(st, o + t);
                idx.intoArray(st, o + 2 * t);
            }
        }
        if (j < j1) {
            tileArgmaxNarrowRest(xt, xo, d, cb, cbOff, j, j1, bias, st, so);
        }
    }

    private static void tileArgmaxNarrowRest(float[] xt, int xo, int d, float[] cb, int cbOff, int j, int j1, float[] bias, float[] st, int so) {
        final int t = L;
        for (; j < j1; j++) {
            FloatVector h00 = FloatVector.broadcast(S, bias[j]);
            int c0 = cbOff + j * d;
            for (int e = 0; e < d; e++) {
                int o = xo + e * t;
                FloatVector w0 = FloatVector.broadcast(S, cb[c0 + e]);
                h00 = FloatVector.fromArray(S, xt, o).fma(w0, h00);
            }
            {
                int o = so;
                FloatVector best = FloatVector.fromArray(S, st, o);
                FloatVector sec = FloatVector.fromArray(S, st, o + t);
                FloatVector idx = FloatVector.fromArray(S, st, o + 2 * t);
                VectorMask<Float> m;
                m = h00.compare(VectorOperators.GT, best);
                sec = sec.blend(h00, h00.compare(VectorOperators.GT, sec)).blend(best, m);
                best = best.blend(h00, m);
                idx = idx.blend(FloatVector.broadcast(S, (float) (j)), m);
                best.intoArray(st, o);
                sec.intoArray(st, o + t);
                idx.intoArray(st, o + 2 * t);
            }
        }
    }

    /** Norms of a whole codebook, as the kernels compute them (a {@link PackedCodebooks.Layout}). */
    private static float[] norms(float[] cb, int cbOff, int k, int d) {
        float[] out = new float[k];
        squares(cb, cbOff, k, d, out, 0);
        return out;
    }

    /**
     * The 5-code panels of a whole codebook (codes past the last full panel are read in place),
     * into {@code spare} when it has the length.
     */
    private static float[] panels(float[] cb, int cbOff, int k, int d, float[] spare) {
        float[] pk = spare != null && spare.length == k * d ? spare : new float[k * d];
        pack(cb, cbOff, 0, k - k % P, d, pk);
        return pk;
    }

    /**
     * The codebook with codes in the lanes, for the small-batch kernel: panels of L codes,
     * {@code pl[(p·d + e)·L + l] = c_{p·L+l}[e]}, zero past the last code.
     */
    private static float[] lanePanels(float[] cb, int cbOff, int k, int d, float[] spare) {
        int np = (k + L - 1) / L;
        float[] pl;
        if (spare != null && spare.length == np * d * L) {
            pl = spare;
            for (int p = (k / L) * d * L; p < pl.length; p++) {
                pl[p] = 0f; // the lanes past the last code of the last panel
            }
        } else {
            pl = new float[np * d * L];
        }
        for (int j = 0; j < k; j++) {
            int p = j / L;
            int l = j % L;
            int c = cbOff + j * d;
            for (int e = 0; e < d; e++) {
                pl[(p * d + e) * L + l] = cb[c + e];
            }
        }
        return pl;
    }

    /**
     * Batches of up to {@link #SMALL_MAX_ROWS} rows against a versioned codebook: a matrix-vector
     * product with the codes in the lanes ({@link #lanePanels}, built once per version), four
     * rows × three panels of L codes per register tile, the row coordinates broadcast:
     * <pre>
     * for e &lt; d:  h[r][c] += x_r[e] · pl[c][e][0..L)      (12 FMAs per 3 loads + 4 broadcasts)
     * </pre>
     * The arg-max runs lane-wise (lane = code within a panel) and is reduced across lanes at
     * the end, lowest code first among equal scores. Codes past k get bias −∞ and never win.
     */
    private static void argmaxSmall(float[] x, int n, int d, float[] cb, int cbOff, int k, boolean l2, PackedCodebooks.Entry entry,
                                    float[] norms, float[] best, float[] second, int[] bestIdx) {
        System.arraycopy(entry.norms, 0, norms, 0, k);
        float[] pl = entry.layout(1, cb, cbOff, VectorKernels::lanePanels);
        int np = (k + L - 1) / L;
        float[] bias = scratch(2, np * L);
        if (l2) {
            System.arraycopy(entry.biasL2Unique(cb, cbOff), 0, bias, 0, k);
        } else {
            java.util.Arrays.fill(bias, 0, k, 0f);
        }
        java.util.Arrays.fill(bias, k, np * L, Float.NEGATIVE_INFINITY);
        int groups = (n + 3) / 4;
        float[] st = scratch(1, groups * 4 * 3 * L);
        java.util.Arrays.fill(st, 0, groups * 4 * 3 * L, Float.NEGATIVE_INFINITY);
        for (int r = 0; r < groups * 4; r++) {
            java.util.Arrays.fill(st, (r * 3 + 2) * L, (r * 3 + 3) * L, 0f);
        }
        for (int r = 0; r < n; r += 4) {
            // rows past n repeat the last row into state slots that are never read
            int x0 = r * d;
            int x1 = Math.min(r + 1, n - 1) * d;
            int x2 = Math.min(r + 2, n - 1) * d;
            int x3 = Math.min(r + 3, n - 1) * d;
            int so = r * 3 * L;
            int p = 0;
            for (; p + 3 <= np; p += 3) {
                small4x3(x, x0, x1, x2, x3, d, pl, p, bias, st, so);
            }
            for (; p < np; p++) {
                small4x1(x, x0, x1, x2, x3, d, pl, p, bias, st, so);
            }
        }
        for (int r = 0; r < n; r++) {
            int o = r * 3 * L;
            float bv = Float.NEGATIVE_INFINITY;
            int bi = 0;
            int bl = -1;
            for (int l = 0; l < L; l++) {
                float v = st[o + l];
                int ix = (int) st[o + 2 * L + l];
                if (v > bv || (v == bv && bl >= 0 && ix < bi)) {
                    bv = v;
                    bi = ix;
                    bl = l;
                }
            }
            float sv = Float.NEGATIVE_INFINITY;
            for (int l = 0; l < L; l++) {
                if (l != bl) {
                    sv = Math.max(sv, st[o + l]);
                }
                sv = Math.max(sv, st[o + L + l]);
            }
            best[r] = bv;
            second[r] = sv;
            bestIdx[r] = bi;
        }
    }

    private static void small4x3(float[] x, int x0, int x1, int x2, int x3, int d, float[] pl, int p, float[] bias, float[] st, int so) {
        FloatVector b0 = FloatVector.fromArray(S, bias, (p + 0) * L);
        FloatVector a00 = b0, a10 = b0, a20 = b0, a30 = b0;
        int q0 = (p + 0) * d * L;
        FloatVector b1 = FloatVector.fromArray(S, bias, (p + 1) * L);
        FloatVector a01 = b1, a11 = b1, a21 = b1, a31 = b1;
        int q1 = (p + 1) * d * L;
        FloatVector b2 = FloatVector.fromArray(S, bias, (p + 2) * L);
        FloatVector a02 = b2, a12 = b2, a22 = b2, a32 = b2;
        int q2 = (p + 2) * d * L;
        for (int e = 0, o = 0; e < d; e++, o += L) {
            FloatVector w0 = FloatVector.fromArray(S, pl, q0 + o);
            FloatVector w1 = FloatVector.fromArray(S, pl, q1 + o);
            FloatVector w2 = FloatVector.fromArray(S, pl, q2 + o);
            FloatVector v0 = FloatVector.broadcast(S, x[x0 + e]);
            a00 = w0.fma(v0, a00); a01 = w1.fma(v0, a01); a02 = w2.fma(v0, a02);
            FloatVector v1 = FloatVector.broadcast(S, x[x1 + e]);
            a10 = w0.fma(v1, a10); a11 = w1.fma(v1, a11); a12 = w2.fma(v1, a12);
            FloatVector v2 = FloatVector.broadcast(S, x[x2 + e]);
            a20 = w0.fma(v2, a20); a21 = w1.fma(v2, a21); a22 = w2.fma(v2, a22);
            FloatVector v3 = FloatVector.broadcast(S, x[x3 + e]);
            a30 = w0.fma(v3, a30); a31 = w1.fma(v3, a31); a32 = w2.fma(v3, a32);
        }
        FloatVector iota = FloatVector.fromArray(S, IOTA, 0);
        {
            int o = so + 0 * 3 * L;
            FloatVector best = FloatVector.fromArray(S, st, o);
            FloatVector sec = FloatVector.fromArray(S, st, o + L);
            FloatVector idx = FloatVector.fromArray(S, st, o + 2 * L);
            VectorMask<Float> m;
            m = a00.compare(VectorOperators.GT, best);
            sec = sec.blend(a00, a00.compare(VectorOperators.GT, sec)).blend(best, m);
            best = best.blend(a00, m);
            idx = idx.blend(iota.add((float) ((p + 0) * L)), m);
            m = a01.compare(VectorOperators.GT, best);
            sec = sec.blend(a01, a01.compare(VectorOperators.GT, sec)).blend(best, m);
            best = best.blend(a01, m);
            idx = idx.blend(iota.add((float) ((p + 1) * L)), m);
            m = a02.compare(VectorOperators.GT, best);
            sec = sec.blend(a02, a02.compare(VectorOperators.GT, sec)).blend(best, m);
            best = best.blend(a02, m);
            idx = idx.blend(iota.add((float) ((p + 2) * L)), m);
            best.intoArray(st, o);
            sec.intoArray(st, o + L);
            idx.intoArray(st, o + 2 * L);
        }
        {
            int o = so + 1 * 3 * L;
            FloatVector best = FloatVector.fromArray(S, st, o);
            FloatVector sec = FloatVector.fromArray(S, st, o + L);
            FloatVector idx = FloatVector.fromArray(S, st, o + 2 * L);
            VectorMask<Float> m;
            m = a10.compare(VectorOperators.GT, best);
            sec = sec.blend(a10, a10.compare(VectorOperators.GT, sec)).blend(best, m);
            best = best.blend(a10, m);
            idx = idx.blend(iota.add((float) ((p + 0) * L)), m);
            m = a11.compare(VectorOperators.GT, best);
            sec = sec.blend(a11, a11.compare(VectorOperators.GT, sec)).blend(best, m);
            best = best.blend(a11, m);
            idx = idx.blend(iota.add((float) ((p + 1) * L)), m);
            m = a12.compare(VectorOperators.GT, best);
            sec = sec.blend(a12, a12.compare(VectorOperators.GT, sec)).blend(best, m);
            best = best.blend(a12, m);
            idx = idx.blend(iota.add((float) ((p + 2) * L)), m);
            best.intoArray(st, o);
            sec.intoArray(st, o + L);
            idx.intoArray(st, o + 2 * L);
        }
        {
            int o = so + 2 * 3 * L;
            FloatVector best = FloatVector.fromArray(S, st, o);
            FloatVector sec = FloatVector.fromArray(S, st, o + L);
            FloatVector idx = FloatVector.fromArray(S, st, o + 2 * L);
            VectorMask<Float> m;
            m = a20.compare(VectorOperators.GT, best);
            sec = sec.blend(a20, a20.compare(VectorOperators.GT, sec)).blend(best, m);
            best = best.blend(a20, m);
            idx = idx.blend(iota.add((float) ((p + 0) * L)), m);
            m = a21.compare(VectorOperators.GT, best);
            sec = sec.blend(a21, a21.compare(VectorOperators.GT, sec)).blend(best, m);
            best = best.blend(a21, m);
            idx = idx.blend(iota.add((float) ((p + 1) * L)), m);
            m = a22.compare(VectorOperators.GT, best);
            sec = sec.blend(a22, a22.compare(VectorOperators.GT, sec)).blend(best, m);
            best = best.blend(a22, m);
            idx = idx.blend(iota.add((float) ((p + 2) * L)), m);
            best.intoArray(st, o);
            sec.intoArray(st, o + L);
            idx.intoArray(st, o + 2 * L);
        }
        {
            int o = so + 3 * 3 * L;
            FloatVector best = FloatVector.fromArray(S, st, o);
            FloatVector sec = FloatVector.fromArray(S, st, o + L);
            FloatVector idx = FloatVector.fromArray(S, st, o + 2 * L);
            VectorMask<Float> m;
            m = a30.compare(VectorOperators.GT, best);
            sec = sec.blend(a30, a30.compare(VectorOperators.GT, sec)).blend(best, m);
            best = best.blend(a30, m);
            idx = idx.blend(iota.add((float) ((p + 0) * L)), m);
            m = a31.compare(VectorOperators.GT, best);
            sec = sec.blend(a31, a31.compare(VectorOperators.GT, sec)).blend(best, m);
            best = best.blend(a31, m);
            idx = idx.blend(iota.add((float) ((p + 1) * L)), m);
            m = a32.compare(VectorOperators.GT, best);
            sec = sec.blend(a32, a32.compare(VectorOperators.GT, sec)).blend(best, m);
            best = best.blend(a32, m);
            idx = idx.blend(iota.add((float) ((p + 2) * L)), m);
            best.intoArray(st, o);
            sec.intoArray(st, o + L);
            idx.intoArray(st, o + 2 * L);
        }
    }

    private static void small4x1(float[] x, int x0, int x1, int x2, int x3, int d, float[] pl, int p, float[] bias, float[] st, int so) {
        FloatVector b0 = FloatVector.fromArray(S, bias, (p + 0) * L);
        FloatVector a00 = b0, a10 = b0, a20 = b0, a30 = b0;
        int q0 = (p + 0) * d * L;
        for (int e = 0, o = 0; e < d; e++, o += L) {
            FloatVector w0 = FloatVector.fromArray(S, pl, q0 + o);
            FloatVector v0 = FloatVector.broadcast(S, x[x0 + e]);
            a00 = w0.fma(v0, a00);
            FloatVector v1 = FloatVector.broadcast(S, x[x1 + e]);
            a10 = w0.fma(v1, a10);
            FloatVector v2 = FloatVector.broadcast(S, x[x2 + e]);
            a20 = w0.fma(v2, a20);
            FloatVector v3 = FloatVector.broadcast(S, x[x3 + e]);
            a30 = w0.fma(v3, a30);
        }
        FloatVector iota = FloatVector.fromArray(S, IOTA, 0);
        {
            int o = so + 0 * 3 * L;
            FloatVector best = FloatVector.fromArray(S, st, o);
            FloatVector sec = FloatVector.fromArray(S, st, o + L);
            FloatVector idx = FloatVector.fromArray(S, st, o + 2 * L);
            VectorMask<Float> m;
            m = a00.compare(VectorOperators.GT, best);
            sec = sec.blend(a00, a00.compare(VectorOperators.GT, sec)).blend(best, m);
            best = best.blend(a00, m);
            idx = idx.blend(iota.add((float) ((p + 0) * L)), m);
            best.intoArray(st, o);
            sec.intoArray(st, o + L);
            idx.intoArray(st, o + 2 * L);
        }
        {
            int o = so + 1 * 3 * L;
            FloatVector best = FloatVector.fromArray(S, st, o);
            FloatVector sec = FloatVector.fromArray(S, st, o + L);
            FloatVector idx = FloatVector.fromArray(S, st, o + 2 * L);
            VectorMask<Float> m;
            m = a10.compare(VectorOperators.GT, best);
            sec = sec.blend(a10, a10.compare(VectorOperators.GT, sec)).blend(best, m);
            best = best.blend(a10, m);
            idx = idx.blend(iota.add((float) ((p + 0) * L)), m);
            best.intoArray(st, o);
            sec.intoArray(st, o + L);
            idx.intoArray(st, o + 2 * L);
        }
        {
            int o = so + 2 * 3 * L;
            FloatVector best = FloatVector.fromArray(S, st, o);
            FloatVector sec = FloatVector.fromArray(S, st, o + L);
            FloatVector idx = FloatVector.fromArray(S, st, o + 2 * L);
            VectorMask<Float> m;
            m = a20.compare(VectorOperators.GT, best);
            sec = sec.blend(a20, a20.compare(VectorOperators.GT, sec)).blend(best, m);
            best = best.blend(a20, m);
            idx = idx.blend(iota.add((float) ((p + 0) * L)), m);
            best.intoArray(st, o);
            sec.intoArray(st, o + L);
            idx.intoArray(st, o + 2 * L);
        }
        {
            int o = so + 3 * 3 * L;
            FloatVector best = FloatVector.fromArray(S, st, o);
            FloatVector sec = FloatVector.fromArray(S, st, o + L);
            FloatVector idx = FloatVector.fromArray(S, st, o + 2 * L);
            VectorMask<Float> m;
            m = a30.compare(VectorOperators.GT, best);
            sec = sec.blend(a30, a30.compare(VectorOperators.GT, sec)).blend(best, m);
            best = best.blend(a30, m);
            idx = idx.blend(iota.add((float) ((p + 0) * L)), m);
            best.intoArray(st, o);
            sec.intoArray(st, o + L);
            idx.intoArray(st, o + 2 * L);
        }
    }

    private static final float[] IOTA = new float[L];

    static {
        for (int l = 0; l < L; l++) {
            IOTA[l] = l;
        }
    }



    /**
     * With a versioned codebook, one row against the codes-in-lanes panels: four panels at a
     * time, no reduction across lanes (a quarter of the work of {@link #dotsRow}'s reductions).
     */
    @Override
    public void rowScores(float[] x, int xo, int d, float[] cb, int cbOff, int k, float[] bias, float[] out) {
        // one row once against a version without panels (a codebook that learns from every
        // record): scoring the codes as they lie costs what building the panels would
        PackedCodebooks.Entry entry = PackedCodebooks.peek(cb, cbOff, k, d);
        if (entry == null || !entry.wantsLayout(1)) {
            dots(x, xo, 1, d, cb, cbOff, k, bias, out, 0);
            return;
        }
        float[] pl = entry.layout(1, cb, cbOff, VectorKernels::lanePanels);
        int np = (k + L - 1) / L;
        float[] tmp = scratch(4, np * L);
        // the vector work sits in small methods called once per panel group: they reach C2's
        // invocation threshold after a few rows, where this method's own loop would only be
        // compiled on stack replacement, which here runs the Vector API's allocating fallback
        int p = 0;
        for (; p + 4 <= np; p += 4) {
            panels4(x, xo, d, pl, p * d * L, tmp, p * L);
        }
        for (; p < np; p++) {
            panel1(x, xo, d, pl, p * d * L, tmp, p * L);
        }
        for (int j = 0; j < k; j++) {
            out[j] = bias[j] + tmp[j];
        }
    }

    /** Scores of the codes of four consecutive lane panels from {@code q0} into {@code tmp[to..to+4L)}. */
    private static void panels4(float[] x, int xo, int d, float[] pl, int q0, float[] tmp, int to) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        int q1 = q0 + d * L, q2 = q1 + d * L, q3 = q2 + d * L;
        for (int e = 0, o = 0; e < d; e++, o += L) {
            FloatVector v = FloatVector.broadcast(S, x[xo + e]);
            a0 = FloatVector.fromArray(S, pl, q0 + o).fma(v, a0);
            a1 = FloatVector.fromArray(S, pl, q1 + o).fma(v, a1);
            a2 = FloatVector.fromArray(S, pl, q2 + o).fma(v, a2);
            a3 = FloatVector.fromArray(S, pl, q3 + o).fma(v, a3);
        }
        a0.intoArray(tmp, to);
        a1.intoArray(tmp, to + L);
        a2.intoArray(tmp, to + 2 * L);
        a3.intoArray(tmp, to + 3 * L);
    }

    private static void panel1(float[] x, int xo, int d, float[] pl, int q0, float[] tmp, int to) {
        FloatVector a0 = FloatVector.zero(S);
        for (int e = 0, o = 0; e < d; e++, o += L) {
            a0 = FloatVector.fromArray(S, pl, q0 + o).fma(FloatVector.broadcast(S, x[xo + e]), a0);
        }
        a0.intoArray(tmp, to);
    }

    /** Batches of up to L rows: one tile of a single vector of rows × 6 codes. */
    private static void argmaxNarrow(float[] x, int n, int d, float[] cb, int cbOff, int k, boolean l2, float[] norms,
                                     float[] best, float[] second, int[] bestIdx) {
        float[] xt = scratch(0, L * d);
        float[] st = scratch(1, 3 * L);
        float[] bias = scratch(2, k);
        for (int r = 0; r < L; r++) {
            for (int e = 0; e < d; e++) {
                xt[e * L + r] = r < n ? x[r * d + e] : 0f;
            }
        }
        java.util.Arrays.fill(st, 0, 2 * L, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(st, 2 * L, 3 * L, 0f);
        int codeBlock = codesPerBlock(d) / 6 * 6;
        for (int j0 = 0; j0 < k; j0 += codeBlock) {
            int j1 = Math.min(k, j0 + codeBlock);
            squares(cb, cbOff + j0 * d, j1 - j0, d, norms, j0);
            for (int j = j0; j < j1; j++) {
                bias[j] = l2 ? -0.5f * norms[j] : 0f;
            }
            tileArgmaxNarrow(xt, 0, d, cb, cbOff, j0, j1, bias, st, 0);
        }
        for (int r = 0; r < n; r++) {
            best[r] = st[r];
            second[r] = st[L + r];
            bestIdx[r] = (int) st[2 * L + r];
        }
    }

    /**
     * Small batches in one pass over the codebook: per group of four codes, their norms and
     * their dot products with every row (the four code rows stay in L1 across the rows), each
     * vectorised along d and reduced.
     */
    private static void argmaxRows(float[] x, int n, int d, float[] cb, int cbOff, int k, boolean l2, float[] norms,
                                   float[] best, float[] second, int[] bestIdx) {
        java.util.Arrays.fill(best, 0, n, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(second, 0, n, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(bestIdx, 0, n, 0);
        float[] h = scratch(2, 4);
        int j = 0;
        for (; j + 4 <= k; j += 4) {
            int c0 = cbOff + j * d;
            squares(cb, c0, 4, d, norms, j);
            float b0 = l2 ? -0.5f * norms[j] : 0f;
            float b1 = l2 ? -0.5f * norms[j + 1] : 0f;
            float b2 = l2 ? -0.5f * norms[j + 2] : 0f;
            float b3 = l2 ? -0.5f * norms[j + 3] : 0f;
            for (int i = 0; i < n; i++) {
                dots4(x, i * d, d, cb, c0, h);
                update(best, second, bestIdx, i, b0 + h[0], j);
                update(best, second, bestIdx, i, b1 + h[1], j + 1);
                update(best, second, bestIdx, i, b2 + h[2], j + 2);
                update(best, second, bestIdx, i, b3 + h[3], j + 3);
            }
        }
        for (; j < k; j++) {
            int c0 = cbOff + j * d;
            squares(cb, c0, 1, d, norms, j);
            float b0 = l2 ? -0.5f * norms[j] : 0f;
            for (int i = 0; i < n; i++) {
                update(best, second, bestIdx, i, b0 + dot(x, i * d, cb, c0, d), j);
            }
        }
    }

    private static void update(float[] best, float[] second, int[] bestIdx, int i, float v, int j) {
        if (v > best[i]) {
            second[i] = best[i];
            best[i] = v;
            bestIdx[i] = j;
        } else if (v > second[i]) {
            second[i] = v;
        }
    }

    /** {@code h[q] = x·c_q} for the four consecutive code rows from {@code c0}. */
    private static void dots4(float[] x, int xo, int d, float[] cb, int c0, float[] h) {
        int vd = S.loopBound(d);
        int c1 = c0 + d, c2 = c1 + d, c3 = c2 + d;
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        int e = 0;
        for (; e < vd; e += L) {
            FloatVector xv = FloatVector.fromArray(S, x, xo + e);
            a0 = xv.fma(FloatVector.fromArray(S, cb, c0 + e), a0);
            a1 = xv.fma(FloatVector.fromArray(S, cb, c1 + e), a1);
            a2 = xv.fma(FloatVector.fromArray(S, cb, c2 + e), a2);
            a3 = xv.fma(FloatVector.fromArray(S, cb, c3 + e), a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD);
        float s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD);
        float s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; e < d; e++) {
            float xe = x[xo + e];
            s0 += xe * cb[c0 + e];
            s1 += xe * cb[c1 + e];
            s2 += xe * cb[c2 + e];
            s3 += xe * cb[c3 + e];
        }
        h[0] = s0;
        h[1] = s1;
        h[2] = s2;
        h[3] = s3;
    }

    private static float dot(float[] x, int xo, float[] cb, int c0, int d) {
        int vd = S.loopBound(d);
        FloatVector a0 = FloatVector.zero(S);
        int e = 0;
        for (; e < vd; e += L) {
            a0 = FloatVector.fromArray(S, x, xo + e).fma(FloatVector.fromArray(S, cb, c0 + e), a0);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD);
        for (; e < d; e++) {
            s0 += x[xo + e] * cb[c0 + e];
        }
        return s0;
    }

    // ------------------------------------------------------------------ dense dot products

    @Override
    public void dots(float[] x, int xOff, int n, int d, float[] cb, int cbOff, int k, float[] bias, float[] out, int outOff) {
        if (n < TILE_MIN_ROWS) {
            for (int i = 0; i < n; i++) {
                dotsRow(x, xOff + i * d, d, cb, cbOff, k, bias, out, outOff + i * k);
            }
            return;
        }
        int tpb = tilesPerBlock(d, k);
        int rowBlock = T * tpb;
        int codeBlock = codesPerBlock(d);
        float[] xt = scratch(0, rowBlock * d);
        float[] tb = scratch(1, P * T);
        boolean packed = n >= PACK_MIN_ROWS;
        float[] pk = packed ? scratch(3, k * d) : null;
        int packedEnd = k - k % P;
        if (packed) {
            pack(cb, cbOff, 0, packedEnd, d, pk);
        }
        for (int r0 = 0; r0 < n; r0 += rowBlock) {
            int rows = Math.min(rowBlock, n - r0);
            int tiles = (rows + T - 1) / T;
            transposeTiles(x, xOff + r0 * d, rows, d, xt, tiles);
            for (int j0 = 0; j0 < k; j0 += codeBlock) {
                int j1 = Math.min(k, j0 + codeBlock);
                for (int tl = 0; tl < tiles; tl++) {
                    int have = Math.min(T, rows - tl * T);
                    int oo = outOff + (r0 + tl * T) * k;
                    if (packed) {
                        tileDotsPacked(xt, tl * T * d, d, cb, cbOff, j0, j1, bias, pk, 0, packedEnd, 0, tb, out, oo, k, have);
                    } else {
                        tileDots(xt, tl * T * d, d, cb, cbOff, j0, j1, bias, tb, out, oo, k, have);
                    }
                }
            }
        }
    }

    /** One row tile against codes {@code [j0, j1)}, the {@code have} real rows stored to {@code out}. */
    private static void tileDots(float[] xt, int xo, int d, float[] cb, int cbOff, int j0, int j1, float[] bias, float[] tb, float[] out, int oo, int k, int have) {
        final int t = T;
        int j = j0;
        for (; j + 4 <= j1; j += 4) {
            FloatVector h00 = FloatVector.broadcast(S, bias[j]), h10 = h00;
            FloatVector h01 = FloatVector.broadcast(S, bias[j + 1]), h11 = h01;
            FloatVector h02 = FloatVector.broadcast(S, bias[j + 2]), h12 = h02;
            FloatVector h03 = FloatVector.broadcast(S, bias[j + 3]), h13 = h03;
            int c0 = cbOff + j * d, c1 = c0 + d, c2 = c1 + d, c3 = c2 + d;
            for (int e = 0; e < d; e++) {
                int o = xo + e * t;
                FloatVector x0 = FloatVector.fromArray(S, xt, o);
                FloatVector x1 = FloatVector.fromArray(S, xt, o + L);
                FloatVector w0 = FloatVector.broadcast(S, cb[c0 + e]);
                h00 = x0.fma(w0, h00); h10 = x1.fma(w0, h10);
                FloatVector w1 = FloatVector.broadcast(S, cb[c1 + e]);
                h01 = x0.fma(w1, h01); h11 = x1.fma(w1, h11);
                FloatVector w2 = FloatVector.broadcast(S, cb[c2 + e]);
                h02 = x0.fma(w2, h02); h12 = x1.fma(w2, h12);
                FloatVector w3 = FloatVector.broadcast(S, cb[c3 + e]);
                h03 = x0.fma(w3, h03); h13 = x1.fma(w3, h13);
            }
            h00.intoArray(tb, 0);
            h10.intoArray(tb, L);
            h01.intoArray(tb, t);
            h11.intoArray(tb, t + L);
            h02.intoArray(tb, 2 * t);
            h12.intoArray(tb, 2 * t + L);
            h03.intoArray(tb, 3 * t);
            h13.intoArray(tb, 3 * t + L);
            for (int r = 0; r < have; r++) {
                int o = oo + r * k + j;
                out[o] = tb[r];
                out[o + 1] = tb[t + r];
                out[o + 2] = tb[2 * t + r];
                out[o + 3] = tb[3 * t + r];
            }
        }
        if (j < j1) {
            tileDotsRest(xt, xo, d, cb, cbOff, j, j1, bias, tb, out, oo, k, have);
        }
    }

    private static void tileDotsRest(float[] xt, int xo, int d, float[] cb, int cbOff, int j, int j1, float[] bias, float[] tb, float[] out, int oo, int k, int have) {
        final int t = T;
        for (; j < j1; j++) {
            FloatVector h00 = FloatVector.broadcast(S, bias[j]), h10 = h00;
            int c0 = cbOff + j * d;
            for (int e = 0; e < d; e++) {
                int o = xo + e * t;
                FloatVector w0 = FloatVector.broadcast(S, cb[c0 + e]);
                h00 = FloatVector.fromArray(S, xt, o).fma(w0, h00);
                h10 = FloatVector.fromArray(S, xt, o + L).fma(w0, h10);
            }
            h00.intoArray(tb, 0);
            h10.intoArray(tb, L);
            for (int r = 0; r < have; r++) {
                int o = oo + r * k + j;
                out[o] = tb[r];
            }
        }
    }

    /** One row tile against codes {@code [j0, j1)}, the {@code have} real rows stored to {@code out}. */
    private static void tileDotsPacked(float[] xt, int xo, int d, float[] cb, int cbOff, int j0, int j1, float[] bias, float[] pa, int jp, int jpEnd, int pk, float[] tb, float[] out, int oo, int k, int have) {
        final int t = T;
        int j = j0;
        for (; j + 5 <= Math.min(j1, jpEnd); j += 5) {
            // pa holds codes [jp, jpEnd) in panels of 5: pa[pk + (j − jp)·d + e·5 + q] = c_{j+q}[e]
            FloatVector h00 = FloatVector.broadcast(S, bias[j]), h10 = h00;
            FloatVector h01 = FloatVector.broadcast(S, bias[j + 1]), h11 = h01;
            FloatVector h02 = FloatVector.broadcast(S, bias[j + 2]), h12 = h02;
            FloatVector h03 = FloatVector.broadcast(S, bias[j + 3]), h13 = h03;
            FloatVector h04 = FloatVector.broadcast(S, bias[j + 4]), h14 = h04;
            int p = pk + (j - jp) * d;
            for (int pe = p, o = xo, pEnd = p + d * 5; pe < pEnd; pe += 5, o += t) {
                FloatVector x0 = FloatVector.fromArray(S, xt, o);
                FloatVector x1 = FloatVector.fromArray(S, xt, o + L);
                FloatVector w0 = FloatVector.broadcast(S, pa[pe]);
                h00 = x0.fma(w0, h00); h10 = x1.fma(w0, h10);
                FloatVector w1 = FloatVector.broadcast(S, pa[pe + 1]);
                h01 = x0.fma(w1, h01); h11 = x1.fma(w1, h11);
                FloatVector w2 = FloatVector.broadcast(S, pa[pe + 2]);
                h02 = x0.fma(w2, h02); h12 = x1.fma(w2, h12);
                FloatVector w3 = FloatVector.broadcast(S, pa[pe + 3]);
                h03 = x0.fma(w3, h03); h13 = x1.fma(w3, h13);
                FloatVector w4 = FloatVector.broadcast(S, pa[pe + 4]);
                h04 = x0.fma(w4, h04); h14 = x1.fma(w4, h14);
            }
            h00.intoArray(tb, 0);
            h10.intoArray(tb, L);
            h01.intoArray(tb, t);
            h11.intoArray(tb, t + L);
            h02.intoArray(tb, 2 * t);
            h12.intoArray(tb, 2 * t + L);
            h03.intoArray(tb, 3 * t);
            h13.intoArray(tb, 3 * t + L);
            h04.intoArray(tb, 4 * t);
            h14.intoArray(tb, 4 * t + L);
            for (int r = 0; r < have; r++) {
                int o = oo + r * k + j;
                out[o] = tb[r];
                out[o + 1] = tb[t + r];
                out[o + 2] = tb[2 * t + r];
                out[o + 3] = tb[3 * t + r];
                out[o + 4] = tb[4 * t + r];
            }
        }
        if (j < j1) {
            tileDotsPackedRest(xt, xo, d, cb, cbOff, j, j1, bias, tb, out, oo, k, have);
        }
    }

    private static void tileDotsPackedRest(float[] xt, int xo, int d, float[] cb, int cbOff, int j, int j1, float[] bias, float[] tb, float[] out, int oo, int k, int have) {
        final int t = T;
        for (; j < j1; j++) {
            FloatVector h00 = FloatVector.broadcast(S, bias[j]), h10 = h00;
            int c0 = cbOff + j * d;
            for (int e = 0; e < d; e++) {
                int o = xo + e * t;
                FloatVector w0 = FloatVector.broadcast(S, cb[c0 + e]);
                h00 = FloatVector.fromArray(S, xt, o).fma(w0, h00);
                h10 = FloatVector.fromArray(S, xt, o + L).fma(w0, h10);
            }
            h00.intoArray(tb, 0);
            h10.intoArray(tb, L);
            for (int r = 0; r < have; r++) {
                int o = oo + r * k + j;
                out[o] = tb[r];
            }
        }
    }

    /** One row against all codes, four dot products at a time, vectorised along d. */
    private static void dotsRow(float[] x, int xo, int d, float[] cb, int cbOff, int k, float[] bias, float[] out, int oo) {
        float[] h = scratch(2, 4);
        int j = 0;
        for (; j + 4 <= k; j += 4) {
            dots4(x, xo, d, cb, cbOff + j * d, h);
            out[oo + j] = bias[j] + h[0];
            out[oo + j + 1] = bias[j + 1] + h[1];
            out[oo + j + 2] = bias[j + 2] + h[2];
            out[oo + j + 3] = bias[j + 3] + h[3];
        }
        for (; j < k; j++) {
            out[oo + j] = bias[j] + dot(x, xo, cb, cbOff + j * d, d);
        }
    }
}
