package io.vqstream.operators;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.core.tensor.LongTensor;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** Decoding with the codebook version carried by each code. */
class DecodeOperatorTest {
    private static final Map<String, Object> RVQ = Map.of("dim", 6, "codebook_size", 8, "num_quantizers", 2);
    private static final String ARGS = "{\"dim\":6,\"codebook_size\":8,\"num_quantizers\":2}";

    private static KeyedTwoInputStreamOperatorTestHarness<String, CodeRecord, CodebookSnapshot, VectorRecord> harness() throws Exception {
        return new KeyedTwoInputStreamOperatorTestHarness<>(new DecodeOperator(4, 100), CodeRecord::key, CodebookSnapshot::key, Types.STRING);
    }

    private static CodebookSnapshot snap(String key, long version, Params p) {
        return new CodebookSnapshot(key, version, version, "ResidualVQ", ARGS, p);
    }

    @Test
    void decodesEachCodeWithItsOwnVersionEvenWhenTheCodebookArrivesLater() throws Exception {
        Quantizer q = Quantizers.create("ResidualVQ", RVQ);
        Params v1 = q.initParams(1);
        Params v2 = q.initParams(2);
        long[] codes = {3, 5};
        float[] want1 = q.decodeTokens(v1, new LongTensor(codes.clone(), 1, 2)).data();
        float[] want2 = q.decodeTokens(v2, new LongTensor(codes.clone(), 1, 2)).data();
        try (var h = harness()) {
            h.open();
            h.processElement2(snap("a", 1, v1), 0);
            h.processElement1(new CodeRecord("a", 0, 10, codes, 1), 10);
            h.processElement1(new CodeRecord("a", 1, 11, codes, 2), 11);
            assertEquals(1, h.extractOutputValues().size(), "version 2 not known yet: the code waits");
            h.processElement2(snap("a", 2, v2), 0);
            List<VectorRecord> out = h.extractOutputValues();
            assertEquals(2, out.size());
            assertArrayEquals(want1, out.get(0).vector());
            assertArrayEquals(want2, out.get(1).vector());
            assertEquals(1, out.get(1).seq());
        }
    }

    /** The state layout DecodeOperator had before it kept snapshots as bytes: whole snapshots under "vq-decode-versions". */
    static final class LegacyLayout extends org.apache.flink.streaming.api.operators.AbstractStreamOperator<VectorRecord>
            implements org.apache.flink.streaming.api.operators.TwoInputStreamOperator<CodeRecord, CodebookSnapshot, VectorRecord> {
        @Override
        public void processElement1(StreamRecord<CodeRecord> element) {}

        @Override
        public void processElement2(StreamRecord<CodebookSnapshot> element) throws Exception {
            getRuntimeContext().getMapState(new org.apache.flink.api.common.state.MapStateDescriptor<>(DecodeOperator.LEGACY_VERSIONS_STATE,
                    Types.LONG, CodebookSnapshot.typeInfo())).put(element.getValue().version(), element.getValue());
        }
    }

    @Test
    void snapshotsKeptUnderTheEarlierStateLayoutAreMovedOnRestore() throws Exception {
        Quantizer q = Quantizers.create("ResidualVQ", RVQ);
        Params v1 = q.initParams(1);
        Params v2 = q.initParams(2);
        org.apache.flink.runtime.checkpoint.OperatorSubtaskState saved;
        try (var old = new KeyedTwoInputStreamOperatorTestHarness<>(new LegacyLayout(), CodeRecord::key, CodebookSnapshot::key, Types.STRING)) {
            old.open();
            old.processElement2(snap("a", 1, v1), 0);
            old.processElement2(snap("a", 2, v2), 0);
            old.processElement2(snap("b", 1, v2), 0);
            saved = old.snapshot(1, 1);
        }
        try (var h = harness()) {
            h.initializeState(saved);
            h.open();
            long[] codes = {3, 5};
            h.processElement1(new CodeRecord("a", 0, 0, codes, 1), 0);
            h.processElement1(new CodeRecord("a", 1, 0, codes, 2), 0);
            h.processElement1(new CodeRecord("b", 0, 0, codes, 1), 0);
            List<VectorRecord> out = h.extractOutputValues();
            assertEquals(3, out.size(), "every version was found after the restore");
            assertArrayEquals(q.decodeTokens(v1, new LongTensor(codes.clone(), 1, 2)).data(), out.get(0).vector());
            assertArrayEquals(q.decodeTokens(v2, new LongTensor(codes.clone(), 1, 2)).data(), out.get(1).vector());
            assertArrayEquals(q.decodeTokens(v2, new LongTensor(codes.clone(), 1, 2)).data(), out.get(2).vector());
            assertTrue(out.stream().allMatch(v -> !v.attributes().containsKey("vq.decoded_version")), out.toString());
        }
    }

