package io.vqstream.core.backend;

import org.apache.flink.annotation.Internal;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses per call between the JVM kernels and ND4J by shape, with thresholds measured on the
 * target CPU (AMD EPYC, AVX2, one thread per slot; {@code bench/README.md}, "Auto thresholds"):
 * <pre>
 * assign, scores:  nd4j  iff  n ≥ assign.minRows  and  d ≥ assign.minDepth  and  n·k·d ≥ assign.minWork
 * linear:          nd4j  iff  n ≥ linear.minRows  and  in ≥ linear.minDepth  and  n·out·in ≥ linear.minWork
 * </pre>
 * Measured there (interleaved, medians): ND4J (OpenBLAS GEMM, then arg-max passes over the
 * n×k scores) never beat the fused JVM kernel on assignment or score matrices beyond noise
 * (0.5–1.0× from n=256 up, 0.02–0.5× below), so those stay on the JVM; a plain projection with
 * n ≥ 1024, in ≥ 512 and n·out·in ≥ 2³⁰ ran 1.07–1.33× faster on ND4J (smaller ones 0.3–1.05×). ND4J is loaded (1–2 s, native libraries) only when a call first crosses a
 * threshold. Both sides return the reference's indices, so the choice changes no result.
 * Override with {@code -Dvqstream.auto.<op>.<minRows|minDepth|minWork>=…}; thresholds for a
 * CUDA device have not been measured, so select {@code nd4j} explicitly there.
 */
@Internal
public final class AutoBackend implements ComputeBackend {
    private static final Logger LOG = LoggerFactory.getLogger(AutoBackend.class);

    /** One routing rule: ND4J at and above all three bounds. */
    record Rule(int minRows, int minDepth, long minWork) {
        static Rule fromProperties(String op, int rows, int depth, long work) {
            String p = "vqstream.auto." + op + ".";
            return new Rule(Integer.getInteger(p + "minRows", rows), Integer.getInteger(p + "minDepth", depth),
                    Long.getLong(p + "minWork", work));
        }

        boolean nd4j(int n, int k, int d) {
            return n >= minRows && d >= minDepth && (long) n * k * d >= minWork;
        }

        @Override
        public String toString() {
            return minRows == Integer.MAX_VALUE ? "never" : "n≥" + minRows + ", depth≥" + minDepth + ", n·k·d≥" + minWork;
        }
    }

    /** Measured defaults (see the class comment). */
    static final Rule ASSIGN = Rule.fromProperties("assign", Integer.MAX_VALUE, 0, 0);
    static final Rule LINEAR = Rule.fromProperties("linear", 1024, 512, 1L << 30);

    private final JvmBackend jvm;
    private final Supplier<ComputeBackend> nd4jLoader;
    private final Rule assignRule;
    private final Rule linearRule;
    private volatile ComputeBackend nd4j;
    private volatile boolean nd4jTried;
    private volatile boolean loggedJvm;
    private volatile boolean loggedNd4j;

    AutoBackend(JvmBackend jvm, Supplier<ComputeBackend> nd4jLoader) {
        this(jvm, nd4jLoader, ASSIGN, LINEAR);
    }

    AutoBackend(JvmBackend jvm, Supplier<ComputeBackend> nd4jLoader, Rule assignRule, Rule linearRule) {
        this.jvm = jvm;
        this.nd4jLoader = nd4jLoader;
        this.assignRule = assignRule;
        this.linearRule = linearRule;
        LOG.info("vqstream auto backend: jvm ({}); nd4j for assign/scores: {}, for linear: {}{}", jvm.describe(), assignRule,
                linearRule, Backends.nd4jOnClassPath() ? "" : " (ND4J not on the class path: jvm only)");
    }

    @Override
    public String name() {
        return "auto";
    }

    /** The backend an assignment or score matrix of this shape goes to. */
    ComputeBackend pick(int n, int k, int d) {
        return route(assignRule.nd4j(n, k, d), n, k, d);
    }

    /** The backend a projection of this shape goes to. */
    ComputeBackend pickLinear(int n, int out, int in) {
        return route(linearRule.nd4j(n, out, in), n, out, in);
    }

    private ComputeBackend route(boolean wantNd4j, int n, int k, int d) {
        if (wantNd4j) {
            ComputeBackend b = nd4j();
            if (b != null) {
                if (!loggedNd4j) {
                    loggedNd4j = true;
                    LOG.info("vqstream auto backend: first call on nd4j (n={}, k={}, d={})", n, k, d);
                }
                return b;
            }
        }
        if (!loggedJvm) {
            loggedJvm = true;
            LOG.info("vqstream auto backend: first call on jvm (n={}, k={}, d={})", n, k, d);
        }
        return jvm;
    }

    private ComputeBackend nd4j() {
        if (!nd4jTried) {
            synchronized (this) {
                if (!nd4jTried) {
                    nd4j = nd4jLoader.get();
                    nd4jTried = true;
                    if (nd4j == null) {
                        LOG.info("vqstream auto backend: ND4J unavailable, every call runs on jvm");
                    }
                }
            }
        }
        return nd4j;
    }

    @Override
    public void assign(float[] x, int n, int d, float[] codebook, int cbOff, int k, Metric metric, int[] outIdx, float[] outScore) {
        pick(n, k, d).assign(x, n, d, codebook, cbOff, k, metric, outIdx, outScore);
    }

    @Override
    public void scores(float[] x, int n, int d, float[] codebook, int cbOff, int k, Metric metric, float[] out) {
        pick(n, k, d).scores(x, n, d, codebook, cbOff, k, metric, out);
    }

    @Override
    public void linear(float[] x, int n, int in, float[] w, float[] bias, int out, float[] y) {
        pickLinear(n, out, in).linear(x, n, in, w, bias, out, y);
    }

    @Override
    public void accumulateStatistics(float[] x, int n, int d, int[] idx, float[] counts, float[] sums) {
        jvm.accumulateStatistics(x, n, d, idx, counts, sums);
    }

    @Override
    public double gatherStatistics(float[] codebook, int cbOff, int k, int d, int[] idx, float[] x, int n, float[] out,
                                   float[] counts, int cOff, float[] sums, int sOff) {
        return jvm.gatherStatistics(codebook, cbOff, k, d, idx, x, n, out, counts, cOff, sums, sOff);
    }

    @Override
    public void releaseThreadResources() {
        jvm.releaseThreadResources();
        ComputeBackend b = nd4j;
        if (b != null) {
            b.releaseThreadResources();
        }
    }
}
