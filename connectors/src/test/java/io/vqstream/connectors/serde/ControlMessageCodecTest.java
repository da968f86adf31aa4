package io.vqstream.connectors.serde;

import static io.vqstream.connectors.serde.DeadLetters.accepts;
import static io.vqstream.connectors.serde.DeadLetters.rejects;
import static io.vqstream.connectors.serde.DeadLetters.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.io.SafeTensors;
import io.vqstream.core.io.SafeTensorsFile;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.record.ControlMessage;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ControlMessageCodecTest {
    private static final ControlMessageCodec CODEC = new ControlMessageCodec();

    @Test
    void installRoundTripsWithItsTensorsAndKey() {
        ControlMessage m = ControlMessage.install("k1", CodebookSnapshotCodecTest.params());
        byte[] bytes = CODEC.value(m);
        SafeTensorsFile f = SafeTensors.read(bytes, "t");
        assertEquals(Map.of("kind", "INSTALL", "key", "k1"), f.metadata());
        assertEquals(3, f.names().size());
        assertArrayEquals(utf8("k1"), CODEC.key(m));
        assertEquals(m, accepts(CODEC, bytes, Origin.NONE));
    }

    @Test
    void kindsWithoutTensorsAndWithoutKey() {
        for (ControlMessage.Kind k : new ControlMessage.Kind[] {ControlMessage.Kind.FREEZE, ControlMessage.Kind.UNFREEZE, ControlMessage.Kind.RESET}) {
            ControlMessage all = ControlMessage.of(k, null);
            byte[] bytes = CODEC.value(all);
            assertEquals(Map.of("kind", k.name()), SafeTensors.read(bytes, "t").metadata(), "no key = every key");
            assertArrayEquals(utf8("*"), CODEC.key(all), "a compacted topic refuses keyless records");
            ControlMessage back = accepts(CODEC, bytes, Origin.NONE);
            assertEquals(all, back);
            assertTrue(back.allKeys());
            assertEquals(ControlMessage.of(k, "k2"), accepts(CODEC, CODEC.value(ControlMessage.of(k, "k2")), Origin.NONE));
        }
    }

    @Test
    void readsAPayloadWrittenFromTheDocumentation() {
        // what safetensors.torch.save_file({"_codebook.embed": embed}, path, metadata={"kind": "INSTALL", "key": "k1"}) writes
        byte[] bytes = SafeTensors.writer().metadata("kind", "INSTALL").metadata("key", "k1")
                .put("_codebook.embed", new Tensor(new float[] {1, 2, 3, 4}, 1, 2, 2)).toBytes();
        ControlMessage m = accepts(CODEC, bytes, Origin.NONE);
        assertEquals(ControlMessage.Kind.INSTALL, m.kind());
        assertEquals("k1", m.key());
        assertArrayEquals(new float[] {1, 2, 3, 4}, m.params().get("_codebook.embed").data());
        assertArrayEquals(new int[] {1, 2, 2}, m.params().get("_codebook.embed").shape());
    }

    @Test
    void rejectsMalformedControlMessages() {
        Tensor t = new Tensor(new float[] {1}, 1);
        rejects(CODEC, SafeTensors.writer().metadata("kind", "install").toBytes(), "unknown control kind \"install\", expected INSTALL, FREEZE, UNFREEZE or RESET");
        rejects(CODEC, SafeTensors.writer().metadata("key", "k").put("x", t).toBytes(), "metadata 'kind' is missing");
        rejects(CODEC, SafeTensors.writer().metadata("kind", "INSTALL").metadata("key", "k").toBytes(), "INSTALL control message holds no tensors");
        rejects(CODEC, SafeTensors.writer().metadata("kind", "FREEZE").put("x", t).toBytes(), "FREEZE control message carries 1 tensor(s); only INSTALL carries tensors");
        rejects(CODEC, SafeTensors.writer().metadata("kind", "RESET").metadata("key", "").toBytes(), "key is empty");
        rejects(CODEC, new byte[] {1, 2, 3}, "control message: truncated: 3 bytes");
        rejects(CODEC, utf8("{\"kind\":\"FREEZE\"}"), "control message: absurd header size");
    }

    @Test
    void encodingRefusesAnEmptyKey() {
        assertThrows(IllegalArgumentException.class, () -> CODEC.value(ControlMessage.of(ControlMessage.Kind.RESET, "")));
    }
}
