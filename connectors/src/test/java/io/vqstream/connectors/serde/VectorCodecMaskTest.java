package io.vqstream.connectors.serde;

import static io.vqstream.connectors.serde.DeadLetters.accepts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.VectorRecord;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The mask of a vector record on the wire, and top-k candidates on code records. */
class VectorCodecMaskTest {

    @Test
    void jsonMaskFalseMarksPaddingAndDefaultsToTrue() {
        VectorRecord masked = accepts(VectorCodec.json(), "{\"key\":\"k\",\"seq\":1,\"ts\":2,\"vector\":[1,2],\"mask\":false}");
        assertFalse(masked.mask());
        assertTrue(accepts(VectorCodec.json(), "{\"key\":\"k\",\"seq\":1,\"ts\":2,\"vector\":[1,2]}").mask());
        assertTrue(accepts(VectorCodec.json(), "{\"key\":\"k\",\"seq\":1,\"ts\":2,\"vector\":[1,2],\"mask\":true}").mask());
        String json = new String(VectorCodec.json().value(masked), StandardCharsets.UTF_8);
        assertTrue(json.endsWith(",\"mask\":false}"), json);
        assertFalse(VectorCodec.json().decode(json.getBytes(StandardCharsets.UTF_8), Origin.NONE).value().mask());
        var bad = VectorCodec.json().decode("{\"key\":\"k\",\"seq\":1,\"ts\":2,\"vector\":[1],\"mask\":0}".getBytes(StandardCharsets.UTF_8),
                Origin.NONE);
        assertTrue(bad.deadLetter().reason().contains("mask must be true or false"), bad.deadLetter().reason());
    }

    @Test
    void binaryCarriesTheMaskBitInFormatTwo() {
        VectorRecord real = new VectorRecord("k", 1, 2, new float[] {1, 2});
        VectorRecord masked = real.withMask(false);
        byte[] r = VectorCodec.binary().value(real);
        byte[] m = VectorCodec.binary().value(masked);
        assertEquals(1, r[0], "a real record stays format 1");
        assertEquals(2, m[0]);
        assertEquals(r.length + 1, m.length);
        assertEquals(1, m[m.length - 1], "flags: bit 0 = masked");
        assertFalse(VectorCodec.binary().decode(m, Origin.NONE).value().mask());
        assertTrue(VectorCodec.binary().decode(r, Origin.NONE).value().mask());
        m[m.length - 1] = 4;
        assertTrue(VectorCodec.binary().decode(m, Origin.NONE).deadLetter().reason().contains("unknown bits"));
    }

    @Test
    void codeRecordsCarryTopkCandidatesInJson() {
        CodeRecord c = new CodeRecord("k", 3, 4, new long[] {5}, 2, null, Float.NaN, Map.of(), new long[] {5, 1}, new float[] {0.5f, 0.75f});
        String json = new String(CodeCodec.json().value(c), StandardCharsets.UTF_8);
        assertTrue(json.contains("\"topk_codes\":[5,1],\"topk_distances\":[0.5,0.75]"), json);
        assertEquals(c, CodeCodec.json().decode(json.getBytes(StandardCharsets.UTF_8), Origin.NONE).value());
    }
}
