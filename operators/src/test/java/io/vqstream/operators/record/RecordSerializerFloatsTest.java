package io.vqstream.operators.record;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.util.SplittableRandom;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** Float arrays in records: the bytes of the format (the length, then each float as DataOutput.writeFloat writes it), and back. */
class RecordSerializerFloatsTest {
    /** The format, element by element, as DataOutput writes it. */
    private static byte[] elementwise(float[] a) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(64);
        out.writeInt(a.length);
        for (float v : a) {
            out.writeFloat(v);
        }
        return out.getCopyOfBuffer();
    }

    @Test
    void theBytesAreTheFormatsAndReadBack() throws Exception {
        SplittableRandom rnd = new SplittableRandom(5);
        for (int n : new int[] {0, 1, 7, 128, 4095, 4096, 4097, 10_000}) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) {
                a[i] = (float) rnd.nextGaussian();
            }
            if (n > 4) {
                a[0] = Float.intBitsToFloat(0x7fc00123); // a NaN with a payload: written canonical, as writeFloat does
                a[1] = -0f;
                a[2] = Float.NEGATIVE_INFINITY;
                a[3] = Float.MIN_VALUE;
                a[n - 1] = Float.intBitsToFloat(0xffc00001);
            }
            DataOutputSerializer out = new DataOutputSerializer(64);
            RecordSerializer.writeFloats(a, out);
            byte[] bytes = out.getCopyOfBuffer();
            assertArrayEquals(elementwise(a), bytes, "n = " + n);
            float[] back = RecordSerializer.readFloats(new DataInputDeserializer(bytes), 1 << 20);
            assertEquals(n, back.length);
            for (int i = 0; i < n; i++) {
                // bit for bit, except NaNs, which come back as the canonical NaN they were written as
                assertEquals(Float.floatToIntBits(a[i]), Float.floatToRawIntBits(back[i]), "n = " + n + ", element " + i);
            }
        }
    }

    @Test
    void nullAndCorruptLengths() throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(8);
        RecordSerializer.writeFloats(null, out);
        assertNull(RecordSerializer.readFloats(new DataInputDeserializer(out.getCopyOfBuffer()), 10));
        DataOutputSerializer big = new DataOutputSerializer(8);
        big.writeInt(11);
        assertThrows(IOException.class, () -> RecordSerializer.readFloats(new DataInputDeserializer(big.getCopyOfBuffer()), 10));
        // a length the stream does not hold: an end-of-stream error, not garbage
        DataOutputSerializer cut = new DataOutputSerializer(8);
        cut.writeInt(5);
        cut.writeFloat(1f);
        assertThrows(java.io.EOFException.class, () -> RecordSerializer.readFloats(new DataInputDeserializer(cut.getCopyOfBuffer()), 10));
    }
}
