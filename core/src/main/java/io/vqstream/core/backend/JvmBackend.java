package io.vqstream.core.backend;

import org.apache.flink.annotation.Internal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pure-JVM backend: float kernels on the Java Vector API (or plain loops where the JVM was
 * started without {@code --add-modules jdk.incubator.vector}), with the reference's indices.
 * No native calls, so a micro-batch of one row costs a pass over the codebook and nothing more.
 *
 * <p>L2 assignment maximises {@code x·c − ‖c‖²/2}, which orders codes as the clamped distance
 * does; {@link Referee} settles the rare rows whose runner-up lies inside the float error
 * window by exact rescoring, and winning scores are recomputed exactly, so indices and scores
 * equal {@link ScalarBackend}'s.
 */
@Internal
public final class JvmBackend implements ComputeBackend {
    private static final Logger LOG = LoggerFactory.getLogger(JvmBackend.class);
    /** System property: {@code false} skips the background JIT warm-up of the shared instance. */
    public static final String WARMUP_PROPERTY = "vqstream.jvm.warmup";
    private static volatile JvmBackend shared;
    private static volatile Thread warmUp;
    /** Set by the first call from any thread but the warm-up's: the warm-up then stops at once. */
    private static volatile boolean realWork;

    private final FloatKernels kernels;
    private final java.util.concurrent.atomic.LongAdder rowsAssigned = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder rowsRescored = new java.util.concurrent.atomic.LongAdder();
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(this::newScratch);

    JvmBackend(FloatKernels kernels) {
        this.kernels = kernels;
    }

    /** The process-wide instance (Vector API kernels when the module is present). */
    public static JvmBackend get() {
        JvmBackend b = shared;
        if (b == null) {
            synchronized (JvmBackend.class) {
                b = shared;
                if (b == null) {
                    b = new JvmBackend(createKernels());
                    shared = b;
                    if (!(b.kernels instanceof PlainKernels) && Boolean.parseBoolean(System.getProperty(WARMUP_PROPERTY, "true"))) {
                        b.startWarmUp();
                    }
                }
            }
        }
        return b;
    }

    /**
     * Until C2 has compiled the Vector API tiles (seconds on a busy machine) they run an order
     * of magnitude slower than afterwards, so the shared instance drives every kernel path on
     * small synthetic batches in a background daemon thread for a few seconds; the first real
     * micro-batches then find compiled code. It never competes with real work: the first call
     * from any other thread ends it (after at most the one small batch in flight), and its
     * rows are not counted by {@link #refereeCounts}. {@code -Dvqstream.jvm.warmup=false} turns it off.
     */
    private void startWarmUp() {
        Thread t = new Thread(() -> {
            long end = System.nanoTime() + 4_000_000_000L;
            java.util.SplittableRandom rnd = new java.util.SplittableRandom(1);
            int d = 96;
            int k = 160;
            float[] x = new float[128 * 300];
            float[] cb = new float[k * 300];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            for (int i = 0; i < cb.length; i++) {
                cb[i] = (float) rnd.nextGaussian();
            }
            int[] idx = new int[128];
            float[] y = new float[128 * k];
            // one batch per kernel path: d-vectorised, narrow tile, 2×4 tile, packed tile, chunked depth
            int[][] shapes = {{3, d}, {7, d}, {40, d}, {128, d}, {100, 300}};
            while (System.nanoTime() < end && !realWork) {
                for (int[] sh : shapes) {
                    if (realWork) {
                        break;
                    }
                    assign(x, sh[0], sh[1], cb, 0, k, Metric.L2, idx, null);
                    assign(x, sh[0], sh[1], cb, 0, k, Metric.DOT, idx, null);
                    linear(x, sh[0], sh[1], cb, null, k, y);
                }
            }
            LOG.debug("vqstream jvm backend: warm-up done");
        }, "vqstream-jvm-warmup");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        warmUp = t;
        t.start();
    }

    private static void realWorkStarted() {
        if (!realWork && Thread.currentThread() != warmUp && !WarmUpThread.isCurrent()) {
            realWork = true;
        }
    }

    /**
     * Ends the background warm-up now: a caller that warms the kernels of its own shape (an
     * operator before its first record) needs the cores for that, not for generic shapes.
     */
    public static void endBackgroundWarmUp() {
        realWork = true;
    }

    /** Waits for the background warm-up to end (benchmarks start their clocks after it). */
    public static void awaitWarmUp() throws InterruptedException {
        Thread t = warmUp;
        if (t != null) {
            t.join();
        }
    }

