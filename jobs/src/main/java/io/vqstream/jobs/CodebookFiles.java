package io.vqstream.jobs;

import io.vqstream.core.io.Npy;
import io.vqstream.core.io.QuantizerFiles;
import io.vqstream.core.io.TensorFormatException;
import io.vqstream.core.quantize.ParamSpec;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a quantizer's starting parameters from a file: {@code .safetensors} with the
 * reference's state_dict names, or {@code .npy} holding only the codebook(s).
 */
final class CodebookFiles {
    private CodebookFiles() {}

    static Params load(Quantizer q, Path file, long seed) {
        String name = file.getFileName().toString().toLowerCase();
        if (name.endsWith(".npy")) {
            return fromNpy(q, file, seed);
        }
        return QuantizerFiles.load(q, file);
    }

    /**
     * An .npy codebook: every {@code *_codebook.embed} of the quantizer, stacked in state_dict
     * order, must add up to the array's size (e.g. (c, d) for VectorQuantize, (q, c, d) for
     * ResidualVQ). Other parameters (projections) start from the reference init with {@code seed}.
     */
    static Params fromNpy(Quantizer q, Path file, long seed) {
        Tensor arr = Npy.read(file).asFloat();
        Params p = q.initParams(seed);
        List<ParamSpec> embeds = new ArrayList<>();
        long total = 0;
        for (ParamSpec s : q.parameterSpecs()) {
            if (s.name().endsWith("_codebook.embed")) {
                embeds.add(s);
                total += Shapes.numel(s.shape());
            }
        }
        if (embeds.isEmpty()) {
            throw new TensorFormatException(file + ": " + q.type() + " has no codebook to load from an .npy file; use .safetensors");
        }
        if (total != arr.size()) {
            List<String> want = embeds.stream().map(s -> s.name() + Shapes.str(s.shape())).toList();
            throw new TensorFormatException(file + ": array of shape " + Shapes.str(arr.shape()) + " does not fit the codebooks "
                    + String.join(", ", want));
        }
        int off = 0;
        Params given = new Params();
        for (ParamSpec s : q.parameterSpecs()) {
            if (s.name().endsWith("_codebook.embed")) {
                int n = (int) Shapes.numel(s.shape());
                float[] d = new float[n];
                System.arraycopy(arr.data(), off, d, 0, n);
                off += n;
                given.put(s.name(), new Tensor(d, s.shape()));
            } else if (s.kind() == ParamSpec.Kind.PARAMETER) {
                given.put(s.name(), p.get(s.name()));
            }
        }
        return QuantizerFiles.complete(q, given, file.toString(), "");
    }
}
