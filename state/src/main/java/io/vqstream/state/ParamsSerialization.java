package io.vqstream.state;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.tensor.Tensor;
import java.io.IOException;
import java.util.Map;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/** Binary form of a {@link Params} map, shared by state and records: count, then named tensors. */
@Internal
public final class ParamsSerialization {
    private ParamsSerialization() {}

    /** Writes {@code p}; null is written as count −1. */
    public static void write(Params p, DataOutputView out) throws IOException {
        if (p == null) {
            out.writeInt(-1);
            return;
        }
        Map<String, Tensor> m = p.asMap();
        out.writeInt(m.size());
        for (Map.Entry<String, Tensor> e : m.entrySet()) {
            CodebookStateSerializer.writeTensor(e.getKey(), e.getValue(), out);
        }
    }

    public static Params read(DataInputView in) throws IOException {
        int count = in.readInt();
        if (count < 0) {
            return null;
        }
        if (count > 1 << 16) {
            throw new IOException("corrupt parameter block: " + count + " tensors");
        }
        Params p = new Params();
        for (int i = 0; i < count; i++) {
            String name = in.readUTF();
            p.put(name, CodebookStateSerializer.readTensor(in, name));
        }
        return p;
    }
}
