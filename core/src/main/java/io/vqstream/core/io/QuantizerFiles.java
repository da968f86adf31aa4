package io.vqstream.core.io;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.quantize.ParamSpec;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Loads and saves a quantizer's parameters by the reference's state_dict names, so a model
 * trained with vector-quantize-pytorch and written with {@code safetensors.torch.save_file}
 * (or {@code save_model}) loads directly.
 *
 * <p>Rules when loading: every {@link ParamSpec.Kind#PARAMETER} and every codebook
 * ({@code *_codebook.embed}) must be present with its exact shape and a float dtype; the EMA
 * buffers may be absent and then start as the reference starts them ({@code embed_avg} =
 * {@code embed}, {@code cluster_size} = 1, {@code initted} = true). A name can be prefixed
 * (e.g. {@code model.quantizer.}) when the quantizer was a submodule.
 */
@Internal
public final class QuantizerFiles {
    private QuantizerFiles() {}

    public static Params load(Quantizer q, Path file) {
        return load(q, SafeTensors.read(file), "");
    }

    public static Params load(Quantizer q, SafeTensorsFile f, String prefix) {
        Params given = new Params();
        for (ParamSpec s : q.parameterSpecs()) {
            String name = findName(q, f, prefix, s.name());
            if (name == null) {
                continue;
            }
            SafeTensorsFile.Entry e = f.entry(name);
            if (s.kind() == ParamSpec.Kind.FLAG) {
                given.put(s.name(), f.anyAsFloat(name));
                continue;
            }
            if (!e.dtype().isFloating()) {
                throw new TensorFormatException(f.source() + ": tensor '" + name + "' has dtype " + e.dtype() + ", expected F32, F16, BF16 or F64");
            }
            given.put(s.name(), f.floatTensor(name));
        }
        return complete(q, given, f.source(), prefix);
    }

    /**
     * Checks a parameter set given by state_dict name (from a file or a control message): every
     * parameter and codebook present with its exact shape and finite values; absent EMA buffers
     * start as the reference starts them. Returns a new, complete {@link Params}.
     */
    /**
     * {@link #complete} for a parameter set that must hold nothing else (a control message): a
     * tensor the quantizer does not have (a misspelt name, another quantizer's state) is refused
     * instead of ignored.
     */
    public static Params completeExact(Quantizer q, Params given, String source) {
        java.util.Set<String> known = new java.util.HashSet<>();
        for (ParamSpec s : q.parameterSpecs()) {
            known.add(s.name());
        }
        List<String> unknown = new ArrayList<>();
        for (String n : given.names()) {
            if (!known.contains(n)) {
                unknown.add(n);
            }
        }
        if (!unknown.isEmpty()) {
            java.util.Collections.sort(unknown);
            throw new TensorFormatException(source + ": unknown tensor" + (unknown.size() > 1 ? "s " : " ") + String.join(", ", unknown)
                    + " for " + q.type() + " (expected " + String.join(", ", known.stream().sorted().toList()) + ")");
        }
        return complete(q, given, source, "");
    }

    public static Params complete(Quantizer q, Params given, String source, String prefix) {
        Params p = new Params();
        List<String> missing = new ArrayList<>();
        for (ParamSpec s : q.parameterSpecs()) {
            Tensor t = given.getOrNull(s.name());
            if (t == null) {
                Tensor derived = derivedDefault(s, given);
                if (derived == null) {
                    missing.add(prefix + s.name() + Shapes.str(s.shape()));
                } else {
                    p.put(s.name(), derived);
                }
                continue;
            }
            if (s.kind() == ParamSpec.Kind.FLAG) {
                if (t.size() != 1) {
                    throw new TensorFormatException(source + ": tensor '" + prefix + s.name() + "' must hold one value, has shape " + Shapes.str(t.shape()));
                }
                p.put(s.name(), Tensor.scalar(t.data()[0] != 0f ? 1f : 0f).reshape());
                continue;
            }
            if (!Arrays.equals(t.shape(), s.shape())) {
                throw new TensorFormatException(source + ": tensor '" + prefix + s.name() + "' has shape " + Shapes.str(t.shape())
                        + ", " + q.type() + " expects " + Shapes.str(s.shape()));
            }
            for (float v : t.data()) {
                if (!Float.isFinite(v)) {
                    throw new TensorFormatException(source + ": tensor '" + prefix + s.name() + "' holds " + v);
                }
            }
            p.put(s.name(), t.copy());
        }
        if (!missing.isEmpty()) {
            throw new TensorFormatException(source + ": missing tensor" + (missing.size() > 1 ? "s " : " ") + String.join(", ", missing)
                    + " for " + q.type());
        }
        q.validate(p);
        return p;
    }

    /** The file's name for a state_dict entry: exact, else an alias the quantizer declares. */
    private static String findName(Quantizer q, SafeTensorsFile f, String prefix, String name) {
        if (f.contains(prefix + name)) {
            return prefix + name;
        }
        for (String alias : q.parameterAliases(name)) {
            if (f.contains(prefix + alias)) {
                return prefix + alias;
            }
        }
        return null;
    }

    private static Tensor derivedDefault(ParamSpec s, Params given) {
        String n = s.name();
        if (n.endsWith("_codebook.embed_avg")) {
            Tensor embed = given.getOrNull(n.substring(0, n.length() - "_avg".length()));
            return embed == null ? null : embed.copy();
        }
        if (n.endsWith("_codebook.cluster_size")) {
            Tensor t = Tensor.zeros(s.shape());
            Arrays.fill(t.data(), 1f);
            return t;
        }
        if (n.endsWith("_codebook.initted")) {
            return Tensor.scalar(1f).reshape();
        }
        return null;
    }

    /** Writes every tensor of {@code params} under its state_dict name, with string metadata. */
    public static void save(Params params, Path file, Map<String, String> metadata) throws IOException {
        SafeTensors.Writer w = SafeTensors.writer().metadata("format", "pt");
        metadata.forEach(w::metadata);
        for (String name : params.names()) {
            Tensor t = params.get(name);
            if (name.endsWith("_codebook.initted")) {
                w.put(name, new LongTensor(new long[] {t.data()[0] != 0f ? 1 : 0}), DType.BOOL);
            } else {
                w.put(name, t);
            }
        }
        w.write(file);
    }
}
