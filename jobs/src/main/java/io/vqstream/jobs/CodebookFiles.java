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
        List<String> want = embeds.stream().map(s -> s.name() + Shapes.str(s.shape())).toList();
        int[] stacked = stackedShape(embeds);
        if (stacked == null) {
            throw new TensorFormatException(file + ": the codebooks " + String.join(", ", want)
                    + " differ in shape and cannot come from one .npy array; use .safetensors");
        }
        // every dimension must match (size-1 axes aside): a transposed (D, K) array has the right
        // number of elements but would give other codes
        if (total != arr.size() || !java.util.Arrays.equals(squeeze(stacked), squeeze(arr.shape()))) {
            throw new TensorFormatException(file + ": array of shape " + Shapes.str(arr.shape()) + " does not fit the codebooks "
                    + String.join(", ", want) + " (expected shape " + Shapes.str(squeeze(stacked)) + ", axes of size 1 optional)");
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

    /** {@code (n, ...shape)} of n codebooks of one shape; null when their shapes differ. */
    private static int[] stackedShape(List<ParamSpec> embeds) {
        int[] first = embeds.get(0).shape();
        for (ParamSpec s : embeds) {
            if (!java.util.Arrays.equals(first, s.shape())) {
                return null;
            }
        }
        int[] out = new int[first.length + 1];
        out[0] = embeds.size();
        System.arraycopy(first, 0, out, 1, first.length);
        return out;
    }

    private static int[] squeeze(int[] shape) {
        return java.util.Arrays.stream(shape).filter(d -> d != 1).toArray();
    }
}
