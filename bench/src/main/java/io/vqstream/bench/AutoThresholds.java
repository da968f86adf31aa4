package io.vqstream.bench;

import io.vqstream.core.backend.Backends;
import io.vqstream.core.backend.ComputeBackend;
import io.vqstream.core.backend.Metric;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Measures where ND4J overtakes the JVM kernels, the data behind {@code AutoBackend}'s
 * thresholds: for each op and shape, jvm and nd4j are timed alternately (jvm, nd4j, jvm, nd4j,
 * …, {@code rounds} samples each of at least {@code sampleMs}), and the median ratio is printed
 * as one tab-separated line per shape:
 * <pre>op  n  k  d  n·k·d  jvm_us  nd4j_us  nd4j_speedup</pre>
 * Usage: {@code AutoThresholds [assign|scores|linear ...] [--rounds R] [--sample-ms M]
 * [--dims 64,128] [--codebook-sizes 1024] [--batches 1,16]}.
 */
public final class AutoThresholds {
    private AutoThresholds() {}

    public static void main(String[] args) {
        int rounds = 5;
        double sampleMs = 150;
        int[] ds = {64, 128, 256, 512};
        int[] ks = {256, 1024, 8192};
        int[] ns = {1, 16, 64, 256, 1024, 4096};
        java.util.List<String> ops = new java.util.ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--sample-ms" -> sampleMs = Double.parseDouble(args[++i]);
                case "--dims" -> ds = ints(args[++i]);
                case "--codebook-sizes" -> ks = ints(args[++i]);
                case "--batches" -> ns = ints(args[++i]);
                default -> ops.add(args[i].toLowerCase(Locale.ROOT));
            }
        }
        if (ops.isEmpty()) {
            ops.addAll(java.util.List.of("assign", "scores", "linear"));
        }
        ComputeBackend jvm = Backends.byName("jvm");
        ComputeBackend nd4j = Backends.byName("nd4j");
        System.out.println("op\tn\tk\td\tn*k*d\tjvm_us\tnd4j_us\tnd4j_speedup");
        for (String op : ops) {
            for (int d : ds) {
                for (int k : ks) {
                    for (int n : ns) {
                        if ((long) n * k > (1L << 24)) {
                            continue;
                        }
                        SplittableRandom rnd = new SplittableRandom(n * 31L + k * 7L + d);
                        float[] x = Workloads.gaussian(rnd, n * d);
                        float[] c = Workloads.gaussian(rnd, k * d);
                        int[] idx = new int[n];
                        float[] out = op.equals("assign") ? null : new float[n * k];
                        Runnable[] calls = new Runnable[2];
                        ComputeBackend[] bs = {jvm, nd4j};
                        for (int b = 0; b < 2; b++) {
                            ComputeBackend be = bs[b];
                            calls[b] = switch (op) {
                                case "assign" -> () -> be.assign(x, n, d, c, 0, k, Metric.L2, idx, null);
                                case "scores" -> () -> be.scores(x, n, d, c, 0, k, Metric.L2, out);
                                case "linear" -> () -> be.linear(x, n, d, c, null, k, out);
                                default -> throw new IllegalArgumentException("op " + op);
                            };
                        }
                        double[][] us = new double[2][rounds];
                        for (int w = 0; w < 2; w++) {
                            for (int b = 0; b < 2; b++) {
                                sample(calls[b], sampleMs); // warm-up, JIT included
                            }
                        }
                        for (int r = 0; r < rounds; r++) {
                            for (int b = 0; b < 2; b++) {
                                us[b][r] = sample(calls[b], sampleMs);
                            }
                        }
                        double j = median(us[0]);
                        double g = median(us[1]);
                        System.out.printf(Locale.ROOT, "%s\t%d\t%d\t%d\t%d\t%.1f\t%.1f\t%.2f%n", op, n, k, d, (long) n * k * d, j, g, j / g);
                    }
                }
            }
        }
    }

    static int[] ints(String csv) {
        return Arrays.stream(csv.split(",")).mapToInt(v -> Integer.parseInt(v.trim())).toArray();
    }

    /** Mean µs per call over at least {@code ms} milliseconds (and at least one call). */
    static double sample(Runnable call, double ms) {
        long t0 = System.nanoTime();
        long end = t0 + (long) (ms * 1e6);
        int calls = 0;
        long t;
        do {
            call.run();
            calls++;
            t = System.nanoTime();
        } while (t < end);
        return (t - t0) / 1e3 / calls;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
    }
}