    /** A backend on plain loops regardless of the Vector API (tests, comparisons). */
    public static JvmBackend plainLoops() {
        return new JvmBackend(new PlainKernels());
    }

    /** Whether this JVM can run the Vector API kernels. */
    public static boolean vectorApiAvailable() {
        return VectorSupport.available();
    }

    private static FloatKernels createKernels() {
        if (!VectorSupport.available()) {
            LOG.info("vqstream jvm backend: plain loops");
            return new PlainKernels();
        }
        try {
            // loaded by name so that no Vector API class is touched when the module is absent
            FloatKernels k = (FloatKernels) Class.forName("io.vqstream.core.backend.VectorKernels")
                    .getDeclaredConstructor().newInstance();
            LOG.info("vqstream jvm backend: {}", k.describe());
            return k;
        } catch (ReflectiveOperationException | LinkageError e) {
            LOG.warn("vqstream jvm backend: Vector API kernels unavailable ({}); using plain loops", e.toString());
            return new PlainKernels();
        }
    }

    @Override
    public String name() {
        return "jvm";
    }

    /**
     * Rows assigned and rows the referee had to rescore since start (or the last
     * {@link #resetRefereeCounts}): {@code {assigned, rescored}}. The share says how often the
     * float error window could not settle a row by the arg-max alone.
     */
    public long[] refereeCounts() {
        return new long[] {rowsAssigned.sum(), rowsRescored.sum()};
    }

    /** Share of assigned rows that were rescored (0 before any row). */
    public double rescoredShare() {
        long[] c = refereeCounts();
        return c[0] == 0 ? 0.0 : (double) c[1] / c[0];
    }

    public void resetRefereeCounts() {
        rowsAssigned.reset();
        rowsRescored.reset();
    }

    /** Float lanes of the kernels (1 for plain loops). */
    public int lanes() {
        VectorSupport.TileShape t = kernels.tileShape();
        return t == null ? 1 : t.lanes();
    }

    /** The register tile, e.g. {@code "64x5 (4x16 lanes x 5 codes, 20 accumulators, 32 registers)"}, or "plain loops". */
    public String tile() {
        VectorSupport.TileShape t = kernels.tileShape();
        return t == null ? "plain loops" : t.describe();
    }

    /** The kernels, to build a second instance with its own counters (tests). */
    FloatKernels kernelsForTest() {
        return kernels;
    }

    /** What the kernels run on, for logs and benchmark output. */
    public String describe() {
        return kernels.describe();
    }

    @Override
    public void assign(float[] x, int n, int d, float[] codebook, int cbOff, int k, Metric metric, int[] outIdx, float[] outScore) {
        realWorkStarted();
        checkShapes(x, n, d, codebook, cbOff, k);
        if (n == 0) {
            return;
        }
        if (k >= (1 << 24)) {
            ScalarBackend.INSTANCE.assign(x, n, d, codebook, cbOff, k, metric, outIdx, outScore);
            return;
        }
        Scratch s = scratch.get();
        float[] norms = s.get(0, k);
        float[] best = s.get(2, n);
        float[] second = s.get(3, n);
        kernels.argmax(x, n, d, codebook, cbOff, k, metric == Metric.L2, norms, best, second, outIdx);
        float maxNorm = maxFiniteNorm(norms, k);
        if (Float.isNaN(maxNorm)) {
            // a non-finite codebook: the reference's own comparisons decide
            ScalarBackend.INSTANCE.assign(x, n, d, codebook, cbOff, k, metric, outIdx, outScore);
            return;
        }
        float[] xx = s.get(4, n);
        kernels.sumSquares(x, 0, n, d, xx, 0);
        int rescored = referee(s, x, n, d, codebook, cbOff, k, metric, norms, maxNorm, xx, best, second, outIdx);
        s.rowsAssigned.add(n);
        s.rowsRescored.add(rescored);
        if (outScore != null) {
            exactScores(x, n, d, codebook, cbOff, metric, outIdx, outScore);
        }
    }

    // The loops of assign sit in methods of their own. A loop in assign itself is what C2 compiles
    // on stack replacement whenever assign runs uncompiled (at first, or after a deoptimisation):
    // in a job's first seconds those compilations of assign took 0.7–1.3 s of C2 each (JFR), with
    // the task thread on slower code meanwhile. Here they are small methods, compiled in a blink.

