package io.vqstream.connectors.serde;

import io.vqstream.core.io.DType;
import io.vqstream.core.io.SafeTensors;
import io.vqstream.core.io.SafeTensorsFile;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;

/** Parameter sets as safetensors payloads, by state_dict name. */
final class SafeTensorsPayloads {
    private SafeTensorsPayloads() {}

    /** Every tensor as F32, except {@code *_codebook.initted} flags as BOOL (the reference's dtype). */
    static void putParams(SafeTensors.Writer w, Params params) {
        for (String name : params.names()) {
            Tensor t = params.get(name);
            if (name.endsWith("_codebook.initted")) {
                long[] flags = new long[t.size()];
                for (int i = 0; i < flags.length; i++) {
                    flags[i] = t.data()[i] != 0f ? 1 : 0;
                }
                w.put(name, new LongTensor(flags, t.shape()), DType.BOOL);
            } else {
                w.put(name, t);
            }
        }
    }

    /** Every tensor widened to float32, in file order. */
    static Params params(SafeTensorsFile f) {
        Params p = new Params();
        for (String name : f.names()) {
            p.put(name, f.anyAsFloat(name));
        }
        return p;
    }

    static String required(SafeTensorsFile f, String name) {
        String v = f.metadata(name);
        if (v == null) {
            throw new MalformedPayloadException("metadata '" + name + "' is missing");
        }
        return v;
    }

    static long longMeta(SafeTensorsFile f, String name) {
        String v = required(f, name);
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new MalformedPayloadException("metadata '" + name + "' is \"" + StrictJson.clip(v) + "\", expected a decimal integer");
        }
    }
}
