package io.vqstream.operators;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vqstream.operators.record.VectorRecord;
import java.util.List;
import java.util.Map;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.junit.jupiter.api.Test;

/** The wiring VqStreams builds. */
class VqStreamsTest {
    private static StreamNode node(StreamGraph g, String name) {
        return g.getStreamNodes().stream().filter(n -> n.getOperatorName().contains(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no node " + name + " in " + g.getStreamNodes()));
    }

    @Test
    void keyCheckRunsAtTheInputsParallelismSoEveryKeyKeepsItsOrder() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(3);
        var in = env.fromData(List.of(new VectorRecord("a", 0, 0, new float[8])), VectorRecord.typeInfo()).setParallelism(1);
        QuantizeOperatorConfig config = QuantizeOperatorConfig.builder("VectorQuantize", Map.of("dim", 8, "codebook_size", 16)).build();
        VqStreams.quantize(in, null, config, "vq").codes().print();
        StreamGraph g = env.getStreamGraph();
        assertEquals(1, node(g, "vq-check-keys").getParallelism(), "a rebalance from 1 to 3 key-check subtasks would reorder keys");
        assertEquals(3, node(g, "vq-quantize").getParallelism());
        assertEquals("vq-keys", node(g, "vq-check-keys").getTransformationUID());
        assertEquals("vq-no-control", node(g, "Source: vq-no-control").getTransformationUID(), "stable uids for savepoints");
    }
}
