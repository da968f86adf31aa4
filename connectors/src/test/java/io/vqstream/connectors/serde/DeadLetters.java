package io.vqstream.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.operators.record.DeadLetter;
import java.nio.charset.StandardCharsets;

/** Assertions shared by the codec tests. */
final class DeadLetters {
    private DeadLetters() {}

    static final Origin KAFKA = new Origin("kafka-key".getBytes(StandardCharsets.UTF_8), 42, 1_700_000_000_123L);

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Decodes a bad payload: one dead letter with the raw payload, stage deserialize, a one-line reason containing {@code fragment}. */
    static <T> DeadLetter rejects(PayloadDecoder<T> decoder, byte[] payload, String fragment) {
        Decoded<T> d = decoder.decode(payload, KAFKA);
        assertNotNull(d);
        assertFalse(d.ok(), () -> "accepted: " + d.value());
        assertNull(d.value());
        DeadLetter dl = d.deadLetter();
        assertArrayEquals(payload == null ? new byte[0] : payload, dl.payload(), "raw payload kept");
        assertEquals(DeadLetter.Stage.DESERIALIZE, dl.stage());
        assertTrue(dl.reason().contains(fragment), () -> "reason \"" + dl.reason() + "\" lacks \"" + fragment + "\"");
        assertFalse(dl.reason().contains("\n") || dl.reason().contains("\r"), "one line: " + dl.reason());
        return dl;
    }

    static <T> DeadLetter rejects(PayloadDecoder<T> decoder, String json, String fragment) {
        return rejects(decoder, utf8(json), fragment);
    }

    static <T> T accepts(PayloadDecoder<T> decoder, byte[] payload, Origin origin) {
        Decoded<T> d = decoder.decode(payload, origin);
        assertNotNull(d);
        assertTrue(d.ok(), () -> "rejected: " + d.deadLetter().reason());
        return d.value();
    }

    static <T> T accepts(PayloadDecoder<T> decoder, String json) {
        return accepts(decoder, utf8(json), KAFKA);
    }
}