    /** The largest code norm, or NaN when a norm is not finite. */
    private static float maxFiniteNorm(float[] norms, int k) {
        float maxNorm = 0f;
        boolean finite = true;
        for (int j = 0; j < k; j++) {
            float v = norms[j];
            finite &= Float.isFinite(v);
            maxNorm = Math.max(maxNorm, v);
        }
        return finite ? maxNorm : Float.NaN;
    }

    /**
     * Floats of fast scores the referee computes at once: several uncertain rows are scored
     * together, in groups of at most this many floats of scores (1 Mi floats, 4 MiB).
     */
    private static final int RESCORE_GROUP_FLOATS = 1 << 20;

    /**
     * Settles the rows whose runner-up lies inside the float error window; returns how many it
     * rescored. One such row is scored alone (against the codes-in-lanes panels of a versioned
     * codebook); several are scored together, in one pass over the codebook per group, where one
     * pass per row streamed a codebook larger than the caches from memory once per row (at D=512,
     * K=8192 about 1 % of the rows, a pass over 16 MiB each).
     */
    private int referee(Scratch s, float[] x, int n, int d, float[] codebook, int cbOff, int k, Metric metric, float[] norms,
                        float maxNorm, float[] xx, float[] best, float[] second, int[] outIdx) {
        Referee referee = new Referee(metric, d, maxNorm);
        int[] rows = s.rows(n);
        int m = 0;
        for (int i = 0; i < n; i++) {
            if (!referee.certain(xx[i], best[i], second[i])) {
                rows[m++] = i;
            }
        }
        if (m == 0) {
            return 0;
        }
        float[] bias = s.get(1, k);
        biases(norms, k, metric, bias);
        if (m < kernels.groupMinRows()) {
            float[] row = s.get(5, k);
            for (int r = 0; r < m; r++) {
                int i = rows[r];
                kernels.rowScores(x, i * d, d, codebook, cbOff, k, bias, row);
                outIdx[i] = referee.resolve(x, i * d, codebook, cbOff, k, row, 0, xx[i], norms);
            }
            return m;
        }
        int group = Math.max(1, Math.min(m, RESCORE_GROUP_FLOATS / k));
        float[] xs = s.get(6, group * d);
        float[] h = s.get(5, group * k);
        for (int g0 = 0; g0 < m; g0 += group) {
            int g = Math.min(group, m - g0);
            gatherRows(x, d, rows, g0, g, xs);
            kernels.dots(xs, 0, g, d, codebook, cbOff, k, bias, h, 0);
            for (int r = 0; r < g; r++) {
                int i = rows[g0 + r];
                outIdx[i] = referee.resolve(x, i * d, codebook, cbOff, k, h, r * k, xx[i], norms);
            }
        }
        return m;
    }

    private static void gatherRows(float[] x, int d, int[] rows, int from, int count, float[] out) {
        for (int r = 0; r < count; r++) {
            System.arraycopy(x, rows[from + r] * d, out, r * d, d);
        }
    }

    private static void biases(float[] norms, int k, Metric metric, float[] bias) {
        for (int j = 0; j < k; j++) {
            bias[j] = metric == Metric.L2 ? -0.5f * norms[j] : 0f;
        }
    }

    private static void exactScores(float[] x, int n, int d, float[] codebook, int cbOff, Metric metric, int[] idx, float[] out) {
        for (int i = 0; i < n; i++) {
            out[i] = ScalarBackend.score(x, i * d, d, codebook, cbOff + idx[i] * d, metric);
        }
    }

    @Override
    public void scores(float[] x, int n, int d, float[] codebook, int cbOff, int k, Metric metric, float[] out) {
        realWorkStarted();
        checkShapes(x, n, d, codebook, cbOff, k);
        if (n == 0) {
            return;
        }
        Scratch s = scratch.get();
        float[] bias = s.get(1, k);
        if (metric == Metric.L2) {
            kernels.sumSquares(codebook, cbOff, k, d, bias, 0);
            for (int j = 0; j < k; j++) {
                bias[j] *= -0.5f;
            }
        } else {
            java.util.Arrays.fill(bias, 0, k, 0f);
        }
        kernels.dots(x, 0, n, d, codebook, cbOff, k, bias, out, 0);
        if (metric == Metric.L2) {
            float[] xx = s.get(4, n);
            kernels.sumSquares(x, 0, n, d, xx, 0);
            for (int i = 0; i < n; i++) {
                float xi = xx[i];
                int o = i * k;
                for (int j = 0; j < k; j++) {
                    out[o + j] = (float) -Math.sqrt(Math.max(xi - 2f * out[o + j], 1e-8f));
                }
            }
        }
    }

