package io.vqstream.operators;

import org.apache.flink.annotation.PublicEvolving;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.ControlMessage;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import org.apache.flink.api.common.functions.FlatMapFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Adds the quantize operator to a pipeline:
 * <pre>{@code
 * VqStreams.Quantized q = VqStreams.quantize(vectors, control, config, "vq-quantize");
 * q.codes().sinkTo(...); q.codebooks().sinkTo(...); q.deadLetters().sinkTo(...);
 * }</pre>
 * A pipeline that does not read {@code q.codebooks()} should build its config with
 * {@code codebookSnapshots(false)}: every snapshot copies the whole codebook state.
 * Records without a key are dead-lettered before the key-by. The operator's uid (and the
 * key-check's, {@code uid + "-keys"}, and without a control stream {@code uid + "-no-control"} and
 * {@code uid + "-no-control-messages"}) must stay stable for savepoints to restore.
 */
@PublicEvolving
public final class VqStreams {
    private static final OutputTag<DeadLetter> NO_KEY = new OutputTag<>("vq-no-key", DeadLetter.typeInfo());

    private VqStreams() {}

    /** The operator's outputs. */
    public record Quantized(SingleOutputStreamOperator<CodeRecord> codes, DataStream<CodebookSnapshot> codebooks,
                            DataStream<DeadLetter> deadLetters) {}

    /**
     * @param control the control stream, or null for none
     * @param uid     stable operator uid (savepoints find the codebooks under it)
     */
    public static Quantized quantize(DataStream<VectorRecord> vectors, DataStream<ControlMessage> control,
                                     QuantizeOperatorConfig config, String uid) {
        if (config.scope() == CodebookScope.SHARED) {
            return quantizeShared(vectors, control, config, uid);
        }
        // at the input's parallelism, so it chains to the input: a rebalance here would interleave
        // one key's records from several subtasks and make its micro-batches depend on timing
        SingleOutputStreamOperator<VectorRecord> keyed = vectors
                .process(new KeyCheck(), VectorRecord.typeInfo())
                .setParallelism(vectors.getParallelism())
                .name("vq-check-keys").uid(uid + "-keys");
        // Without a control stream the operator's second input is an empty bounded stream. Not
        // fromData(emptyList): on Flink 2.2 its generator is still asked for element 0 and fails.
        DataStream<ControlMessage> ctl = control != null ? control
                : vectors.getExecutionEnvironment().fromSequence(0, 0).name("vq-no-control").uid(uid + "-no-control")
                        .flatMap(new NoControl(), ControlMessage.typeInfo()).name("vq-no-control").uid(uid + "-no-control-messages");
        SingleOutputStreamOperator<CodeRecord> codes = keyed
                .keyBy(VectorRecord::key)
                .connect(ctl.broadcast())
                .transform("vq-quantize", CodeRecord.typeInfo(), new QuantizeOperator(config))
                .uid(uid);
        DataStream<DeadLetter> dead = codes.getSideOutput(QuantizeOperator.DEAD_LETTERS).union(keyed.getSideOutput(NO_KEY));
        return new Quantized(codes, codes.getSideOutput(QuantizeOperator.CODEBOOKS), dead);
    }

    /**
     * Shared scope: no key-by. Without a control stream the operator chains to its input; with
     * one it reads the input over a forward edge and the control stream broadcast. Records without
     * a key are dead-lettered by the operator itself.
     */
    private static Quantized quantizeShared(DataStream<VectorRecord> vectors, DataStream<ControlMessage> control,
                                            QuantizeOperatorConfig config, String uid) {
        SingleOutputStreamOperator<CodeRecord> codes;
        if (control == null) {
            codes = vectors.transform("vq-quantize", CodeRecord.typeInfo(), new SharedQuantizeOperatorFactory(config, false)).uid(uid);
        } else {
            codes = vectors.forward().connect(control.broadcast())
                    .transform("vq-quantize", CodeRecord.typeInfo(), new SharedQuantizeOperatorFactory(config, true)).uid(uid);
        }
        codes.setParallelism(vectors.getParallelism());
        return new Quantized(codes, codes.getSideOutput(QuantizeOperator.CODEBOOKS), codes.getSideOutput(QuantizeOperator.DEAD_LETTERS));
    }

    /** The decoder's outputs. */
    public record Decoded(SingleOutputStreamOperator<VectorRecord> vectors, DataStream<DeadLetter> deadLetters) {}

    /**
     * Decodes codes with the codebook version that produced each of them.
     *
     * @param maxVersions codebook versions kept per key
     * @param maxWaiting  codes per key that may wait for their codebook version to arrive
     */
    public static Decoded decode(DataStream<CodeRecord> codes, DataStream<CodebookSnapshot> codebooks, int maxVersions, int maxWaiting,
                                 String uid) {
        SingleOutputStreamOperator<VectorRecord> vectors = codes.keyBy(CodeRecord::key)
                .connect(codebooks.keyBy(CodebookSnapshot::key))
                .transform("vq-decode", VectorRecord.typeInfo(), new DecodeOperator(maxVersions, maxWaiting))
                .uid(uid);
        return new Decoded(vectors, vectors.getSideOutput(DecodeOperator.DEAD_LETTERS));
    }

    /** Turns the one-element sequence into no control messages. */
    static final class NoControl implements FlatMapFunction<Long, ControlMessage> {
        @Override
        public void flatMap(Long ignored, Collector<ControlMessage> out) {
            // no control messages
        }
    }

    /** Keys must be present before the key-by can hash them. */
    static final class KeyCheck extends ProcessFunction<VectorRecord, VectorRecord> {
        @Override
        public void processElement(VectorRecord r, Context ctx, Collector<VectorRecord> out) {
            if (r.key() == null) {
                ctx.output(NO_KEY, new DeadLetter(null, DeadLetter.Stage.QUANTIZE, "missing key", RecordJson.of(r),
                        ctx.timestamp() != null ? ctx.timestamp() : System.currentTimeMillis()));
            } else {
                out.collect(r);
            }
        }
    }
}
