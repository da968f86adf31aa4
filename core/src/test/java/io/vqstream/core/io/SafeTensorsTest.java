package io.vqstream.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** safetensors reading and writing, including the ways a file can be broken. */
class SafeTensorsTest {

    private static byte[] fileWithHeader(String json, byte[] data) {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }

    @Test
    void roundTripsEveryDtypeWithMetadata(@TempDir Path dir) throws Exception {
        Tensor f = new Tensor(new float[] {1.5f, -2.25f, 3e-3f, 0f, -0f, 65504f}, 2, 3);
        LongTensor l = new LongTensor(new long[] {-1, 0, 1L << 40}, 3);
        Path p = dir.resolve("t.safetensors");
        SafeTensors.writer().metadata("name", "x").put("f32", f).put("f16", f, DType.F16).put("bf16", f, DType.BF16)
                .put("i64", l).put("i32", new LongTensor(new long[] {7, -7}, 2), DType.I32).write(p);
        SafeTensorsFile r = SafeTensors.read(p);
        assertEquals("x", r.metadata("name"));
        assertArrayEquals(f.data(), r.floatTensor("f32").data());
        assertArrayEquals(new int[] {2, 3}, r.shape("f32"));
        // these values are exact in half and bfloat16 except 3e-3 and 65504 in bf16
        float[] h = r.floatTensor("f16").data();
        assertEquals(1.5f, h[0]);
        assertEquals(-2.25f, h[1]);
        assertEquals(65504f, h[5]);
        assertEquals(3e-3f, h[2], 1e-6f);
        float[] b = r.floatTensor("bf16").data();
        assertEquals(-2.25f, b[1]);
        assertEquals(65536f, b[5], "65504 rounds to the nearest bfloat16, 65536");
        assertArrayEquals(l.data(), r.longTensor("i64").data());
        assertArrayEquals(new long[] {7, -7}, r.longTensor("i32").data());
        // the header is padded to a multiple of 8 as the format requires
        long headerLen = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, headerLen % 8);
    }

    @Test
    void halfFloatConversionsAreExactOnRepresentableValuesAndRoundToNearestEven() {
        for (float v : new float[] {0f, 1f, -1f, 0.5f, 2048f, 6.1035156e-5f, 5.9604645e-8f, Float.POSITIVE_INFINITY}) {
            assertEquals(v, HalfFloats.f16ToFloat(HalfFloats.floatToF16(v)), "f16 " + v);
        }
        // 1 + 2^-11 lies exactly between 1 and 1 + 2^-10: ties to even gives 1
        assertEquals(1f, HalfFloats.f16ToFloat(HalfFloats.floatToF16(1f + 0x1p-11f)));
        assertEquals(1f + 0x1p-9f, HalfFloats.f16ToFloat(HalfFloats.floatToF16(1f + 0x1p-9f + 0x1p-11f)), "tie rounds up to even");
        assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.NaN))));
        assertEquals(1f, HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(1f + 0x1p-8f)), "bf16 tie to even");
    }

    @Test
    void rejectsAbsurdHeaderSizes() {
        byte[] b = new byte[16];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
        TensorFormatException e = assertThrows(TensorFormatException.class, () -> SafeTensors.read(b, "huge.safetensors"));
        assertTrue(e.getMessage().contains("absurd header size"), e.getMessage());
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -5);
        assertThrows(TensorFormatException.class, () -> SafeTensors.read(b, "negative"));
    }

    @Test
    void rejectsTruncatedFilesNamingTheTensor() {
        byte[] ok = fileWithHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", new byte[16]);
        SafeTensors.read(ok, "ok");
        byte[] cut = Arrays.copyOf(ok, ok.length - 4);
        TensorFormatException e = assertThrows(TensorFormatException.class, () -> SafeTensors.read(cut, "cut.safetensors"));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("truncated"), e.getMessage());
        TensorFormatException tiny = assertThrows(TensorFormatException.class, () -> SafeTensors.read(new byte[5], "tiny"));
        assertTrue(tiny.getMessage().contains("truncated"));
        byte[] headerCut = Arrays.copyOf(ok, 20);
        assertThrows(TensorFormatException.class, () -> SafeTensors.read(headerCut, "header-cut"));
    }

    @Test
    void rejectsInconsistentEntries() {
        String[] bad = {
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}",
            "{\"w\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}",
            "[1,2,3]",
            "{not json",
        };
        for (String h : bad) {
            TensorFormatException e = assertThrows(TensorFormatException.class, () -> SafeTensors.read(fileWithHeader(h, new byte[16]), "f"),
                    h);
            assertTrue(e.getMessage().startsWith("f: "), e.getMessage());
        }
    }

    @Test
    void rejectsOverlappingTensorsAndDuplicateNames() {
        TensorFormatException overlap = assertThrows(TensorFormatException.class, () -> SafeTensors.read(fileWithHeader(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[16]), "f"));
        assertEquals("f: tensors 'a' [0, 8) and 'b' [4, 12) overlap", overlap.getMessage());
        TensorFormatException dup = assertThrows(TensorFormatException.class, () -> SafeTensors.read(fileWithHeader(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                        + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[16]), "f"));
        assertTrue(dup.getMessage().startsWith("f: header is not valid JSON: Duplicate field 'a'"), dup.getMessage());
        // adjacent and empty tensors are fine
        SafeTensors.read(fileWithHeader("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[2,2]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]), "f");
    }

    @Test
    void anInstallWithATensorTheQuantizerDoesNotHaveIsRefused() {
        io.vqstream.core.quantize.Quantizer q = io.vqstream.core.quantize.Quantizers.create("VectorQuantize",
                java.util.Map.of("dim", 4, "codebook_size", 8));
        io.vqstream.core.quantize.Params p = new io.vqstream.core.quantize.Params().put("_codebook.embed", q.initParams(1).get("_codebook.embed"));
        QuantizerFiles.completeExact(q, p, "control message");
        p.put("_codebook.embedd", q.initParams(1).get("_codebook.embed"));
        TensorFormatException e = assertThrows(TensorFormatException.class, () -> QuantizerFiles.completeExact(q, p, "control message"));
        assertTrue(e.getMessage().startsWith("control message: unknown tensor _codebook.embedd for VectorQuantize"), e.getMessage());
    }

    @Test
    void wrongDtypeForTheRequestNamesTheTensor() {
        byte[] f = SafeTensors.writer().put("idx", new LongTensor(new long[] {1, 2}, 2)).toBytes();
        TensorFormatException e = assertThrows(TensorFormatException.class, () -> SafeTensors.read(f, "m").floatTensor("idx"));
        assertTrue(e.getMessage().contains("'idx'") && e.getMessage().contains("I64"), e.getMessage());
        TensorFormatException missing = assertThrows(TensorFormatException.class, () -> SafeTensors.read(f, "m").floatTensor("nope"));
        assertTrue(missing.getMessage().contains("'nope'"));
    }

    /** The dict padded with spaces so that magic + length + header is a multiple of 64, newline-terminated. */
    private static String npyHeader(String dict) {
        int total = 10 + dict.length() + 1;
        return dict + " ".repeat((64 - total % 64) % 64) + "\n";
    }

    @Test
    void npyRoundTripsAndReadsFortranOrderAndBigEndian(@TempDir Path dir) throws Exception {
        Tensor t = new Tensor(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Path p = dir.resolve("a.npy");
        Npy.write(p, t);
        Npy.Array a = Npy.read(p);
        assertEquals(DType.F32, a.dtype());
        assertArrayEquals(t.data(), a.asFloat().data());
        assertArrayEquals(new int[] {2, 3}, a.asFloat().shape());
        Path l = dir.resolve("l.npy");
        Npy.write(l, new LongTensor(new long[] {3, -4}, 2));
        assertArrayEquals(new long[] {3, -4}, Npy.read(l).asLong().data());

        // a Fortran-ordered (2, 3) big-endian float64 array holding [[1,2,3],[4,5,6]] stores 1,4,2,5,3,6
        String dict = "{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }";
        String header = npyHeader(dict);
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + 48);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).order(ByteOrder.LITTLE_ENDIAN).putShort((short) header.length());
        b.put(header.getBytes(StandardCharsets.ISO_8859_1)).order(ByteOrder.BIG_ENDIAN);
        for (double v : new double[] {1, 4, 2, 5, 3, 6}) {
            b.putDouble(v);
        }
        Tensor f = Npy.read(b.array(), "f.npy").asFloat();
        assertArrayEquals(new int[] {2, 3}, f.shape());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, f.data());
    }

    @Test
    void npyRejectsBadFiles() {
        assertThrows(TensorFormatException.class, () -> Npy.read(new byte[] {1, 2, 3}, "x"));
        assertThrows(TensorFormatException.class, () -> Npy.read("not a numpy file at all".getBytes(), "x"));
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (100,), }";
        String header = npyHeader(dict);
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + 8).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
        b.put(header.getBytes(StandardCharsets.ISO_8859_1));
        TensorFormatException e = assertThrows(TensorFormatException.class, () -> Npy.read(b.array(), "short.npy"));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }
}
