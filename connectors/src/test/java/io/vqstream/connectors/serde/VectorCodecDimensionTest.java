package io.vqstream.connectors.serde;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.operators.record.VectorRecord;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** A source that knows the quantizer's dimension rejects other lengths with the raw payload. */
class VectorCodecDimensionTest {
    private static final Origin ORIGIN = new Origin(null, 5, 1000);

    @Test
    void wrongLengthsBecomeDeadLettersCarryingTheOriginalBytes() {
        VectorCodec json = VectorCodec.json().withExpectedDimension(3);
        byte[] ok = "{\"key\":\"a\",\"seq\":1,\"ts\":2,\"vector\":[1,2,3]}".getBytes(StandardCharsets.UTF_8);
        byte[] shorter = "{\"key\":\"a\",\"seq\":1,\"ts\":2,\"vector\":[1,2]}".getBytes(StandardCharsets.UTF_8);
        Decoded<VectorRecord> good = json.decode(ok, ORIGIN);
        assertTrue(good.ok());
        Decoded<VectorRecord> bad = json.decode(shorter, ORIGIN);
        assertFalse(bad.ok());
        assertEquals("wrong dimension: vector has 2 values, the quantizer expects 3", bad.deadLetter().reason());
        assertArrayEquals(shorter, bad.deadLetter().payload());
        assertEquals("a", bad.deadLetter().key());

        VectorCodec binary = VectorCodec.binary().withExpectedDimension(2).withMaxPayloadBytes(1 << 20);
        byte[] threeFloats = VectorCodec.encode(new VectorRecord("b", 0, 0, new float[] {1, 2, 3}), WireFormat.BINARY);
        Decoded<VectorRecord> bin = binary.decode(threeFloats, ORIGIN);
        assertFalse(bin.ok(), "the limit survives withMaxPayloadBytes");
        assertArrayEquals(threeFloats, bin.deadLetter().payload());
        assertTrue(VectorCodec.json().decode(shorter, ORIGIN).ok(), "without an expected dimension any length passes");
    }

    @Test
    void theWarmUpDecodesRecordsOfTheExpectedShapeInEitherFormat() {
        for (VectorCodec c : new VectorCodec[] {VectorCodec.json(), VectorCodec.json().withExpectedDimension(5),
                VectorCodec.binary().withExpectedDimension(300)}) {
            // each synthetic record must pass the codec's own checks (the dimension among them), or none is counted
            assertTrue(c.warmUpRecords() > 0, c.format().toString());
        }
        // records this codec refuses anyway are not warmed, and refusing them is no error
        assertEquals(0, VectorCodec.json().withExpectedDimension(64).withMaxPayloadBytes(100).warmUpRecords());
        VectorCodec json = VectorCodec.json().withExpectedDimension(3);
        json.warmUp();
        Decoded<VectorRecord> after = json.decode("{\"key\":\"a\",\"seq\":1,\"ts\":2,\"vector\":[1.5,-2.25,3e-3]}".getBytes(StandardCharsets.UTF_8), ORIGIN);
        assertArrayEquals(new float[] {1.5f, -2.25f, 3e-3f}, after.value().vector());
    }

    @Test
    void brokenJsonReasonsAreFreeOfParserInternals() {
        Decoded<VectorRecord> nan = VectorCodec.json().decode("{\"key\":\"a\",\"vector\":[NaN]}".getBytes(StandardCharsets.UTF_8), ORIGIN);
        assertFalse(nan.deadLetter().reason().contains("JsonReadFeature"), nan.deadLetter().reason());
        assertTrue(nan.deadLetter().reason().contains("'NaN'"), nan.deadLetter().reason());
        Decoded<VectorRecord> cut = VectorCodec.json().decode("{\"key\":\"a\",\"vector\":[1,".getBytes(StandardCharsets.UTF_8), ORIGIN);
        assertFalse(cut.deadLetter().reason().contains("Source"), cut.deadLetter().reason());
    }
}
