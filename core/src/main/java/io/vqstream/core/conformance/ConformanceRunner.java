package io.vqstream.core.conformance;

import org.apache.flink.annotation.Internal;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vqstream.core.backend.ComputeBackend;
import io.vqstream.core.io.SafeTensors;
import io.vqstream.core.io.SafeTensorsFile;
import io.vqstream.core.quantize.FSP;
import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.ImplicitCodebook;
import io.vqstream.core.quantize.Mode;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.QuantizerOutput;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.core.quantize.RandomSource;
import io.vqstream.core.quantize.VectorQuantize;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Runs conformance cases (safetensors files written by the reference implementation) against
 * this port and reports the first mismatch of each failing case.
 *
 * <p>Floats must satisfy {@code |got − expected| ≤ 1e-6 + 1e-5·|expected|}; indices must be
 * equal. Every size is read from the file, never from its name.
 */
@Internal
public final class ConformanceRunner {
    public static final double ATOL = 1e-6;
    public static final double RTOL = 1e-5;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Outcome of one case; {@code mismatch} is null when it passed. */
    public record CaseResult(String name, String mismatch, int compared) {
        public boolean passed() {
            return mismatch == null;
        }
    }

    /** Outcome of a directory. */
    public record Summary(List<CaseResult> results) {
        public long passed() {
            return results.stream().filter(CaseResult::passed).count();
        }

        public long failed() {
            return results.size() - passed();
        }

        public boolean ok() {
            return failed() == 0 && passed() > 0;
        }
    }

    private final ComputeBackend backend;

    public ConformanceRunner(ComputeBackend backend) {
        this.backend = backend;
    }

