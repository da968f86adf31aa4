package io.vqstream.bench.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.bench.report.JsonLine;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The harness's parsing and bookkeeping (no timing: speed is measured by the ops, never asserted). */
class E2eHelpersTest {

    @Test
    void medianOfOddAndEvenCounts() {
        assertEquals(2.0, E2e.median(List.of(3.0, 1.0, 2.0)));
        assertEquals(2.5, E2e.median(List.of(4.0, 1.0, 2.0, 3.0)));
        assertTrue(Double.isNaN(E2e.median(List.of())));
    }

    @Test
    void defaultRecordsGiveSeveralBatchesPerKey() {
        assertEquals(200_000, OperatorBench.defaultRecords(1, 1000));
        assertEquals(400_000, OperatorBench.defaultRecords(16, 1000));
        assertEquals(1_024_000, OperatorBench.defaultRecords(256, 1000));
    }

    @Test
    void latencyReadsTheTsFieldOfACodeRecord() {
        byte[] code = "{\"key\":\"k1\",\"seq\":17,\"ts\":1700000000123,\"codes\":[5],\"codebook_version\":3}".getBytes(StandardCharsets.UTF_8);
        assertEquals(1700000000123L, SoakBench.LatencyCounter.tsField(code));
        assertEquals(-1, SoakBench.LatencyCounter.tsField("{\"key\":\"k1\"}".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void jsonLinesNestMapsAndLists() {
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("a", 1);
        inner.put("b", "x\"y");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("op", "soak");
        m.put("memory", inner);
        m.put("runs", List.of(1.5, 2.0));
        assertEquals("{\"op\":\"soak\",\"memory\":{\"a\":1,\"b\":\"x\\\"y\"},\"runs\":[1.5,2.0]}", JsonLine.of(m));
    }

    @Test
    void vectorsAreJsonWithTheirKeyRoundRobin() {
        KafkaIo.Vectors v = new KafkaIo.Vectors(3, 4, 7);
        String first = new String(v.record("t", 0, 5).value(), StandardCharsets.UTF_8);
        String fourth = new String(v.record("t", 3, 5).value(), StandardCharsets.UTF_8);
        assertTrue(first.startsWith("{\"key\":\"key-0\",\"seq\":0,\"ts\":5,\"vector\":["), first);
        assertTrue(fourth.startsWith("{\"key\":\"key-0\",\"seq\":1,\"ts\":5,\"vector\":["), fourth);
        assertEquals("key-2", new String(v.record("t", 2, 5).key(), StandardCharsets.UTF_8));
    }
}
