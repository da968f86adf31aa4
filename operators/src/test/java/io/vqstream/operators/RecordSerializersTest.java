package io.vqstream.operators;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.quantize.Params;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.ControlMessage;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** Every record round-trips, and its serializer snapshot restores the same serializer. */
class RecordSerializersTest {

    private static <T> void roundTrip(TypeInformation<T> info, T value) throws Exception {
        TypeSerializer<T> s = info.createSerializer(new SerializerConfigImpl());
        DataOutputSerializer out = new DataOutputSerializer(64);
        s.serialize(value, out);
        assertEquals(value, s.deserialize(new DataInputDeserializer(out.getCopyOfBuffer())), info.toString());

        DataOutputSerializer snap = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(snap, s.snapshotConfiguration());
        TypeSerializerSnapshot<T> restored = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(snap.getCopyOfBuffer()), RecordSerializersTest.class.getClassLoader());
        TypeSerializer<T> back = restored.restoreSerializer();
        assertEquals(s, back);
        assertTrue(s.snapshotConfiguration().resolveSchemaCompatibility(restored).isCompatibleAsIs());
        assertEquals(value, back.deserialize(new DataInputDeserializer(out.getCopyOfBuffer())));
    }

    @Test
    void allRecordsRoundTrip() throws Exception {
        Params p = new Params().put("_codebook.embed", new Tensor(new float[] {1, 2, 3, 4}, 1, 2, 2));
        roundTrip(VectorRecord.typeInfo(), new VectorRecord("k", 3, 4, new float[] {1.5f, -2f}, Map.of("a", "b")));
        roundTrip(CodeRecord.typeInfo(), new CodeRecord("k", 3, 4, new long[] {7, -1}, 9, new float[] {0.5f}, 0.25f, Map.of()));
        roundTrip(CodeRecord.typeInfo(), new CodeRecord("k", 3, 4, new long[] {7}, 9));
        roundTrip(DeadLetter.typeInfo(), new DeadLetter(null, DeadLetter.Stage.QUANTIZE, "why", new byte[] {1, 2}, 5));
        roundTrip(CodebookSnapshot.typeInfo(), new CodebookSnapshot("k", 2, 1, "VectorQuantize", "{}", p));
        for (ControlMessage c : List.of(ControlMessage.install("k", p), ControlMessage.of(ControlMessage.Kind.RESET, null))) {
            roundTrip(ControlMessage.typeInfo(), c);
        }
    }
}
