package io.vqstream.operators;

import static io.vqstream.operators.OperatorTestSupport.deadLetters;
import static io.vqstream.operators.OperatorTestSupport.harness;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.io.SafeTensors;
import io.vqstream.core.io.SafeTensorsFile;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.operators.record.ControlMessage;
import io.vqstream.operators.record.DeadLetter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A rejected INSTALL is dead-lettered with its whole payload; a tensor the quantizer lacks is a reason to reject it. */
class QuantizeOperatorRejectedControlTest {
    private static final Map<String, Object> VQ = Map.of("dim", 4, "codebook_size", 8);

    @Test
    void anInstallWithAnUnknownTensorIsDeadLetteredWithItsPayload() throws Exception {
        Params good = Quantizers.create("VectorQuantize", VQ).initParams(3);
        Params extra = new Params().put("_codebook.embed", good.get("_codebook.embed")).put("_codebook.embedd", good.get("_codebook.embed"));
        var config = QuantizeOperatorConfig.builder("VectorQuantize", VQ).source(CodebookSource.CONTROL).batchSize(1)
                .maxDelay(Duration.ZERO).build();
        try (var h = harness(config)) {
            h.open();
            h.processElement2(ControlMessage.install("k", extra), 0);
            List<DeadLetter> dead = deadLetters(h);
            assertEquals(1, dead.size());
            DeadLetter d = dead.get(0);
            assertEquals(DeadLetter.Stage.CONTROL, d.stage());
            assertEquals("k", d.key());
            assertTrue(d.reason().startsWith("rejected INSTALL message: control message: unknown tensor _codebook.embedd"), d.reason());
            SafeTensorsFile f = SafeTensors.read(d.payload(), "dead letter");
            assertEquals("INSTALL", f.metadata("kind"));
            assertEquals("k", f.metadata("key"));
            assertEquals(Set.of("_codebook.embed", "_codebook.embedd"), f.names());
            assertArrayEquals(good.get("_codebook.embed").data(), f.floatTensor("_codebook.embedd").data());
        }
    }
}
