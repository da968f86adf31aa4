package io.vqstream.core.backend;

import org.apache.flink.annotation.Internal;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ND4J backend: the score matrix is one GEMM, the arg-max and the tie window are reductions,
 * all through INDArray operations, so the same code runs on nd4j-native (OpenBLAS) and on the
 * CUDA backend that {@code -Pcuda} puts on the class path. Loaded by name only when ND4J is
 * present ({@link Backends}).
 *
 * <p>Per call, in a per-thread workspace (memory reused from one micro-batch to the next):
 * <pre>
 * H = X·Cᵀ − ½‖c‖²  (L2)  or  X·Cᵀ  (DOT);   i* = argmax_j H;   runner-up = max_j H with H[i*] := −∞
 * </pre>
 * Rows whose runner-up lies inside {@link Referee}'s error window are settled on the host by
 * exact rescoring, so indices equal the reference's. Scatter-add and gather stay on the host: their inputs and
 * outputs are host arrays and they move as many bytes as they compute.
 */
@Internal
public final class Nd4jBackend implements ComputeBackend {
    private static final Logger LOG = LoggerFactory.getLogger(Nd4jBackend.class);
    private static final String WORKSPACE = "vqstream-nd4j";
    private static final WorkspaceConfiguration WS = WorkspaceConfiguration.builder()
            .policyAllocation(AllocationPolicy.OVERALLOCATE)
            .policyLearning(LearningPolicy.OVER_TIME)
            .policySpill(SpillPolicy.REALLOCATE)
            .overallocationLimit(0.2)
            .build();

    private final JvmBackend host = JvmBackend.get();
    private final String describe;

    public Nd4jBackend() {
        int threads = Integer.getInteger("vqstream.nd4j.threads", 1);
        // one BLAS/OpenMP thread per calling thread: parallelism comes from Flink slots
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        try {
            Nd4j.factory().blas().setMaxThreads(threads);
        } catch (RuntimeException e) {
            LOG.debug("BLAS thread count not settable on this ND4J backend: {}", e.toString());
        }
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        String backend = Nd4j.getBackend().getClass().getSimpleName();
        this.describe = backend + ", " + threads + " thread(s)";
        LOG.info("vqstream nd4j backend: {} ({})", backend, Nd4j.getExecutioner().getClass().getSimpleName());
    }

    @Override
    public void releaseThreadResources() {
        Nd4j.getWorkspaceManager().destroyAllWorkspacesForCurrentThread();
    }

    @Override
    public String name() {
        return "nd4j";
    }

    /** The ND4J backend class in use (CPU or CUDA) and its thread count. */
    public String describe() {
        return describe;
    }

    private static INDArray matrix(float[] a, int off, int rows, int cols) {
        int len = rows * cols;
        float[] data = off == 0 && a.length == len ? a : java.util.Arrays.copyOfRange(a, off, off + len);
        return Nd4j.create(data, new long[] {rows, cols}, 'c');
    }

