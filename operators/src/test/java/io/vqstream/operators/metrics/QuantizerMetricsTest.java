package io.vqstream.operators.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.Test;

/** The windowed usage and perplexity gauges against a direct count over the last batches. */
class QuantizerMetricsTest {

    @Test
    void usageAndPerplexityCountTheLastWindowOfBatches() {
        // position 0 is counted in an array, position 1 (a 2^21-code codebook) in the map
        long[] sizes = {8, 1L << 21};
        int window = 3;
        QuantizerMetrics m = new QuantizerMetrics(new UnregisteredMetricsGroup(), window, sizes);
        SplittableRandom rnd = new SplittableRandom(5);
        List<long[]> sent = new ArrayList<>();
        for (int b = 0; b < 12; b++) {
            int records = rnd.nextInt(1, 20);
            long[] codes = new long[records * 2];
            for (int r = 0; r < records; r++) {
                boolean masked = rnd.nextInt(6) == 0;
                codes[2 * r] = masked ? -1 : rnd.nextInt(b % 2 == 0 ? 3 : 8);
                codes[2 * r + 1] = masked ? -1 : rnd.nextInt(5) * 100_000L;
            }
            m.batch(codes, records, null);
            sent.add(codes);
            List<long[]> last = sent.subList(Math.max(0, sent.size() - window), sent.size());
            assertEquals(expectedUsage(last, sizes), m.usage(), 1e-12, "after batch " + b);
            assertEquals(expectedPerplexity(last), m.perplexity(), 1e-9, "after batch " + b);
        }
    }

    static double expectedUsage(List<long[]> batches, long[] sizes) {
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (long[] codes : batches) {
            for (int i = 0; i < codes.length; i++) {
                if (codes[i] >= 0) {
                    seen.add(i % 2 + "/" + codes[i]);
                }
            }
        }
        return seen.size() / (double) (sizes[0] + sizes[1]);
    }

    static double expectedPerplexity(List<long[]> batches) {
        double sum = 0;
        int used = 0;
        for (int pos = 0; pos < 2; pos++) {
            Map<Long, Integer> counts = new HashMap<>();
            long total = 0;
            for (long[] codes : batches) {
                for (int i = pos; i < codes.length; i += 2) {
                    if (codes[i] >= 0) {
                        counts.merge(codes[i], 1, Integer::sum);
                        total++;
                    }
                }
            }
            if (total > 0) {
                double h = 0;
                for (int c : counts.values()) {
                    double p = (double) c / total;
                    h -= p * Math.log(p);
                }
                sum += Math.exp(h);
                used++;
            }
        }
        return used == 0 ? Double.NaN : sum / used;
    }
}
