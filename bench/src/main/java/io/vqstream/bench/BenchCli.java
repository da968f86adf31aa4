package io.vqstream.bench;

import io.vqstream.core.backend.Backends;
import io.vqstream.core.backend.ComputeBackend;
import io.vqstream.core.backend.JvmBackend;
import io.vqstream.core.backend.Nd4jBackend;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.function.IntFunction;

/**
 * {@code bin/vqstream bench <assign|ema|rvq|fsq|lfq> --dim D --codebook-size K --batch N
 * --threads T --backend B --seconds S}: runs the op for S seconds on T threads (each with its
 * own inputs, one shared backend) after a warm-up, and prints one JSON line
 * <pre>{"op":..,"dim":..,"codebook_size":..,"batch":..,"threads":..,"backend":..,"vectors_per_s":..,"p50_us":..}</pre>
 * plus op-specific fields. vectors_per_s sums each thread's vectors over its busy time;
 * p50_us is the median call. Logs go to stderr.
 *
 * <p>Extra options: {@code --metric l2|cosine} (assign), {@code --warmup S} (minimum; the
 * warm-up goes on until the JIT has been quiet for a second),
 * {@code --quantizers Q} (rvq, default 8), {@code --levels 8,5,5,5} (fsq). For ema the
 * assignment alone is timed in the same loop, call by call alternating with the EMA step, and
 * reported as {@code assign_p50_us} and {@code ema_over_assign}.
 *
 * <p>The end-to-end ops ({@code operator}, {@code kafka-quantize}, {@code demo}, {@code soak}:
 * whole Flink jobs, Kafka on 127.0.0.1) are handed to {@link io.vqstream.bench.e2e.E2e}.
 */
