package io.vqstream.state;

import io.vqstream.core.quantize.Params;
import io.vqstream.core.tensor.Tensor;

/** Deterministic sample states, shared by the format-1 snapshot generator and the tests that read it back. */
final class CodebookStateSamples {
    private CodebookStateSamples() {}

    /** Values chosen to catch byte-order, sign and NaN-payload mistakes. */
    private static float value(int i) {
        return switch (i % 7) {
            case 0 -> -0.0f;
            case 1 -> Float.MIN_VALUE;
            case 2 -> Float.intBitsToFloat(0x7fc01234); // NaN with a payload
            case 3 -> -3.4e38f;
            default -> (i * 0.37f) - 5.5f;
        };
    }

    static Tensor tensor(int offset, int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        float[] data = new float[n];
        for (int i = 0; i < n; i++) {
            data[i] = value(offset + i);
        }
        return new Tensor(data, shape);
    }

    /** A VectorQuantize-like parameter set: projection, EMA buffers and a 0-d {@code initted} flag. */
    static Params ownParams() {
        Params p = new Params();
        p.put("project_in.weight", tensor(0, 4, 6));
        p.put("project_in.bias", tensor(100, 4));
        p.put("_codebook.initted", new Tensor(new float[] {1f}));
        p.put("_codebook.cluster_size", tensor(200, 2, 5));
        p.put("_codebook.embed_avg", tensor(300, 2, 5, 4));
        p.put("_codebook.embed", tensor(400, 2, 5, 4));
        return p;
    }

    /** The states serialized, in this order, into {@code codebook-state-serializer-1.0/test-data}. */
    static CodebookState[] format1States() {
        return new CodebookState[] {
            new CodebookState(7, 3, ownParams()),
            new CodebookState(1, 0, null),
            new CodebookState(Long.MAX_VALUE - 1, 123456789012L, new Params())
        };
    }
}
