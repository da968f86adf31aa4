package io.vqstream.connectors.serde;

import org.apache.flink.annotation.PublicEvolving;
import io.vqstream.operators.record.DeadLetter;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/** Splits a stream of {@link Decoded} records into the records and a dead-letter side output. */
@PublicEvolving
public final class DecodedStreams {
    /** The side output that carries the dead letters of {@link #split}. */
    public static final OutputTag<DeadLetter> DEAD_LETTERS = new OutputTag<>("vq-decode-dead-letters", DeadLetter.typeInfo());

    private DecodedStreams() {}

    /** The records and the dead letters of one decoded stream. */
    public record Split<T>(SingleOutputStreamOperator<T> values, DataStream<DeadLetter> deadLetters) {}

    /**
     * @param uid stable uid of the splitting operator (it holds no state; the uid keeps savepoints
     *            mappable when the job graph changes)
     */
    public static <T> Split<T> split(DataStream<Decoded<T>> decoded, String uid) {
        if (!(decoded.getType() instanceof Decoded.DecodedTypeInfo<T> info)) {
            throw new IllegalArgumentException("the stream's type is " + decoded.getType() + ", not Decoded.typeInfo(...)");
        }
        TypeInformation<T> valueType = info.valueType();
        SingleOutputStreamOperator<T> values = decoded
                .process(new Splitter<T>(), valueType)
                .name("vq-split-decoded").uid(uid);
        return new Split<>(values, values.getSideOutput(DEAD_LETTERS));
    }

    static final class Splitter<T> extends ProcessFunction<Decoded<T>, T> {
        @Override
        public void processElement(Decoded<T> d, Context ctx, Collector<T> out) {
            if (d.ok()) {
                out.collect(d.value());
            } else {
                ctx.output(DEAD_LETTERS, d.deadLetter());
            }
        }
    }
}