public final class BenchCli {
    private BenchCli() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || args[0].startsWith("-")) {
            usage("missing op");
        }
        String op = args[0].toLowerCase(Locale.ROOT);
        if (io.vqstream.bench.e2e.E2e.handles(op)) {
            // whole jobs on a mini-cluster and Kafka (bench/README.md, "End-to-end")
            io.vqstream.bench.e2e.E2e.run(op, Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        Map<String, String> o;
        try {
            o = options(args, 1, Set.of("dim", "codebook-size", "batch", "threads", "backend", "seconds", "warmup", "metric",
                    "quantizers", "levels"));
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
            return;
        }
        String backendName = o.getOrDefault("backend", "auto");
        ComputeBackend backend = Backends.byName(backendName);
        int threads = Integer.parseInt(o.getOrDefault("threads", "1"));
        double seconds = Double.parseDouble(o.getOrDefault("seconds", "10"));
        double warmup = Double.parseDouble(o.getOrDefault("warmup", String.valueOf(Math.min(5.0, Math.max(1.0, seconds / 2)))));

        Map<String, Object> json = new LinkedHashMap<>();
        json.put("op", op);
        IntFunction<Workloads.Call> factory;
        IntFunction<Workloads.Call> companion = null;
        int dim;
        int k;
        int n;
        double flopsPerCall = 0;
        double bytesPerVector = 0;
        switch (op) {
            case "assign" -> {
                dim = intOpt(o, "dim", 256);
                k = intOpt(o, "codebook-size", 1024);
                n = intOpt(o, "batch", 4096);
                String metric = o.getOrDefault("metric", "l2").toLowerCase(Locale.ROOT);
                if (!metric.equals("l2") && !metric.equals("cosine")) {
                    usage("--metric must be l2 or cosine");
                }
                boolean cos = metric.equals("cosine");
                int fd = dim;
                int fk = k;
                int fn = n;
                factory = t -> new Workloads.Assign(backend, fd, fk, fn, cos, 100 + t);
                flopsPerCall = 2.0 * n * k * dim;
                json.put("metric", metric);
            }
            case "ema" -> {
                dim = intOpt(o, "dim", 256);
                k = intOpt(o, "codebook-size", 1024);
                n = intOpt(o, "batch", 4096);
                int fd = dim;
                int fk = k;
                int fn = n;
                factory = t -> new Workloads.EmaStep(backend, fd, fk, fn, 100 + t);
                companion = t -> new Workloads.Assign(backend, fd, fk, fn, false, 100 + t);
            }
            case "rvq" -> {
                dim = intOpt(o, "dim", 128);
                k = intOpt(o, "codebook-size", 1024);
                n = intOpt(o, "batch", 4096);
                int q = intOpt(o, "quantizers", 8);
                int fd = dim;
                int fk = k;
                int fn = n;
                factory = t -> new Workloads.Rvq(backend, fd, fk, fn, q, 100 + t);
                flopsPerCall = 2.0 * q * n * k * dim;
                json.put("quantizers", q);
            }
            case "fsq" -> {
                List<Integer> levels = new ArrayList<>();
                for (String s : o.getOrDefault("levels", "8,5,5,5").split(",")) {
                    levels.add(Integer.parseInt(s.trim()));
                }
                dim = intOpt(o, "dim", levels.size());
                k = levels.stream().reduce(1, (a, b) -> a * b);
                if (o.containsKey("codebook-size") && Integer.parseInt(o.get("codebook-size")) != k) {
                    usage("fsq: --codebook-size is the product of --levels (" + k + ")");
                }
                n = intOpt(o, "batch", 65536);
                int fd = dim;
                int fn = n;
                factory = t -> Workloads.Forward.fsq(backend, levels, fd, fn, 100 + t);
                bytesPerVector = 4.0 * dim + 4.0 * dim + 4;
                json.put("levels", levels);
            }
            case "lfq" -> {
                k = intOpt(o, "codebook-size", 65536);
                if (Integer.bitCount(k) != 1 || k < 2) {
                    usage("lfq: --codebook-size must be a power of two");
                }
                int bits = Integer.numberOfTrailingZeros(k);
                dim = intOpt(o, "dim", bits);
                if (dim != bits) {
                    usage("lfq: --dim is log2(--codebook-size) (" + bits + ")");
                }
                n = intOpt(o, "batch", 65536);
                int fn = n;
                factory = t -> Workloads.Forward.lfq(backend, bits, fn, 100 + t);
                bytesPerVector = 4.0 * dim + 4.0 * dim + 4;
            }
            default -> {
                usage("unknown op " + op);
                return;
            }
        }
        json.put("dim", dim);
        json.put("codebook_size", k);
        json.put("batch", n);
        json.put("threads", threads);
        json.put("backend", backend.name());

        JvmBackend.awaitWarmUp();
        Result[] r = measure(factory, companion, threads, warmup, seconds);
        Result main = r[0];
        json.put("vectors_per_s", round(main.vectorsPerSecond(), 1));
        json.put("p50_us", round(main.p50Micros(), 2));
        json.put("calls", main.calls());
        if (flopsPerCall > 0) {
            json.put("gflops", round(main.callsPerSecond() * flopsPerCall / 1e9, 2));
        }
        if (bytesPerVector > 0) {
            json.put("gbytes_per_s", round(main.vectorsPerSecond() * bytesPerVector / 1e9, 3));
        }
        if (r[1] != null) {
            json.put("assign_vectors_per_s", round(r[1].vectorsPerSecond(), 1));
            json.put("assign_p50_us", round(r[1].p50Micros(), 2));
            json.put("ema_over_assign", round(main.p50Micros() / r[1].p50Micros(), 3));
        }
        json.put("backend_detail", detail(backend));
        if (!backend.name().equals("jvm-scalar") && !backend.name().equals("nd4j")) {
            json.put("lanes", JvmBackend.get().lanes());
            json.put("tile", JvmBackend.get().tile());
        }
        json.put("seconds", seconds);
        System.out.println(toJson(json));
    }

    static String detail(ComputeBackend b) {
        if (b instanceof JvmBackend j) {
            return j.describe();
        }
        if (b.name().equals("nd4j")) {
            return ((Nd4jBackend) b).describe();
        }
        if (b.name().equals("auto")) {
            return "auto: jvm " + JvmBackend.get().describe() + (Backends.nd4jOnClassPath() ? " / nd4j" : "");
        }
        return b.name();
    }

    private static int intOpt(Map<String, String> o, String key, int def) {
        return o.containsKey(key) ? Integer.parseInt(o.get(key)) : def;
    }

    private static void usage(String why) {
        System.err.println("vqstream bench: " + why);
        System.err.println("usage: bench <assign|ema|rvq|fsq|lfq> [--dim D] [--codebook-size K] [--batch N] [--threads T]\n"
                + "             [--backend jvm|nd4j|auto|jvm-scalar] [--seconds S] [--warmup S] [--metric l2|cosine]\n"
                + "             [--quantizers Q] [--levels 8,5,5,5]\n"
                + "       bench <operator|kafka-quantize|demo|soak> [options]   (end-to-end; see bench/README.md)");
        System.exit(2);
    }

    /** Call durations of one op over all threads. */
    record Result(long[] nanos, long vectors, long busyNanosSum, int threads) {
        int calls() {
            return nanos.length;
        }

        /** Sum over threads of (vectors / busy time), assuming threads share the work evenly. */
        double vectorsPerSecond() {
            return busyNanosSum == 0 ? 0 : vectors * 1e9 / ((double) busyNanosSum / threads);
        }

        double callsPerSecond() {
            return busyNanosSum == 0 ? 0 : nanos.length * 1e9 / ((double) busyNanosSum / threads);
        }

        double p50Micros() {
            long[] s = nanos.clone();
            Arrays.sort(s);
            return s.length == 0 ? 0 : s[s.length / 2] / 1e3;
        }
    }

    /** T threads, each: warm-up, then calls until the deadline; the companion alternates call by call. */
    static Result[] measure(IntFunction<Workloads.Call> factory, IntFunction<Workloads.Call> companion, int threads,
                            double warmupSeconds, double seconds) throws Exception {
        long[][] main = new long[threads][];
        long[][] comp = new long[threads][];
        long[] vectors = new long[threads];
        long[] compVectors = new long[threads];
        CyclicBarrier start = new CyclicBarrier(threads);
        Throwable[] failure = new Throwable[1];
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int ti = t;
            Thread th = new Thread(() -> {
                try {
                    Workloads.Call c = factory.apply(ti);
                    Workloads.Call a = companion == null ? null : companion.apply(ti);
                    warmUp(c, a, warmupSeconds);
                    start.await();
                    LongList m = new LongList();
                    LongList ac = new LongList();
                    long end = System.nanoTime() + (long) (seconds * 1e9);
                    do {
                        long t0 = System.nanoTime();
                        c.run();
                        long t1 = System.nanoTime();
                        m.add(t1 - t0);
                        if (a != null) {
                            a.run();
                            ac.add(System.nanoTime() - t1);
                        }
                    } while (System.nanoTime() < end || m.size() < 3);
                    main[ti] = m.toArray();
                    vectors[ti] = (long) m.size() * c.vectors();
                    if (a != null) {
                        comp[ti] = ac.toArray();
                        compVectors[ti] = (long) ac.size() * a.vectors();
                    }
                } catch (Throwable e) {
                    synchronized (failure) {
                        failure[0] = e;
                    }
                    start.reset();
                }
            }, "bench-" + t);
            ts.add(th);
            th.start();
        }
        for (Thread th : ts) {
            th.join();
        }
        if (failure[0] != null) {
            throw new RuntimeException("benchmark thread failed", failure[0]);
        }
        return new Result[] {merge(main, vectors, threads), companion == null ? null : merge(comp, compVectors, threads)};
    }

    /**
     * Calls until {@code seconds} have passed and the JIT has been quiet for a second (C2 needs
     * several seconds for the Vector API tiles on a busy machine, and the tier-3 code before it
     * is an order of magnitude slower), at most a minute longer.
     */
    static void warmUp(Workloads.Call c, Workloads.Call companion, double seconds) {
        java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        boolean timed = jit != null && jit.isCompilationTimeMonitoringSupported();
        long start = System.nanoTime();
        long min = start + (long) (seconds * 1e9);
        long max = min + 60_000_000_000L;
        long lastJit = timed ? jit.getTotalCompilationTime() : 0;
        long quietSince = start;
        while (true) {
            c.run();
            if (companion != null) {
                companion.run();
            }
            long now = System.nanoTime();
            if (timed) {
                long j = jit.getTotalCompilationTime();
                if (j != lastJit) {
                    lastJit = j;
                    quietSince = now;
                }
            }
            if (now >= max || (now >= min && now - quietSince >= 1_000_000_000L)) {
                return;
            }
        }
    }

    private static Result merge(long[][] perThread, long[] vectors, int threads) {
        int total = 0;
        for (long[] a : perThread) {
            total += a.length;
        }
        long[] all = new long[total];
        long busy = 0;
        long vec = 0;
        int o = 0;
        for (int t = 0; t < perThread.length; t++) {
            System.arraycopy(perThread[t], 0, all, o, perThread[t].length);
            o += perThread[t].length;
            for (long v : perThread[t]) {
                busy += v;
            }
            vec += vectors[t];
        }
        return new Result(all, vec, busy, threads);
    }

    private static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    /**
     * {@code --name value} and {@code --name=value} options from {@code args[from..]}, each
     * checked against {@code known}.
     *
     * @throws IllegalArgumentException naming the argument that is not an option, lacks its value or is unknown
     */
    public static Map<String, String> options(String[] args, int from, Set<String> known) {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = from; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + a);
            }
            String key = a.substring(2);
            String value;
            int eq = key.indexOf('=');
            if (eq >= 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            } else {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("missing value for " + a);
                }
                value = args[++i];
            }
            if (!known.contains(key)) {
                throw new IllegalArgumentException("unknown option --" + key + " (known: --"
                        + String.join(", --", known.stream().sorted().toList()) + ")");
            }
            o.put(key, value);
        }
        return o;
    }

    public static String toJson(Map<String, Object> m) {
        StringBuilder sb = new StringBuilder("{");
        for (Map.Entry<String, Object> e : m.entrySet()) {
            if (sb.length() > 1) {
                sb.append(',');
            }
            sb.append('"').append(e.getKey()).append("\":").append(value(e.getValue()));
        }
        return sb.append('}').toString();
    }

    private static String value(Object v) {
        if (v instanceof Number || v instanceof Boolean) {
            return v.toString();
        }
        if (v instanceof Map<?, ?> mm) {
            StringBuilder sb = new StringBuilder("{");
            for (Map.Entry<?, ?> e : mm.entrySet()) {
                if (sb.length() > 1) {
                    sb.append(',');
                }
                sb.append(value(String.valueOf(e.getKey()))).append(':').append(value(e.getValue()));
            }
            return sb.append('}').toString();
        }
        if (v instanceof List<?> l) {
            StringBuilder sb = new StringBuilder("[");
            for (Object x : l) {
                if (sb.length() > 1) {
                    sb.append(',');
                }
                sb.append(value(x));
            }
            return sb.append(']').toString();
        }
        String s = String.valueOf(v);
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    /** A growable long array. */
    static final class LongList {
        private long[] a = new long[1024];
        private int size;

        void add(long v) {
            if (size == a.length) {
                a = Arrays.copyOf(a, size * 2);
            }
            a[size++] = v;
        }

        int size() {
            return size;
        }

        long[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }
}
