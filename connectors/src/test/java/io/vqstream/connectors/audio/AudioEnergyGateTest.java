package io.vqstream.connectors.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.operators.record.VectorRecord;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** {@code audio.gate-db}: frames quieter than the gate go out masked, louder ones real. */
class AudioEnergyGateTest {
    private static final AudioFrontEndConfig CONFIG = AudioFrontEndConfig.of(16000, 400, 160, 512, 40, 0, 8000, FeatureKind.LOG_MEL, 8);

    @Test
    void energyIsMeanPowerInDbFullScale() {
        float[] square = new float[400];
        for (int i = 0; i < square.length; i++) {
            square[i] = i % 2 == 0 ? 0.5f : -0.5f;
        }
        assertEquals(10 * Math.log10(0.25 + 1e-10), FeatureFrame.energyDb(square), 1e-9);
        assertEquals(-100, FeatureFrame.energyDb(new float[400]), 1e-9);
    }

    @Test
    void framesBelowTheGateAreMaskedAndTheRestAreNot() throws Exception {
        // 0.5 s of near-silence (−80 dBFS noise), then 0.5 s of a 0.3-amplitude tone (≈ −13.5 dBFS)
        int n = 16000;
        ByteBuffer b = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            float v = i < n / 2 ? (float) (1e-4 * Math.sin(i * 0.7)) : (float) (0.3 * Math.sin(2 * Math.PI * 440 * i / 16000.0));
            b.putFloat(v);
        }
        AudioChunk chunk = new AudioChunk("s", 0, 1000L, 16000, 1, PcmEncoding.F32LE, b.array());
        List<VectorRecord> out;
        try (var h = new KeyedOneInputStreamOperatorTestHarness<>(new AudioFeaturesOperator(CONFIG, -40.0), AudioChunk::key, Types.STRING)) {
            h.open();
            h.processElement(chunk, 0);
            h.endInput();
            out = h.extractOutputValues();
        }
        assertTrue(out.size() > 90, "about 100 frames of 10 ms");
        int gated = 0;
        for (VectorRecord r : out) {
            long start = r.seq() * 160;
            long end = start + 400;
            if (end <= n / 2) {
                assertTrue(!r.mask(), "frame " + r.seq() + " is silence");
            } else if (start >= n / 2 && end <= n) {
                assertTrue(r.mask(), "frame " + r.seq() + " is the tone");
            }
            gated += r.mask() ? 0 : 1;
        }
        assertTrue(gated >= 45 && gated <= 52, "half the frames are silence, got " + gated);
        // without a gate nothing is masked
        try (var h = new KeyedOneInputStreamOperatorTestHarness<>(new AudioFeaturesOperator(CONFIG), AudioChunk::key, Types.STRING)) {
            h.open();
            h.processElement(chunk, 0);
            h.endInput();
            assertTrue(h.extractOutputValues().stream().allMatch(VectorRecord::mask));
        }
    }
}
