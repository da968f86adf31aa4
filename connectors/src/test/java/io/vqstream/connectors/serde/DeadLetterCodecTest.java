package io.vqstream.connectors.serde;

import static io.vqstream.connectors.serde.DeadLetters.accepts;
import static io.vqstream.connectors.serde.DeadLetters.rejects;
import static io.vqstream.connectors.serde.DeadLetters.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vqstream.operators.record.DeadLetter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

class DeadLetterCodecTest {
    private static final DeadLetterCodec CODEC = new DeadLetterCodec();

    @Test
    void textPayloadEnvelopeIsExact() {
        DeadLetter d = new DeadLetter("k1", DeadLetter.Stage.DESERIALIZE, "vector is empty", utf8("{\"key\":\"k1\",\"vector\":[]}"), 1_700_000_000_000L);
        assertEquals("{\"stage\":\"deserialize\",\"reason\":\"vector is empty\",\"key\":\"k1\",\"ts\":1700000000000,"
                + "\"payload\":\"{\\\"key\\\":\\\"k1\\\",\\\"vector\\\":[]}\"}", new String(CODEC.value(d), StandardCharsets.UTF_8));
        assertArrayEquals(utf8("k1"), CODEC.key(d));
        List<Header> h = CODEC.headers(d);
        assertEquals("vq-reason", h.get(0).key());
        assertArrayEquals(utf8("vector is empty"), h.get(0).value());
        assertEquals("vq-stage", h.get(1).key());
        assertArrayEquals(utf8("deserialize"), h.get(1).value());
        assertEquals(d, accepts(CODEC, CODEC.value(d), Origin.NONE));
    }

    @Test
    void binaryPayloadGoesAsBase64AndUnknownKeyAsNull() {
        byte[] raw = {1, 0, (byte) 0xFF, (byte) 0xC3};
        DeadLetter d = new DeadLetter(null, DeadLetter.Stage.DESERIALIZE, "binary vector has format version byte 2, expected 1", raw, 5);
        assertEquals("{\"stage\":\"deserialize\",\"reason\":\"binary vector has format version byte 2, expected 1\",\"key\":null,\"ts\":5,"
                + "\"payload_base64\":\"AQD/ww==\"}", new String(CODEC.value(d), StandardCharsets.UTF_8));
        assertNull(CODEC.key(d));
        assertEquals(d, accepts(CODEC, CODEC.value(d), Origin.NONE));
    }

    @Test
    void largeTextPayloadsAreCutAtACharacterBoundaryToFit() throws Exception {
        DeadLetterCodec small = new DeadLetterCodec(4096, 1 << 20);
        byte[] raw = utf8("é\"€".repeat(2000));
        DeadLetter d = new DeadLetter("k", DeadLetter.Stage.DESERIALIZE, "too long", raw, 1);
        byte[] env = small.value(d);
        assertTrue(env.length <= 4096, "envelope of " + env.length + " bytes");
        assertTrue(env.length > 3000, "not cut further than needed: " + env.length);
        JsonNode n = new ObjectMapper().readTree(env);
        assertTrue(n.get("payload_truncated").asBoolean());
        assertEquals(raw.length, n.get("payload_bytes").asInt());
        byte[] kept = n.get("payload").asText().getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(Arrays.copyOf(raw, kept.length), kept, "a prefix of the original");
        assertTrue(n.get("payload").asText().matches("(é\"€)*(é\"?)?"), "whole characters only");
    }

    @Test
    void largeBinaryPayloadsAreCutToFit() throws Exception {
        DeadLetterCodec small = new DeadLetterCodec(4096, 1 << 20);
        byte[] raw = new byte[10_000];
        Arrays.fill(raw, (byte) 0xFE);
        byte[] env = small.value(new DeadLetter(null, DeadLetter.Stage.QUANTIZE, "r", raw, 1));
        assertTrue(env.length <= 4096, "envelope of " + env.length + " bytes");
        JsonNode n = new ObjectMapper().readTree(env);
        byte[] kept = Base64.getDecoder().decode(n.get("payload_base64").asText());
        assertTrue(kept.length > 2500, "kept " + kept.length);
        assertArrayEquals(Arrays.copyOf(raw, kept.length), kept);
        assertEquals(10_000, n.get("payload_bytes").asInt());
        assertFalse(CODEC.value(new DeadLetter(null, DeadLetter.Stage.QUANTIZE, "r", raw, 1)).length < 13_000, "the default limit keeps 10 kB whole");
    }

    @Test
    void neverThrowsOnANullPayload() {
        DeadLetter d = new DeadLetter(null, DeadLetter.Stage.QUANTIZE, "missing key", null, 3);
        assertEquals("{\"stage\":\"quantize\",\"reason\":\"missing key\",\"key\":null,\"ts\":3,\"payload\":\"\"}",
                new String(CODEC.value(d), StandardCharsets.UTF_8));
    }

    @Test
    void everyStageTravelsUnderItsWireName() throws Exception {
        for (DeadLetter.Stage stage : DeadLetter.Stage.values()) {
            DeadLetter d = new DeadLetter("k", stage, "r", utf8("p"), 1);
            assertEquals(stage.wireName(), new ObjectMapper().readTree(CODEC.value(d)).get("stage").asText());
            assertArrayEquals(utf8(stage.wireName()), CODEC.headers(d).get(1).value());
            assertEquals(d, accepts(CODEC, CODEC.value(d), Origin.NONE));
        }
    }

    @Test
    void anEnvelopeWithAnUnknownStageIsRefusedNamingTheKnownOnes() {
        DeadLetter d = rejects(CODEC, "{\"stage\":\"parse\",\"reason\":\"r\",\"key\":null,\"ts\":1,\"payload\":\"p\"}",
                "unknown dead-letter stage 'parse'");
        assertTrue(d.reason().contains("deserialize") && d.reason().contains("serialize"), d.reason());
    }
}
