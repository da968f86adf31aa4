package io.vqstream.operators.batch;

import io.vqstream.core.backend.CodebookVersions;
import io.vqstream.core.backend.ComputeBackend;
import io.vqstream.core.backend.JvmBackend;
import io.vqstream.core.backend.Metric;
import io.vqstream.core.backend.WarmUpThread;
import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.annotation.Internal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives the quantizer's forward pass on synthetic batches of the job's own shape before an
 * operator takes its first record, until the JIT has compiled the kernels that shape uses.
 *
 * <p>Why: until C2 has compiled the Vector API kernels they run in code that boxes every
 * vector, an order of magnitude slower. A profile of {@code bench kafka-quantize} (100k
 * vectors, D=128, K=1024) showed about half of the task thread's samples in the Vector API's
 * non-intrinsic fallback, the kernels' C2 versions arriving 15–20 s after the first record. The
 * backend's own background warm-up runs small generic shapes and stops at the first real call,
 * which on a topic that already holds records is at once. Here the operator's {@code open()}
 * waits (bounded) instead, on a separate {@link WarmUpThread} so that referee counts and
 * per-thread scratch of the task thread are untouched.
 *
 * <p>When to stop: the JIT has nothing left to do for the shape when the time of a round of calls
 * (a full batch, each small row count, a few exact ties) has settled: for {@value #WINDOW} rounds
 * and at least {@value #MIN_PLATEAU_MS} ms the median of the last {@value #WINDOW} has not come
 * 10 % below the lowest such median before
 * (medians, not single rounds, so that a busy machine's noise neither stops nor prolongs it); or when the budget
 * ({@code -Dvqstream.operator.warmup.ms}, default {@value #DEFAULT_BUDGET_MS}, 0 turns it off) is
 * spent. The JIT's own activity is no guide: in a job it never falls quiet, because Flink's
 * threads keep it compiling. Each shape is warmed once per JVM.
 */
@Internal
public final class KernelWarmUp {
    private static final Logger LOG = LoggerFactory.getLogger(KernelWarmUp.class);
    /** System property: the most milliseconds one warm-up may take; 0 disables it (and the sources' decoder warm-up). */
    public static final String BUDGET_PROPERTY = "vqstream.operator.warmup.ms";
    static final long DEFAULT_BUDGET_MS = 6000;
    /** A window median this fraction below the lowest one before means the JIT is still improving the path. */
    static final double PLATEAU = 0.10;
    static final int WINDOW = 8;
    /**
     * The shortest plateau that counts: C2 takes a few hundred milliseconds to compile a kernel, and
     * code that C1 compiled first (the Vector API not yet intrinsified) settles for that long at
     * several times the final round time.
     */
    static final long MIN_PLATEAU_MS = 500;
    private static final ConcurrentHashMap<String, CompletableFuture<Report>> DONE = new ConcurrentHashMap<>();

    /** What one warm-up did: rounds of calls made, milliseconds spent, first and settled round times (µs). */
    public record Report(String shape, int rounds, long millis, long firstMicros, long settledMicros, boolean settled) {
        @Override
        public String toString() {
            return shape + ": " + rounds + " rounds in " + millis + " ms, a round " + firstMicros + " µs at first, "
                    + settledMicros + " µs " + (settled ? "settled" : "when the budget ran out");
        }
    }

    private KernelWarmUp() {}

    /** The budget from {@value #BUDGET_PROPERTY}, in milliseconds. */
    public static long budgetMillis() {
        String v = System.getProperty(BUDGET_PROPERTY);
        if (v == null || v.isBlank()) {
            return DEFAULT_BUDGET_MS;
        }
        try {
            return Math.max(0, Long.parseLong(v.trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + BUDGET_PROPERTY + " must be a number of milliseconds, not '" + v + "'");
        }
    }

    /**
     * Warms {@code quantizer}'s evaluation forward for batches of {@code batchSize} rows and of
     * every small row count below it, unless this JVM already did for the same shape. Returns what was done, or null when
     * nothing was (disabled, or done before).
     */
    public static Report warm(Quantizer quantizer, int batchSize, ComputeBackend backend, long budgetMillis) throws InterruptedException {
        if (budgetMillis <= 0) {
            return null;
        }
        String shape = shape(quantizer, batchSize, backend);
        // one warm-up per shape and JVM: subtasks of the same operator that open together wait for
        // the first one's (they need the same compiled code), later opens (a restore) skip it
        CompletableFuture<Report> mine = new CompletableFuture<>();
        CompletableFuture<Report> first = DONE.putIfAbsent(shape, mine);
        if (first != null) {
            first.join(); // always completes normally: a failed warm-up completes with null
            return null;
        }
        Thread t = start(shape, quantizer, batchSize, backend, budgetMillis, mine);
        t.join();
        return mine.join();
    }

    private static String shape(Quantizer quantizer, int batchSize, ComputeBackend backend) {
        return quantizer.getClass().getSimpleName() + " dim " + quantizer.dim() + " codebooks " + Arrays.toString(quantizer.codebookSizes())
                + " batch " + Math.max(1, batchSize) + " backend " + backend.name();
    }

    /** Runs the warm-up on a {@link WarmUpThread}; {@code done} completes with its report, or null if it failed. */
    private static Thread start(String shape, Quantizer quantizer, int batchSize, ComputeBackend backend, long budgetMillis,
                                CompletableFuture<Report> done) {
        JvmBackend.endBackgroundWarmUp();
        Thread t = new WarmUpThread(() -> {
            Report report = null;
            try {
                report = run(shape, quantizer, Math.max(1, batchSize), backend, budgetMillis);
                LOG.info("kernel warm-up: {}", report);
            } catch (Throwable e) {
                // the warm-up only ever makes things faster: a failure in it is the real call's to report
                LOG.warn("kernel warm-up for {} failed: {}", shape, e.toString());
            } finally {
                backend.releaseThreadResources();
                done.complete(report);
            }
        }, "vqstream-operator-warmup");
        t.start();
        return t;
    }

    /**
     * Rows exactly halfway between two codes: the fast pass cannot tell them apart, so every
     * call also drives the exact-tie referee's rescoring, which random data almost never reaches
     * and which would otherwise meet its first real tie uncompiled.
     */
    private static final class Ties {
        final int d;
        final int k;
        final float[] codebook;
        final float[] x;
        final int[] idx;

        Ties(int d, int k) {
            this.d = d;
            this.k = k;
            SplittableRandom rnd = new SplittableRandom(29);
            codebook = new float[k * d];
            for (int i = 0; i < codebook.length; i++) {
                codebook[i] = rnd.nextInt(-8, 9) / 8f;
            }
            int rows = 8;
            x = new float[rows * d];
            for (int r = 0; r < rows; r++) {
                int a = (2 * r) % k;
                int b = (2 * r + 1) % k;
                for (int e = 0; e < d; e++) {
                    x[r * d + e] = (codebook[a * d + e] + codebook[b * d + e]) / 2;
                }
            }
            idx = new int[rows];
            // as a quantizer's own codebook is: the rescoring then reads the packed panels, the path real ties take
            CodebookVersions.track(codebook);
        }

        void assign(ComputeBackend backend) {
            backend.assign(x, idx.length, d, codebook, 0, k, Metric.L2, idx, null);
        }
    }

    /** One warm-up on the calling thread, without the once-per-JVM memo; failures propagate (tests). */
    static Report runHere(Quantizer quantizer, int batchSize, ComputeBackend backend, long budgetMillis) {
        return run(quantizer.type(), quantizer, Math.max(1, batchSize), backend, budgetMillis);
    }

    /**
     * The quantizer's initial parameters as after a k-means initialisation: codebooks still all
     * zero are filled with Gaussian codes and marked initialised. Otherwise every warm-up call would
     * run the k-means initialisation (seconds per call for a ResidualVQ of 8×1024), and against a
     * zero codebook every row would tie with every code; neither is the path records take.
     */
    static Params warmUpParams(Quantizer quantizer) {
        Params params = quantizer.initParams(0x5EED);
        SplittableRandom rnd = new SplittableRandom(0xC0DE);
        for (String name : params.names()) {
            if (name.endsWith("initted")) {
                // as after the k-means initialisation, which a forward call would otherwise run
                java.util.Arrays.fill(params.get(name).data(), 1f);
                continue;
            }
            if (!name.endsWith("embed")) {
                continue;
            }
            float[] data = params.get(name).data();
            boolean zero = true;
            for (float v : data) {
                if (v != 0f) {
                    zero = false;
                    break;
                }
            }
            if (zero) {
                for (int i = 0; i < data.length; i++) {
                    data[i] = (float) rnd.nextGaussian();
                }
            }
        }
        return params;
    }

    private static Report run(String shape, Quantizer quantizer, int batchSize, ComputeBackend backend, long budgetMillis) {
        int dim = quantizer.dim();
        Params params = warmUpParams(quantizer);
        SplittableRandom rnd = new SplittableRandom(17);
        float[] big = new float[batchSize * dim];
        for (int i = 0; i < big.length; i++) {
            big[i] = (float) rnd.nextGaussian();
        }
        // the small-batch kernels have one path per row count up to 16 (records of one key that
        // met a timer, the tail of a batch): each must be compiled before records meet it
        int[] smallRows = {1, 2, 3, 4, 5, 6, 7, 8, 12, 16};
        ForwardOptions eval = ForwardOptions.builder().backend(backend).build();
        long start = System.nanoTime();
        long deadline = start + budgetMillis * 1_000_000L;
        Plateau plateau = new Plateau();
        long first = -1;
        boolean settled = false;
        Ties ties = new Ties(dim, (int) Math.min(4096, Math.max(2, quantizer.codebookSizes()[0])));
        while (System.nanoTime() < deadline) {
            // a round: every path records will take, timed as one (any of them may still be compiling)
            long t0 = System.nanoTime();
            ties.assign(backend);
            quantizer.forwardTokens(params, new Tensor(big, batchSize, 1, dim), eval);
            for (int rows : smallRows) {
                if (rows < batchSize) {
                    if ((plateau.rounds & 1) == 1) {
                        // as after an EMA step: a few rows against a codebook version seen for the
                        // first time take the unpacked path, which learning with small batches lives on
                        for (String name : params.names()) {
                            if (name.endsWith("embed")) {
                                io.vqstream.core.backend.CodebookVersions.modified(params.get(name).data());
                            }
                        }
                    }
                    quantizer.forwardTokens(params, new Tensor(Arrays.copyOf(big, rows * dim), rows, 1, dim), eval);
                }
            }
            long took = System.nanoTime() - t0;
            if (first < 0) {
                first = took;
            }
            if (plateau.add(took)) {
                settled = true;
                break;
            }
        }
        return new Report(shape, plateau.rounds, (System.nanoTime() - start) / 1_000_000, Math.max(first, 0) / 1000,
                plateau.median() / 1000, settled);
    }

    /** The stop rule over the times of successive rounds (see the class comment). */
    static final class Plateau {
        private final long[] recent = new long[WINDOW];
        private long best = Long.MAX_VALUE; // the lowest median of {@value #WINDOW} successive rounds
        private int rounds;
        private int lastGain; // the round whose window median beat the best by a clear margin

        /** Adds one round's time; true once the times have settled. */
        private long sinceGain; // nanoseconds of rounds since that gain

        boolean add(long nanos) {
            recent[rounds % WINDOW] = nanos;
            rounds++;
            sinceGain += nanos;
            if (rounds < WINDOW) {
                return false;
            }
            long m = median();
            if (m < best * (1 - PLATEAU)) {
                lastGain = rounds;
                sinceGain = 0;
            }
            best = Math.min(best, m);
            return rounds >= 2 * WINDOW && rounds - lastGain >= WINDOW && sinceGain >= MIN_PLATEAU_MS * 1_000_000L;
        }

        /** The median of the last {@value #WINDOW} rounds (0 before any). */
        long median() {
            long[] sorted = Arrays.copyOf(recent, Math.min(rounds, WINDOW));
            Arrays.sort(sorted);
            return sorted.length == 0 ? 0 : sorted[sorted.length / 2];
        }
    }
}
