package io.vqstream.operators.record;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

class DeadLetterTest {

    /** The wire names are part of released formats: this list changes only by adding to it. */
    @Test
    void stagesKeepTheirReleasedWireNames() {
        assertEquals(List.of("deserialize", "quantize", "control", "decode", "audio", "serialize"),
                Arrays.stream(DeadLetter.Stage.values()).map(DeadLetter.Stage::wireName).toList());
        for (DeadLetter.Stage s : DeadLetter.Stage.values()) {
            assertSame(s, DeadLetter.Stage.ofWireName(s.wireName()));
            assertEquals(s.wireName(), s.toString());
        }
    }

    @Test
    void anUnknownWireNameIsRefusedNamingTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeadLetter.Stage.ofWireName("QUANTIZE"));
        assertTrue(e.getMessage().contains("'QUANTIZE'") && e.getMessage().contains("quantize"), e.getMessage());
        assertThrows(NullPointerException.class, () -> new DeadLetter("k", null, "r", new byte[0], 1));
    }

    @Test
    void theSerializerWritesTheWireNameAndRefusesAnUnknownOne() throws IOException {
        DeadLetter.Serializer s = new DeadLetter.Serializer();
        DataOutputSerializer out = new DataOutputSerializer(64);
        s.serialize(new DeadLetter(null, DeadLetter.Stage.DECODE, "r", new byte[] {9}, 7), out);
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        assertEquals(0, in.readByte(), "no key");
        assertEquals("decode", in.readUTF());

        DataOutputSerializer bad = new DataOutputSerializer(64);
        bad.writeByte(0);
        bad.writeUTF("parse");
        IOException e = assertThrows(IOException.class, () -> s.deserialize(new DataInputDeserializer(bad.getCopyOfBuffer())));
        assertTrue(e.getMessage().contains("'parse'"), e.getMessage());
    }
}
