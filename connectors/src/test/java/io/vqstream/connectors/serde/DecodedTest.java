package io.vqstream.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.util.Map;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeHint;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

class DecodedTest {
    private static final VectorRecord V = new VectorRecord("k", 1, 2, new float[] {1f, 2f}, Map.of("a", "b"));
    private static final DeadLetter D = new DeadLetter(null, DeadLetter.Stage.DESERIALIZE, "vector is empty", new byte[] {1, 2, 3}, 9);

    @Test
    void holdsExactlyOneOutcome() {
        assertTrue(Decoded.of(V).ok());
        assertTrue(!Decoded.failed(D).ok());
        assertThrows(IllegalArgumentException.class, () -> new Decoded<>(V, D));
        assertThrows(IllegalArgumentException.class, () -> new Decoded<>(null, null));
    }

    @Test
    void serializerRoundTripsBothOutcomesAndRestoresFromItsSnapshot() throws Exception {
        TypeSerializer<Decoded<VectorRecord>> s = Decoded.typeInfo(VectorRecord.typeInfo()).createSerializer(new SerializerConfigImpl());
        DataOutputSerializer out = new DataOutputSerializer(64);
        s.serialize(Decoded.of(V), out);
        s.serialize(Decoded.failed(D), out);
        byte[] bytes = out.getCopyOfBuffer();
        assertEquals(0, bytes[0], "tag 0 = value");
        TypeSerializerSnapshot<Decoded<VectorRecord>> snap = Snapshots.roundTrip(s.snapshotConfiguration());
        assertTrue(snap.resolveSchemaCompatibility(s.snapshotConfiguration()).isCompatibleAsIs());
        TypeSerializer<Decoded<VectorRecord>> restored = snap.restoreSerializer();
        assertEquals(s, restored);
        DataInputDeserializer in = new DataInputDeserializer(bytes);
        assertEquals(Decoded.of(V), restored.deserialize(in));
        assertEquals(Decoded.failed(D), restored.deserialize(in));
        assertEquals(0, in.available());
        DataOutputSerializer copy = new DataOutputSerializer(64);
        s.copy(new DataInputDeserializer(bytes), copy);
        assertEquals(Decoded.of(V), s.deserialize(new DataInputDeserializer(copy.getCopyOfBuffer())));
        assertThrows(java.io.IOException.class, () -> s.deserialize(new DataInputDeserializer(new byte[] {5})));
    }

    @Test
    void typeExtractionFindsTheHandWrittenSerializer() {
        TypeInformation<Decoded<VectorRecord>> t = TypeInformation.of(new TypeHint<Decoded<VectorRecord>>() {});
        assertEquals(Decoded.typeInfo(VectorRecord.typeInfo()), t);
        assertNotEquals(Decoded.typeInfo(CodeRecord.typeInfo()), t);
        assertTrue(t.createSerializer(new SerializerConfigImpl()) instanceof Decoded.Serializer);
    }
}
