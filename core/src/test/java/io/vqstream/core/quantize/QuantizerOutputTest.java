package io.vqstream.core.quantize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The typed output names hold the kind of tensor they name, also when put by their reference name. */
class QuantizerOutputTest {
    @Test
    void typedNamesHoldTheirKind() {
        QuantizerOutput out = new QuantizerOutput();
        assertThrows(IllegalArgumentException.class, () -> out.put(QuantizerOutput.Name.INDICES, new Tensor(new float[] {1}, 1)));
        assertThrows(IllegalArgumentException.class, () -> out.put("indices", new Tensor(new float[] {1}, 1)), "by name too");
        assertThrows(IllegalArgumentException.class, () -> out.put(QuantizerOutput.Name.QUANTIZED, new LongTensor(new long[] {1}, 1)));
        assertThrows(IllegalArgumentException.class, () -> out.get(QuantizerOutput.Name.INDICES));
        assertThrows(IllegalArgumentException.class, () -> out.getLong(QuantizerOutput.Name.LOSS));

        LongTensor idx = new LongTensor(new long[] {3, 4}, 2);
        out.put("indices", idx).putScalar(QuantizerOutput.Name.LOSS, 0.5f).put("kmeans.means", new Tensor(new float[] {1, 2}, 2));
        assertSame(idx, out.indices());
        assertSame(idx, out.longs().get("indices"), "stored under the reference's name");
        assertEquals(0.5f, out.totalLoss());
        assertEquals(2, out.floatOrNull("kmeans.means").size(), "intermediate states keep their names");
        assertNull(out.allCodes());
        assertEquals(0, out.deadCodesReplaced(), "absent counts as none");
        out.putScalar(QuantizerOutput.Name.DEAD_CODES_REPLACED, 3);
        assertEquals(3, out.deadCodesReplaced());
        assertEquals(QuantizerOutput.Name.COMMIT_LOSS, QuantizerOutput.Name.ofKey("commit_loss"));
        assertNull(QuantizerOutput.Name.ofKey("kmeans.means"));
    }
}
