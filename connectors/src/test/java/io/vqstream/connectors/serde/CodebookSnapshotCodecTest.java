package io.vqstream.connectors.serde;

import static io.vqstream.connectors.serde.DeadLetters.accepts;
import static io.vqstream.connectors.serde.DeadLetters.rejects;
import static io.vqstream.connectors.serde.DeadLetters.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vqstream.core.io.SafeTensors;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.DeadLetter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class CodebookSnapshotCodecTest {
    private static final CodebookSnapshotCodec CODEC = new CodebookSnapshotCodec();
    private static final String ARGS = "{\"dim\":2,\"codebook_size\":3}";

    static Params params() {
        return new Params()
                .put("_codebook.embed", new Tensor(new float[] {1f, 2f, 3f, 4f, 5.5f, -6f}, 1, 3, 2))
                .put("_codebook.initted", Tensor.scalar(1f).reshape())
                .put("_codebook.cluster_size", new Tensor(new float[] {0.5f, 1f, 2f}, 1, 3));
    }

    static final CodebookSnapshot SNAPSHOT = new CodebookSnapshot("k1", 3, 40, "VectorQuantize", ARGS, params());

    @Test
    void writesAStandardSafetensorsFileWithTheDocumentedMetadata() throws Exception {
        byte[] bytes = CODEC.value(SNAPSHOT);
        long headerLen = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, headerLen % 8);
        JsonNode header = new ObjectMapper().readTree(new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8));
        JsonNode meta = header.get("__metadata__");
        assertEquals("pt", meta.get("format").asText());
        assertEquals("k1", meta.get("key").asText());
        assertEquals("3", meta.get("version").asText());
        assertEquals("40", meta.get("step").asText());
        assertEquals("VectorQuantize", meta.get("quantizer_type").asText());
        assertEquals(ARGS, meta.get("quantizer_args").asText());
        assertEquals("F32", header.get("_codebook.embed").get("dtype").asText());
        assertEquals("[1,3,2]", header.get("_codebook.embed").get("shape").toString());
        assertEquals("BOOL", header.get("_codebook.initted").get("dtype").asText());
        assertEquals("[]", header.get("_codebook.initted").get("shape").toString());
        int dataStart = 8 + (int) headerLen;
        long embedBegin = header.get("_codebook.embed").get("data_offsets").get(0).asLong();
        assertEquals(5.5f, ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getFloat(dataStart + (int) embedBegin + 16));
        long flagAt = header.get("_codebook.initted").get("data_offsets").get(0).asLong();
        assertEquals(1, bytes[dataStart + (int) flagAt]);
        assertArrayEquals(utf8("k1"), CODEC.key(SNAPSHOT));
        assertEquals(6, SafeTensors.read(bytes, "t").floatTensor("_codebook.embed").size());
    }

    @Test
    void roundTripsBitForBit() {
        CodebookSnapshot back = accepts(CODEC, CODEC.value(SNAPSHOT), new Origin(utf8("k1"), 0, 0));
        assertEquals(SNAPSHOT, back);
        assertTrue(back.params().bitEquals(params()));
        assertEquals(Params.class, back.params().getClass());
    }

    @Test
    void tombstonesDecodeToNothing() {
        assertNull(CODEC.decode(null, new Origin(utf8("k1"), 5, 5)));
    }

    private static byte[] with(String key, String version, String step, String type, String args, boolean tensors) {
        SafeTensors.Writer w = SafeTensors.writer();
        if (key != null) {
            w.metadata("key", key);
        }
        if (version != null) {
            w.metadata("version", version);
        }
        if (step != null) {
            w.metadata("step", step);
        }
        if (type != null) {
            w.metadata("quantizer_type", type);
        }
        if (args != null) {
            w.metadata("quantizer_args", args);
        }
        if (tensors) {
            w.put("_codebook.embed", new Tensor(new float[] {1, 2}, 1, 1, 2));
        }
        return w.toBytes();
    }

    @Test
    void rejectsMalformedSnapshots() {
        accepts(CODEC, with("k", "1", "2", "VectorQuantize", "{}", true), Origin.NONE);
        rejects(CODEC, utf8("not a safetensors file"), "codebook snapshot: absurd header size");
        rejects(CODEC, new byte[] {16, 0, 0, 0, 0, 0, 0, 0, '{', '}'}, "codebook snapshot: truncated: header size 16 exceeds the 2 bytes");
        rejects(CODEC, with(null, "1", "2", "VQ", "{}", true), "metadata 'key' is missing");
        rejects(CODEC, with("", "1", "2", "VQ", "{}", true), "key is empty");
        rejects(CODEC, with("k", "v3", "2", "VQ", "{}", true), "metadata 'version' is \"v3\", expected a decimal integer");
        rejects(CODEC, with("k", "1", null, "VQ", "{}", true), "metadata 'step' is missing");
        rejects(CODEC, with("k", "1", "2", null, "{}", true), "metadata 'quantizer_type' is missing");
        rejects(CODEC, with("k", "1", "2", "VQ", "{\"dim\":", true), "metadata 'quantizer_args' is not valid JSON");
        rejects(CODEC, with("k", "1", "2", "VQ", "[1]", true), "metadata 'quantizer_args' is not a JSON object");
        CodebookSnapshot empty = accepts(CODEC, with("k", "1", "2", "FSQ", "{}", false), Origin.NONE);
        assertTrue(empty.params().names().isEmpty(), "a parameter-free quantizer has no tensors");
        byte[] nan = SafeTensors.writer().metadata("key", "k").metadata("version", "1").metadata("step", "1")
                .metadata("quantizer_type", "VQ").metadata("quantizer_args", "{}")
                .put("_codebook.embed", new Tensor(new float[] {1, Float.NaN}, 1, 1, 2)).toBytes();
        rejects(CODEC, nan, "tensor '_codebook.embed' holds NaN");
        DeadLetter d = DeadLetters.rejects(CODEC, with("k", "1", "2", "VQ", "{}", true), "Kafka record key \"kafka-key\" differs from the snapshot's key \"k\"");
        assertEquals("k", d.key());
    }
}
