package io.vqstream.operators;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vqstream.core.io.QuantizerFiles;
import io.vqstream.core.io.SafeTensorsFile;
import io.vqstream.core.quantize.ParamSpec;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the golden training chains for the VQ family: maps the plainly named {@code init.*}
 * tensors onto state_dict names (as the core conformance runner does) and stacks published
 * per-layer state back into the golden {@code (layers·heads, c, d)} layout.
 */
final class Goldens {
    private static final Pattern CODEBOOK = Pattern.compile("^(?:layers\\.(\\d+)\\.)?_codebook\\.(embed|embed_avg|cluster_size|initted)$");

    private Goldens() {}

    static Path dir() {
        return OperatorTestSupport.sharedDir().resolve("golden");
    }

    static Map<String, Object> kwargs(SafeTensorsFile f) {
        try {
            return new ObjectMapper().readValue(f.metadata("kwargs"), new TypeReference<Map<String, Object>>() {});
        } catch (IOException e) {
            throw new IllegalStateException(f.source() + ": bad kwargs", e);
        }
    }

    /** The parameters before step 0, by state_dict name (projections as named in the file, EMA state from {@code init.*}). */
    static Params initParams(Quantizer q, SafeTensorsFile f) {
        Params given = new Params();
        for (ParamSpec s : q.parameterSpecs()) {
            String name = s.name();
            if (f.contains(name)) {
                given.put(name, fit(f.anyAsFloat(name), s.shape(), -1));
                continue;
            }
            Matcher m = CODEBOOK.matcher(name);
            if (m.matches() && f.contains("init." + m.group(2))) {
                int layer = m.group(1) == null ? -1 : Integer.parseInt(m.group(1));
                given.put(name, fit(f.anyAsFloat("init." + m.group(2)), s.shape(), layer));
            }
        }
        // absent flags and buffers start as the reference starts them
        return QuantizerFiles.complete(q, given, f.source(), "");
    }

    private static Tensor fit(Tensor t, int[] shape, int layer) {
        if (t.size() == Shapes.numel(shape)) {
            return t.copy().reshape(shape);
        }
        if (layer >= 0) {
            return fit(t.select0(layer), shape, -1);
        }
        throw new IllegalArgumentException("cannot fit " + Shapes.str(t.shape()) + " into " + Shapes.str(shape));
    }

    /**
     * The EMA tensor {@code field} ({@code embed}, {@code embed_avg}, {@code cluster_size}) of
     * every layer, in layer order, concatenated: the data of the golden stacked tensor.
     */
    static float[] stacked(Params p, String field) {
        List<Tensor> parts = new ArrayList<>();
        for (int l = -1; ; l++) {
            String name = (l < 0 ? "" : "layers." + l + ".") + "_codebook." + field;
            if (p.has(name)) {
                parts.add(p.get(name));
            } else if (l >= 0) {
                break;
            }
        }
        int n = parts.stream().mapToInt(Tensor::size).sum();
        float[] out = new float[n];
        int off = 0;
        for (Tensor t : parts) {
            System.arraycopy(t.data(), 0, out, off, t.size());
            off += t.size();
        }
        return out;
    }
}
