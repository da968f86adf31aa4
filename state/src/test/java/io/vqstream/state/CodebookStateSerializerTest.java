package io.vqstream.state;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.quantize.Params;
import io.vqstream.core.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** Round trips, the checked-in format-1 snapshot, and corrupt input. */
class CodebookStateSerializerTest {
    private final CodebookStateSerializer serializer = new CodebookStateSerializer();

    private byte[] bytes(CodebookState s) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(256);
        serializer.serialize(s, out);
        return out.getCopyOfBuffer();
    }

    private CodebookState read(byte[] b) throws IOException {
        DataInputDeserializer in = new DataInputDeserializer(b);
        CodebookState s = serializer.deserialize(in);
        assertEquals(0, in.available(), "the whole record is consumed");
        return s;
    }

    private static void assertBitEqual(CodebookState expected, CodebookState got) {
        assertEquals(expected.version(), got.version());
        assertEquals(expected.step(), got.step());
        if (expected.params() == null) {
            assertNull(got.params(), "shared default stays null");
            return;
        }
        assertEquals(List.copyOf(expected.params().names()), List.copyOf(got.params().names()), "names in order");
        for (String n : expected.params().names()) {
            Tensor e = expected.params().get(n);
            Tensor g = got.params().get(n);
            assertArrayEquals(e.shape(), g.shape(), n);
            int[] eb = new int[e.size()];
            int[] gb = new int[g.size()];
            for (int i = 0; i < eb.length; i++) {
                eb[i] = Float.floatToRawIntBits(e.data()[i]);
                gb[i] = Float.floatToRawIntBits(g.data()[i]);
            }
            assertArrayEquals(eb, gb, n + " bit for bit");
        }
    }

    @Test
    void sharedDefaultRoundTrip() throws IOException {
        CodebookState s = new CodebookState(5, 2, null);
        byte[] b = bytes(s);
        assertEquals(8 + 8 + 4, b.length, "version, step, count −1");
        CodebookState back = read(b);
        assertTrue(back.usesSharedDefault());
        assertBitEqual(s, back);
        assertEquals(s, back);
    }

    @Test
    void ownParamsRoundTripBitForBitWithZeroDimFlag() throws IOException {
        CodebookState s = new CodebookState(7, 3, CodebookStateSamples.ownParams());
        CodebookState back = read(bytes(s));
        assertBitEqual(s, back);
        Tensor flag = back.params().get("_codebook.initted");
        assertEquals(0, flag.rank(), "the flag stays 0-d");
        assertEquals(1f, flag.item());
        assertTrue(Float.isNaN(back.params().get("project_in.weight").data()[2]));
        assertEquals(0x7fc01234, Float.floatToRawIntBits(back.params().get("project_in.weight").data()[2]), "NaN payload kept");
        assertEquals(s, back);
    }

    @Test
    void largeTensorRoundTripsAcrossReadChunks() throws IOException {
        // 3·70001 floats: more than one read chunk, and not a multiple of it
        Params p = new Params().put("_codebook.embed", CodebookStateSamples.tensor(11, 3, 70001));
        CodebookState s = new CodebookState(2, 1, p);
        CodebookState back = read(bytes(s));
        assertBitEqual(s, back);
        assertEquals(8 + 8 + 4 + (2 + "_codebook.embed".length()) + 4 + 2 * 4 + 3 * 70001 * 4, bytes(s).length);
    }

    @Test
    void copyIsDeep() {
        CodebookState s = new CodebookState(1, 0, CodebookStateSamples.ownParams());
        CodebookState c = serializer.copy(s);
        assertEquals(s, c);
        assertNotSame(s.params().get("_codebook.embed").data(), c.params().get("_codebook.embed").data());
        c.params().get("_codebook.embed").data()[0] = 42f;
        assertFalse(Float.floatToRawIntBits(s.params().get("_codebook.embed").data()[0]) == Float.floatToRawIntBits(42f));
        assertNull(serializer.copy(new CodebookState(1, 0, null)).params());
    }

    @Test
    void streamCopyReproducesTheBytes() throws IOException {
        byte[] b = bytes(new CodebookState(9, 4, CodebookStateSamples.ownParams()));
        DataOutputSerializer out = new DataOutputSerializer(64);
        serializer.copy(new DataInputDeserializer(b), out);
        assertArrayEquals(b, out.getCopyOfBuffer());
    }

    // ------------------------------------------------------------------ snapshots

    @Test
    void currentSnapshotRoundTripsAndIsCompatibleAsIs() throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, serializer.snapshotConfiguration());
        TypeSerializerSnapshot<CodebookState> back = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(out.getCopyOfBuffer()), getClass().getClassLoader());
        assertEquals(CodebookStateSerializer.CURRENT_VERSION, back.getCurrentVersion());
        assertTrue(serializer.snapshotConfiguration().resolveSchemaCompatibility(back).isCompatibleAsIs());
        assertEquals(serializer, back.restoreSerializer());
    }

    @Test
    void checkedInFormat1SnapshotRestoresWithTheCurrentCode() throws IOException {
        byte[] snapshotBytes = resource("codebook-state-serializer-1.0/serializer-snapshot");
        byte[] data = resource("codebook-state-serializer-1.0/test-data");
        TypeSerializerSnapshot<CodebookState> snapshot = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(snapshotBytes), getClass().getClassLoader());
        assertInstanceOf(CodebookStateSerializer.Snapshot.class, snapshot);
        assertEquals(1, snapshot.getCurrentVersion());

        TypeSerializerSchemaCompatibility<CodebookState> compat =
                new CodebookStateSerializer().snapshotConfiguration().resolveSchemaCompatibility(snapshot);
        assertTrue(compat.isCompatibleAsIs(), "format 1 must stay readable as is while it is the current format: " + compat);

        TypeSerializer<CodebookState> restored = snapshot.restoreSerializer();
        DataInputDeserializer in = new DataInputDeserializer(data);
        for (CodebookState expected : CodebookStateSamples.format1States()) {
            assertBitEqual(expected, restored.deserialize(in));
        }
        assertEquals(0, in.available(), "no trailing bytes: the samples are exactly what was written");
        // what the current serializer writes is still byte-identical to the checked-in format 1 data
        DataOutputSerializer out = new DataOutputSerializer(data.length);
        for (CodebookState s : CodebookStateSamples.format1States()) {
            serializer.serialize(s, out);
        }
        assertArrayEquals(data, out.getCopyOfBuffer());
    }

    @Test
    void snapshotOfAnUnknownFutureFormatIsRejectedClearly() throws IOException {
        int future = CodebookStateSerializer.CURRENT_VERSION + 1;
        // the versioned form by hand: the snapshot's class name, then a version this build does not know
        DataOutputSerializer out = new DataOutputSerializer(64);
        out.writeUTF(CodebookStateSerializer.Snapshot.class.getName());
        out.writeInt(future);
        IOException e = assertThrows(IOException.class, () -> TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(out.getCopyOfBuffer()), getClass().getClassLoader()));
        assertTrue(e.getMessage().contains("version " + future), e.getMessage());
    }

    private byte[] resource(String name) throws IOException {
        try (InputStream in = getClass().getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("missing test resource " + name);
            }
            return in.readAllBytes();
        }
    }

    // ------------------------------------------------------------------ corrupt input

    /** version, step, count 1, name "e", then the given tensor header ints. */
    private static byte[] header(int... rankAndDims) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(64);
        out.writeLong(1);
        out.writeLong(0);
        out.writeInt(1);
        out.writeUTF("e");
        for (int v : rankAndDims) {
            out.writeInt(v);
        }
        return out.getCopyOfBuffer();
    }

    private IOException corrupt(byte[] b) {
        return assertThrows(IOException.class, () -> serializer.deserialize(new DataInputDeserializer(b)));
    }

    @Test
    void absurdRankIsAnIOException() throws IOException {
        assertTrue(corrupt(header(1_000_000)).getMessage().contains("rank 1000000"));
        assertTrue(corrupt(header(-3)).getMessage().contains("rank -3"));
    }

    @Test
    void absurdSizeIsAnIOExceptionBeforeAnyAllocation() throws IOException {
        assertTrue(corrupt(header(2, 1 << 20, 1 << 20)).getMessage().contains("exceeds"));
        assertTrue(corrupt(header(2, 4, -1)).getMessage().contains("dimension -1"));
        // four dimensions of 2^16 multiply to 2^64, which wraps to 0 in a long: must not pass as an empty tensor
        assertTrue(corrupt(header(4, 1 << 16, 1 << 16, 1 << 16, 1 << 16)).getMessage().contains("exceeds"));
    }

    @Test
    void declaredSizeJustUnderTheLimitWithTruncatedDataFailsWithoutAllocatingIt() throws IOException {
        // claims 2^28 − 1 floats (1 GiB) but carries 100 bytes: reading must fail on the missing
        // bytes, not reserve the declared size first (the test JVM has a 2 GiB heap)
        byte[] h = header(1, CodebookStateSerializer.MAX_TENSOR_ELEMENTS - 1);
        byte[] b = Arrays.copyOf(h, h.length + 100);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        corrupt(b);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(allocated < 8L << 20, "a 100-byte corrupt block allocated " + allocated + " bytes");
    }

    @Test
    void absurdTensorCountIsAnIOException() throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(64);
        out.writeLong(1);
        out.writeLong(0);
        out.writeInt(Integer.MAX_VALUE);
        assertTrue(corrupt(out.getCopyOfBuffer()).getMessage().contains("tensors"));
    }

    @Test
    void everyTruncationIsAnIOException() throws IOException {
        byte[] b = bytes(new CodebookState(7, 3, CodebookStateSamples.ownParams()));
        for (int len = 0; len < b.length; len++) {
            byte[] cut = Arrays.copyOf(b, len);
            corrupt(cut);
        }
    }

    @Test
    void negativeVersionIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> new CodebookState(-1, 0, null));
    }
}
