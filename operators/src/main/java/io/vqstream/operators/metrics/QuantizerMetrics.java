package io.vqstream.operators.metrics;

import org.apache.flink.annotation.Internal;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * The quantize operator's metrics, under the operator's metric group in a {@code vqstream}
 * subgroup. Gauges look back over the last {@code window} micro-batches of this subtask (all
 * keys together):
 * <ul>
 *   <li>{@code codebookUsage}: distinct (position, code) pairs hit / Σ codebook sizes;</li>
 *   <li>{@code perplexity}: {@code exp(H)} of the code histogram, averaged over code positions;</li>
 *   <li>{@code quantizationError}: mean {@code ‖x − x̂‖²/dim} per record;</li>
 *   <li>{@code commitmentLoss}: mean training loss of the EMA steps.</li>
 * </ul>
 * Counters: {@code recordsQuantized}, {@code deadLetters}, {@code batches}, {@code emaSteps},
 * {@code deadCodesReplaced}, {@code codebookChanges}. Histograms: {@code batchSize},
 * {@code batchLatencyMs} (first record buffered → codes emitted), {@code backendTimeUs}.
 */
@Internal
public final class QuantizerMetrics {
    private final int window;
    private final double totalSlots;
    private final int positions;
    private final ArrayDeque<long[]> batchCodes = new ArrayDeque<>();
    private final ArrayDeque<double[]> batchErrors = new ArrayDeque<>();
    private final ArrayDeque<Double> losses = new ArrayDeque<>();
    /**
     * Hits per code of each position over the window, for codebooks of at most
     * {@link #MAX_ARRAY_CODES} codes (null for larger ones): an array increment per code instead
     * of a boxed map update, which cost a few percent of a pipeline's task thread.
     */
    private final int[][] hits;
    /** Distinct (position, code) pairs with hits in {@link #hits}. */
    private int distinctInArrays;
    /** Hits of the (position, code) pairs of larger codebooks, keyed {@code position << 40 | code}. */
    private final Map<Long, Integer> counts = new HashMap<>();
    private final long[] positionTotals;
    /** The largest codebook counted in an array. */
    static final long MAX_ARRAY_CODES = 1 << 20;
    /** The window key of a code that is not counted (masked, −1). */
    private static final long UNCOUNTED = 0xFFFFFFFFFFL;

    public final Counter recordsQuantized;
    public final Counter deadLetters;
    public final Counter batches;
    public final Counter emaSteps;
    public final Counter deadCodesReplaced;
    public final Counter codebookChanges;
    public final Histogram batchSize;
    public final Histogram batchLatencyMs;
    public final Histogram backendTimeUs;

    public QuantizerMetrics(MetricGroup operatorGroup, int window, long[] codebookSizes) {
        this.window = window;
        double slots = 0;
        for (long s : codebookSizes) {
            slots += s;
        }
        this.totalSlots = slots;
        this.positions = codebookSizes.length;
        this.positionTotals = new long[positions];
        this.hits = new int[positions][];
        for (int pos = 0; pos < positions; pos++) {
            hits[pos] = codebookSizes[pos] <= MAX_ARRAY_CODES ? new int[(int) codebookSizes[pos]] : null;
        }
        MetricGroup g = operatorGroup.addGroup("vqstream");
        recordsQuantized = g.counter("recordsQuantized");
        deadLetters = g.counter("deadLetters");
        batches = g.counter("batches");
        emaSteps = g.counter("emaSteps");
        deadCodesReplaced = g.counter("deadCodesReplaced");
        codebookChanges = g.counter("codebookChanges");
        batchSize = g.histogram("batchSize", new DescriptiveStatisticsHistogram(window));
        batchLatencyMs = g.histogram("batchLatencyMs", new DescriptiveStatisticsHistogram(window));
        backendTimeUs = g.histogram("backendTimeUs", new DescriptiveStatisticsHistogram(window));
        g.gauge("codebookUsage", (Gauge<Double>) this::usage);
        g.gauge("perplexity", (Gauge<Double>) this::perplexity);
        g.gauge("quantizationError", (Gauge<Double>) this::meanError);
        g.gauge("commitmentLoss", (Gauge<Double>) this::meanLoss);
    }

    /** One emitted batch: token-major codes (records × positions) and per-record errors (may be null). */
    public synchronized void batch(long[] codes, int records, float[] errors) {
        long[] keys = new long[codes.length];
        for (int i = 0; i < codes.length; i++) {
            int pos = i % positions;
            long code = codes[i];
            keys[i] = ((long) pos << 40) | (code >= 0 ? code & 0xFFFFFFFFFFL : UNCOUNTED);
            if (code >= 0) {
                int[] h = hits[pos];
                if (h != null && code < h.length) {
                    if (h[(int) code]++ == 0) {
                        distinctInArrays++;
                    }
                } else {
                    counts.merge(keys[i], 1, Integer::sum);
                }
                positionTotals[pos]++;
            }
        }
        batchCodes.addLast(keys);
        if (errors != null) {
            double[] e = new double[errors.length];
            for (int i = 0; i < e.length; i++) {
                e[i] = errors[i];
            }
            batchErrors.addLast(e);
        }
        while (batchCodes.size() > window) {
            for (long k : batchCodes.removeFirst()) {
                long code = k & 0xFFFFFFFFFFL;
                if (code == UNCOUNTED) {
                    continue;
                }
                int pos = (int) (k >>> 40);
                positionTotals[pos]--;
                int[] h = hits[pos];
                if (h != null && code < h.length) {
                    if (--h[(int) code] == 0) {
                        distinctInArrays--;
                    }
                } else {
                    counts.computeIfPresent(k, (kk, v) -> v == 1 ? null : v - 1);
                }
            }
        }
        while (batchErrors.size() > window) {
            batchErrors.removeFirst();
        }
        batches.inc();
        recordsQuantized.inc(records);
        batchSize.update(records);
    }

    public synchronized void trainingLoss(double loss) {
        losses.addLast(loss);
        while (losses.size() > window) {
            losses.removeFirst();
        }
    }

    public synchronized double usage() {
        return totalSlots == 0 ? Double.NaN : (distinctInArrays + counts.size()) / totalSlots;
    }

    public synchronized double perplexity() {
        double[] h = new double[positions];
        for (int pos = 0; pos < positions; pos++) {
            if (hits[pos] != null) {
                for (int c : hits[pos]) {
                    if (c > 0) {
                        double p = (double) c / positionTotals[pos];
                        h[pos] -= p * Math.log(p);
                    }
                }
            }
        }
        for (Map.Entry<Long, Integer> e : counts.entrySet()) {
            int pos = (int) (e.getKey() >>> 40);
            double p = (double) e.getValue() / positionTotals[pos];
            h[pos] -= p * Math.log(p);
        }
        double s = 0;
        int n = 0;
        for (int pos = 0; pos < positions; pos++) {
            if (positionTotals[pos] > 0) {
                s += Math.exp(h[pos]);
                n++;
            }
        }
        return n == 0 ? Double.NaN : s / n;
    }

    public synchronized double meanError() {
        double s = 0;
        long n = 0;
        for (double[] e : batchErrors) {
            for (double v : e) {
                s += v;
                n++;
            }
        }
        return n == 0 ? Double.NaN : s / n;
    }

    public synchronized double meanLoss() {
        return losses.isEmpty() ? Double.NaN : losses.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }
}