    @Override
    public void assign(float[] x, int n, int d, float[] codebook, int cbOff, int k, Metric metric, int[] outIdx, float[] outScore) {
        JvmBackend.checkShapes(x, n, d, codebook, cbOff, k);
        if (n == 0) {
            return;
        }
        // norms on the host: they decide the error window and catch non-finite codebooks
        float[] norms = new float[k];
        host.sumSquares(codebook, cbOff, k, d, norms);
        float maxNorm = 0f;
        boolean finite = true;
        for (float v : norms) {
            finite &= Float.isFinite(v);
            maxNorm = Math.max(maxNorm, v);
        }
        if (!finite || k == 1) {
            ScalarBackend.INSTANCE.assign(x, n, d, codebook, cbOff, k, metric, outIdx, outScore);
            return;
        }
        float[] bias = new float[k];
        if (metric == Metric.L2) {
            for (int j = 0; j < k; j++) {
                bias[j] = -0.5f * norms[j];
            }
        }
        float[] best = new float[n];
        float[] second;
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(WS, WORKSPACE)) {
            INDArray h = Nd4j.gemm(matrix(x, 0, n, d), matrix(codebook, cbOff, k, d), false, true);
            if (metric == Metric.L2) {
                h.addiRowVector(Nd4j.create(bias, new long[] {1, k}, 'c'));
            }
            long[] idx = Nd4j.argMax(h, 1).toLongVector();
            for (int i = 0; i < n; i++) {
                outIdx[i] = (int) idx[i];
                best[i] = h.getFloat(i, idx[i]);
                h.putScalar(i, idx[i], Float.NEGATIVE_INFINITY);
            }
            // the runner-up: the row maximum once the winner is masked
            second = h.max(1).toFloatVector();
        }
        float[] xx = new float[n];
        host.sumSquares(x, 0, n, d, xx);
        Referee referee = new Referee(metric, d, maxNorm);
        float[] row = null;
        for (int i = 0; i < n; i++) {
            if (!referee.certain(xx[i], best[i], second[i])) {
                if (row == null) {
                    row = new float[k];
                }
                host.rowScores(x, i * d, d, codebook, cbOff, k, bias, row);
                outIdx[i] = referee.resolve(x, i * d, codebook, cbOff, k, row, 0, xx[i]);
            }
        }
        if (outScore != null) {
            for (int i = 0; i < n; i++) {
                outScore[i] = ScalarBackend.score(x, i * d, d, codebook, cbOff + outIdx[i] * d, metric);
            }
        }
    }

    @Override
    public void scores(float[] x, int n, int d, float[] codebook, int cbOff, int k, Metric metric, float[] out) {
        JvmBackend.checkShapes(x, n, d, codebook, cbOff, k);
        if (n == 0) {
            return;
        }
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(WS, WORKSPACE)) {
            INDArray xm = matrix(x, 0, n, d);
            INDArray cm = matrix(codebook, cbOff, k, d);
            INDArray h = Nd4j.gemm(xm, cm, false, true);
            if (metric == Metric.L2) {
                // −sqrt(max(‖x‖² + ‖c‖² − 2·x·c, 1e-8))
                float[] cc = new float[k];
                float[] xx = new float[n];
                host.sumSquares(codebook, cbOff, k, d, cc);
                host.sumSquares(x, 0, n, d, xx);
                h.muli(-2f).addiRowVector(Nd4j.create(cc, new long[] {1, k}, 'c'))
                        .addiColumnVector(Nd4j.create(xx, new long[] {n, 1}, 'c'));
                Transforms.max(h, 1e-8, false);
                Transforms.sqrt(h, false).negi();
            }
            copyOut(h, out, n * k);
        }
    }

    @Override
    public void linear(float[] x, int n, int in, float[] w, float[] bias, int out, float[] y) {
        if (n == 0 || out == 0) {
            return;
        }
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(WS, WORKSPACE)) {
            INDArray xm = matrix(x, 0, n, in);
            INDArray wm = matrix(w, 0, out, in);
            INDArray ym = Nd4j.gemm(xm, wm, false, true);
            if (bias != null) {
                ym.addiRowVector(matrix(bias, 0, 1, out));
            }
            copyOut(ym, y, n * out);
        }
    }

    private static void copyOut(INDArray a, float[] out, int len) {
        System.arraycopy(a.data().asFloat(), (int) a.offset(), out, 0, len);
    }

    @Override
    public void accumulateStatistics(float[] x, int n, int d, int[] idx, float[] counts, float[] sums) {
        host.accumulateStatistics(x, n, d, idx, counts, sums);
    }

    @Override
    public double gatherStatistics(float[] codebook, int cbOff, int k, int d, int[] idx, float[] x, int n, float[] out,
                                   float[] counts, int cOff, float[] sums, int sOff) {
        return host.gatherStatistics(codebook, cbOff, k, d, idx, x, n, out, counts, cOff, sums, sOff);
    }
}
