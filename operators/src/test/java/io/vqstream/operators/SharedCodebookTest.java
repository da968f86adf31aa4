package io.vqstream.operators;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.quantize.Params;
import io.vqstream.core.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The shared codebook's state bytes: written in bulk, the same bytes as one writeFloat per value. */
class SharedCodebookTest {
    @Test
    void bulkBytesEqualTheFormatWrittenValueByValue() throws Exception {
        SplittableRandom rnd = new SplittableRandom(3);
        float[] embed = new float[5 * 7];
        for (int i = 0; i < embed.length; i++) {
            embed[i] = (float) rnd.nextGaussian() * 1e3f;
        }
        embed[3] = -0.0f;
        embed[4] = Float.MIN_VALUE;
        Params p = new Params().put("b.cluster_size", new Tensor(new float[] {1, 2, 3, 4, 5}, 5)).put("a.embed", new Tensor(embed, 5, 7));
        SharedCodebook c = new SharedCodebook(4, 9, 11, p);

        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(expected)) {
            out.writeInt(1);
            out.writeLong(4);
            out.writeLong(9);
            out.writeLong(11);
            out.writeInt(2);
            for (String name : new String[] {"a.embed", "b.cluster_size"}) {
                Tensor t = p.get(name);
                out.writeUTF(name);
                out.writeInt(t.shape().length);
                for (int d : t.shape()) {
                    out.writeInt(d);
                }
                out.writeInt(t.size());
                for (float v : t.data()) {
                    out.writeFloat(v);
                }
            }
        }
        assertArrayEquals(expected.toByteArray(), c.toBytes());
        SharedCodebook back = SharedCodebook.fromBytes(c.toBytes());
        assertEquals(4, back.version());
        assertEquals(11, back.round());
        assertTrue(back.params().bitEquals(p));
    }
}