    /** Every {@code *.safetensors} in {@code dir}, in name order; failures printed to {@code out}. */
    public Summary runDirectory(Path dir, PrintStream out) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        }
        List<CaseResult> results = new ArrayList<>();
        for (Path p : files) {
            CaseResult r = runCase(p);
            results.add(r);
            if (!r.passed() && out != null) {
                out.println("FAIL " + r.name() + ": " + r.mismatch());
            }
        }
        Summary s = new Summary(results);
        if (out != null) {
            out.println(s.passed() + " passed, " + s.failed() + " failed");
        }
        return s;
    }

    public CaseResult runCase(Path file) {
        String name = file.getFileName().toString().replaceFirst("\\.safetensors$", "");
        try {
            SafeTensorsFile f = SafeTensors.read(file);
            Checker c = new Checker();
            run(f, c);
            if (c.compared == 0) {
                return new CaseResult(name, "nothing compared (no expected.* tensors recognised)", 0);
            }
            return new CaseResult(name, c.firstMismatch, c.compared);
        } catch (RuntimeException | IOException e) {
            return new CaseResult(name, "error: " + e, 0);
        }
    }

    private void run(SafeTensorsFile f, Checker c) throws IOException {
        String type = f.metadata("class");
        Map<String, Object> kwargs = JSON.readValue(f.metadata("kwargs"), new TypeReference<Map<String, Object>>() {});
        Map<String, Object> call = f.metadata("call") == null ? Map.of()
                : JSON.readValue(f.metadata("call"), new TypeReference<Map<String, Object>>() {});
        Mode mode = "train".equals(f.metadata("mode")) ? Mode.TRAIN : Mode.EVAL;
        Quantizer q = Quantizers.create(type, kwargs);

        ForwardOptions.Builder ob = ForwardOptions.builder()
                .mode(mode)
                .backend(backend)
                .trace(true)
                .random(RandomSource.seeded(0).withFirstRowsKmeans());
        if (call.get("inv_temperature") instanceof Number t) {
            ob.invTemperature(t.doubleValue());
        }
        if (call.get("sample_codebook_temp") instanceof Number t) {
            ob.sampleCodebookTemp(t.doubleValue());
        }
        if (call.get("topk") instanceof Number t) {
            ob.topk(t.intValue());
        }
        List<Object> stepModes = f.metadata("step_modes") == null ? null
                : JSON.readValue(f.metadata("step_modes"), new TypeReference<List<Object>>() {});
        String method = f.metadata("method");

        String steps = f.metadata("steps");
        if (steps == null) {
            Params p = GoldenParams.build(q, f, "init.");
            q.validate(p);
            QuantizerOutput out = q.forward(p, f.floatTensor("input"), stepOptions(ob, f, call, "input", 0));
            compareAll(f, "expected.", q, p, out, c, null);
        } else {
            Params p = GoldenParams.build(q, f, "init.");
            q.validate(p);
            int n = Integer.parseInt(steps);
            for (int k = 0; k < n; k++) {
                String sp = "step" + k + ".";
                if (GoldenParams.hasState(f, sp + "init.")) {
                    Params reset = GoldenParams.build(q, f, sp + "init.");
                    for (String nm : reset.names()) {
                        if (f.contains(sp + "init." + nm.replaceAll(".*\\.", ""))) {
                            p.put(nm, reset.get(nm));
                        }
                    }
                }
                if (stepModes != null) {
                    ob.mode("train".equals(stepModes.get(k)) ? Mode.TRAIN : Mode.EVAL);
                }
                ForwardOptions opts = stepOptions(ob, f, call, sp + "input", k);
                QuantizerOutput out;
                if ("update_indices".equals(method)) {
                    if (!(q instanceof VectorQuantize vq)) {
                        throw new IllegalArgumentException("update_indices on " + type);
                    }
                    out = vq.updateIndices(p, f.floatTensor(sp + "input"), f.longTensor(sp + "input.indices"), opts);
                } else if (method != null) {
                    throw new IllegalArgumentException("unknown method " + method);
                } else {
                    out = q.forward(p, f.floatTensor(sp + "input"), opts);
                }
                compareAll(f, sp + "expected.", q, p, out, c, sp);
                if (c.firstMismatch != null) {
                    return;
                }
            }
        }
    }

    /**
     * The options of one call: per-step call values (a JSON list holds one per step) and the
     * tensors passed as keyword arguments ({@code <input>.mask}, {@code .lens},
     * {@code .ema_update_weight}).
     */
    private static ForwardOptions stepOptions(ForwardOptions.Builder ob, SafeTensorsFile f, Map<String, Object> call,
                                              String input, int step) {
        ForwardOptions.Builder b = ob.build().toBuilder();
        Object accum = call.get("accum_ema_update");
        if (accum instanceof List<?> l) {
            accum = l.get(step);
        }
        b.accumEmaUpdate(Boolean.TRUE.equals(accum));
        if (f.contains(input + ".mask")) {
            long[] m = f.longTensor(input + ".mask").data();
            boolean[] mask = new boolean[m.length];
            for (int i = 0; i < m.length; i++) {
                mask[i] = m[i] != 0;
            }
            b.mask(mask);
        } else if (f.contains(input + ".lens")) {
            long[] lens = f.longTensor(input + ".lens").data();
            int seq = f.floatTensor(input).dim(1);
            boolean[] mask = new boolean[lens.length * seq];
            for (int i = 0; i < lens.length; i++) {
                for (int t = 0; t < seq; t++) {
                    mask[i * seq + t] = t < lens[i];
                }
            }
            b.mask(mask);
        } else {
            b.mask(null);
        }
        b.emaUpdateWeight(f.contains(input + ".ema_update_weight") ? f.floatTensor(input + ".ema_update_weight").data() : null);
        return b.build();
    }

    private void compareAll(SafeTensorsFile f, String prefix, Quantizer q, Params p, QuantizerOutput out, Checker c, String stepPrefix) {
        LongTensor expired = f.contains(prefix + "expired") ? f.longTensor(prefix + "expired") : null;
        for (String name : f.names()) {
            if (!name.startsWith(prefix) || c.firstMismatch != null) {
                continue;
            }
            String key = name.substring(prefix.length());
            boolean integer = !f.entry(name).dtype().isFloating();
            if (integer) {
                LongTensor got = switch (key) {
                    case "level_indices_from_indices" -> q instanceof FSP fsp
                            ? fsp.levelIndicesFromIndices(f.longTensor(prefix + "indices")) : null;
                    case "indices_from_level_indices" -> q instanceof FSP fsp
                            ? fsp.indicesFromLevelIndices(f.longTensor(prefix + "level_indices")) : null;
                    default -> out.longOrNull(key);
                };
                c.compareLong(name, f.longTensor(name), got);
                continue;
            }
            Tensor expected = f.floatTensor(name);
            Tensor got = switch (key) {
                case "codes_from_indices" -> q.codesFromIndices(p, f.longTensor(prefix + "indices"));
                case "output_from_indices" -> q.outputFromIndices(p, f.longTensor(prefix + "indices"));
                case "codes_from_all_indices", "implicit_codebook", "codebook", "codebooks" -> q instanceof ImplicitCodebook ic ? ic.implicitCodebook(p) : null;
                default -> out.floatOrNull(key);
            };
            if (expired != null && (key.equals("embed") || key.equals("embed_avg") || key.equals("cluster_size"))) {
                c.compareExpiredRows(name, key, expected, got, expired, f.floatTensor(stepPrefix + "info.batch_samples"),
                        thresholdOf(f));
            } else {
                c.compareFloat(name, expected, got);
            }
        }
    }

    private static float thresholdOf(SafeTensorsFile f) {
        try {
            Map<String, Object> kw = JSON.readValue(f.metadata("kwargs"), new TypeReference<Map<String, Object>>() {});
            Object reset = kw.get("reset_cluster_size");
            Object thr = reset != null ? reset : kw.get("threshold_ema_dead_code");
            return ((Number) thr).floatValue();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Records the first mismatch with tensor, index, expected and got. */
    static final class Checker {
        String firstMismatch;
        int compared;

        static boolean close(float expected, float got) {
            if (Float.isNaN(expected) || Float.isNaN(got)) {
                return Float.isNaN(expected) && Float.isNaN(got);
            }
            return Math.abs((double) got - expected) <= ATOL + RTOL * Math.abs((double) expected);
        }

        void fail(String msg) {
            if (firstMismatch == null) {
                firstMismatch = msg;
            }
        }

        void compareFloat(String name, Tensor expected, Tensor got) {
            compared++;
            if (got == null) {
                fail(name + ": not produced");
                return;
            }
            if (!Arrays.equals(expected.shape(), got.shape())) {
                fail(name + ": shape expected " + Shapes.str(expected.shape()) + ", got " + Shapes.str(got.shape()));
                return;
            }
            float[] e = expected.data();
            float[] g = got.data();
            for (int i = 0; i < e.length; i++) {
                if (!close(e[i], g[i])) {
                    fail(name + " at " + Shapes.unravel(expected.shape(), i) + ": expected " + e[i] + ", got " + g[i]);
                    return;
                }
            }
        }

        void compareLong(String name, LongTensor expected, LongTensor got) {
            compared++;
            if (got == null) {
                fail(name + ": not produced");
                return;
            }
            if (!Arrays.equals(expected.shape(), got.shape())) {
                fail(name + ": shape expected " + Shapes.str(expected.shape()) + ", got " + Shapes.str(got.shape()));
                return;
            }
            long[] e = expected.data();
            long[] g = got.data();
            for (int i = 0; i < e.length; i++) {
                if (e[i] != g[i]) {
                    fail(name + " at " + Shapes.unravel(expected.shape(), i) + ": expected " + e[i] + ", got " + g[i]);
                    return;
                }
            }
        }

        /**
         * Dead-code replacement: rows of expired codes are random batch rows, so they are checked
         * by rule (the row is some row of the batch, distinct when the batch has enough rows,
         * cluster size = threshold, embed_avg = row · threshold); all other rows exactly.
         */
        void compareExpiredRows(String name, String key, Tensor expected, Tensor got, LongTensor expired, Tensor samples, float threshold) {
            compared++;
            if (got == null) {
                fail(name + ": not produced");
                return;
            }
            if (!Arrays.equals(expected.shape(), got.shape())) {
                fail(name + ": shape expected " + Shapes.str(expected.shape()) + ", got " + Shapes.str(got.shape()));
                return;
            }
            int h = expired.dim(0);
            int codes = expired.dim(1);
            int d = key.equals("cluster_size") ? 1 : expected.dim(-1);
            int rows = samples.dim(1);
            int sd = samples.dim(2);
            float[] e = expected.data();
            float[] g = got.data();
            for (int hh = 0; hh < h; hh++) {
                List<Integer> used = new ArrayList<>();
                int expiredCount = 0;
                for (int j = 0; j < codes; j++) {
                    if (expired.data()[hh * codes + j] != 0) {
                        expiredCount++;
                    }
                }
                for (int j = 0; j < codes; j++) {
                    int off = (hh * codes + j) * d;
                    boolean isExpired = expired.data()[hh * codes + j] != 0;
                    if (!isExpired) {
                        for (int i = 0; i < d; i++) {
                            if (!close(e[off + i], g[off + i])) {
                                fail(name + " at " + Shapes.unravel(expected.shape(), off + i) + ": expected " + e[off + i] + ", got " + g[off + i]);
                                return;
                            }
                        }
                        continue;
                    }
                    if (key.equals("cluster_size")) {
                        if (!close(threshold, g[off])) {
                            fail(name + " at [" + hh + ", " + j + "] (expired): expected " + threshold + ", got " + g[off]);
                            return;
                        }
                        continue;
                    }
                    float scale = key.equals("embed_avg") ? threshold : 1f;
                    int match = -1;
                    for (int r = 0; r < rows && match < 0; r++) {
                        boolean all = true;
                        for (int i = 0; i < sd && all; i++) {
                            all = close(samples.data()[(hh * rows + r) * sd + i] * scale, g[off + i]);
                        }
                        if (all) {
                            match = r;
                        }
                    }
                    if (match < 0) {
                        fail(name + " row [" + hh + ", " + j + "] (expired) is not a batch row" + (scale != 1f ? " × threshold" : ""));
                        return;
                    }
                    if (rows >= expiredCount && used.contains(match)) {
                        fail(name + " row [" + hh + ", " + j + "] (expired) repeats batch row " + match);
                        return;
                    }
                    used.add(match);
                }
            }
        }
    }
}