    @Override
    public void linear(float[] x, int n, int in, float[] w, float[] bias, int out, float[] y) {
        realWorkStarted();
        if (n == 0 || out == 0) {
            return;
        }
        float[] b = bias;
        if (b == null) {
            b = scratch.get().get(1, out);
            java.util.Arrays.fill(b, 0, out, 0f);
        }
        kernels.dots(x, 0, n, in, w, 0, out, b, y, 0);
    }

    @Override
    public void accumulateStatistics(float[] x, int n, int d, int[] idx, float[] counts, float[] sums) {
        kernels.scatterAdd(x, n, d, idx, counts, sums);
    }

    @Override
    public double gatherStatistics(float[] codebook, int cbOff, int k, int d, int[] idx, float[] x, int n, float[] out,
                                   float[] counts, int cOff, float[] sums, int sOff) {
        PlainKernels.checkCodes(idx, n, k);
        return kernels.gatherScatter(codebook, cbOff, d, idx, x, n, out, counts, cOff, sums, sOff);
    }

    /** {@code out[j] = ‖a_j‖²} in float for the rows of {@code a} from {@code off}. */
    void sumSquares(float[] a, int off, int rows, int d, float[] out) {
        kernels.sumSquares(a, off, rows, d, out, 0);
    }

    /** Fast float scores of one row against every code ({@code out[j] = bias[j] + x·c_j}). */
    void rowScores(float[] x, int xo, int d, float[] codebook, int cbOff, int k, float[] bias, float[] out) {
        kernels.dots(x, xo, 1, d, codebook, cbOff, k, bias, out, 0);
    }

    static void checkShapes(float[] x, int n, int d, float[] codebook, int cbOff, int k) {
        if (n < 0 || d <= 0 || k <= 0) {
            throw new IllegalArgumentException("bad shape n=" + n + " d=" + d + " k=" + k);
        }
        if ((long) n * d > x.length || cbOff < 0 || (long) cbOff + (long) k * d > codebook.length) {
            throw new IllegalArgumentException("arrays too short for n=" + n + " d=" + d + " k=" + k + " cbOff=" + cbOff);
        }
    }

    /** Drops the calling thread's buffers (its scratch here and the kernels'); they grow again on the next call. */
    @Override
    public void releaseThreadResources() {
        scratch.remove();
        kernels.releaseThreadScratch();
    }

    /**
     * A thread's scratch. A warm-up thread's counts go to adders nobody reads, chosen here once
     * per thread: a test of the thread inside {@link #assign} is a branch the warm-up only ever
     * takes one way, so C2 would compile it as an uncommon trap and throw the warmed code away at
     * the first real call (a JFR profile showed exactly that deoptimisation, and the recompiles
     * of {@code assign} took 0.6–0.9 s of C2 each, with records waiting).
     */
    private Scratch newScratch() {
        boolean warm = Thread.currentThread() == warmUp || WarmUpThread.isCurrent();
        return warm ? new Scratch(new java.util.concurrent.atomic.LongAdder(), new java.util.concurrent.atomic.LongAdder())
                : new Scratch(rowsAssigned, rowsRescored);
    }

    /** Per-thread buffers, grown on demand and reused across micro-batches, and where the thread counts rows. */
    static final class Scratch {
        private final float[][] slots = new float[8][0];
        private int[] rows = new int[0];
        final java.util.concurrent.atomic.LongAdder rowsAssigned;
        final java.util.concurrent.atomic.LongAdder rowsRescored;

        Scratch(java.util.concurrent.atomic.LongAdder rowsAssigned, java.util.concurrent.atomic.LongAdder rowsRescored) {
            this.rowsAssigned = rowsAssigned;
            this.rowsRescored = rowsRescored;
        }

        /** Row indices (the referee's uncertain rows). */
        int[] rows(int size) {
            if (rows.length < size) {
                rows = new int[Math.max(size, rows.length + (rows.length >> 1))];
            }
            return rows;
        }

        float[] get(int slot, int size) {
            if (slots[slot].length < size) {
                slots[slot] = new float[Math.max(size, slots[slot].length + (slots[slot].length >> 1))];
            }
            return slots[slot];
        }
    }
}