    @Test
    void aMissingVersionUsesTheNewestOlderOneAndSaysSo() throws Exception {
        Quantizer q = Quantizers.create("ResidualVQ", RVQ);
        Params v1 = q.initParams(1);
        try (var h = harness()) {
            h.open();
            h.processElement2(snap("a", 1, v1), 0);
            h.processElement2(snap("a", 3, q.initParams(3)), 0);
            h.processElement1(new CodeRecord("a", 0, 0, new long[] {1, 2}, 2), 0);
            VectorRecord r = h.extractOutputValues().get(0);
            assertEquals("1", r.attributes().get("vq.decoded_version"));
            assertArrayEquals(q.decodeTokens(v1, new LongTensor(new long[] {1, 2}, 1, 2)).data(), r.vector());
        }
    }

    @Test
    void badCodesAndUnknownKeysBecomeDeadLetters() throws Exception {
        Quantizer q = Quantizers.create("ResidualVQ", RVQ);
        try (var h = harness()) {
            h.open();
            h.processElement2(snap("a", 1, q.initParams(1)), 0);
            h.processElement1(new CodeRecord("a", 0, 0, new long[] {9, 0}, 1), 0);
            h.processElement1(new CodeRecord("a", 1, 0, new long[] {1}, 1), 0);
            h.processElement1(new CodeRecord("b", 0, 0, new long[] {1, 1}, 1), 0);
            h.endInput2();
            List<DeadLetter> dead = h.getSideOutput(DecodeOperator.DEAD_LETTERS).stream().map(StreamRecord::getValue).toList();
            assertEquals(3, dead.size());
            assertTrue(dead.get(0).reason().contains("outside [0, 8)"), dead.get(0).reason());
            assertTrue(dead.get(1).reason().contains("needs 2"), dead.get(1).reason());
            assertTrue(dead.get(2).reason().contains("no codebook received"), dead.get(2).reason());
            assertEquals(0, h.extractOutputValues().size());
        }
    }

    @Test
    void codesArrivingAfterTheCodebookInputEndedAreDecodedOrDeadLetteredNeverDropped() throws Exception {
        Quantizer q = Quantizers.create("ResidualVQ", RVQ);
        Params v1 = q.initParams(1);
        try (var h = harness()) {
            h.open();
            h.processElement2(snap("a", 1, v1), 0);
            h.endInput2();
            h.processElement1(new CodeRecord("a", 0, 0, new long[] {1, 2}, 1), 0);
            h.processElement1(new CodeRecord("a", 1, 0, new long[] {1, 2}, 7), 0);
            h.processElement1(new CodeRecord("a", 2, 0, new long[] {1, 2}, 0), 0);
            h.processElement1(new CodeRecord("nobody", 0, 0, new long[] {1, 2}, 1), 0);
            h.endInput1();
            List<VectorRecord> out = h.extractOutputValues();
            assertEquals(2, out.size(), "version 1 exactly, version 7 with the newest older one");
            assertEquals("1", out.get(1).attributes().get("vq.decoded_version"));
            List<DeadLetter> dead = h.getSideOutput(DecodeOperator.DEAD_LETTERS).stream().map(StreamRecord::getValue).toList();
            assertEquals(2, dead.size());
            assertEquals(DeadLetter.Stage.DECODE, dead.get(0).stage());
            assertTrue(dead.get(0).reason().contains("version 0 of key 'a' is not available"), dead.get(0).reason());
            assertTrue(dead.get(1).reason().contains("no codebook received"), dead.get(1).reason());
        }
    }

    @Test
    void roundTripWithTheQuantizeOperatorReconstructsTheQuantizedVectors() {
        Quantizer q = Quantizers.create("ResidualVQ", RVQ);
        Params p = q.initParams(5);
        SplittableRandom rng = new SplittableRandom(9);
        float[] x = new float[6];
        for (int i = 0; i < 6; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        var out = q.forwardTokens(p, new Tensor(x, 1, 1, 6), ForwardOptions.eval());
        float[] decoded = q.decodeTokens(p, out.indices().reshape(1, 2)).data();
        float[] quantized = out.quantized().data();
        for (int i = 0; i < 6; i++) {
            assertEquals(quantized[i], decoded[i], 1e-6f);
        }
    }
}
