package io.vqstream.bench;

import io.vqstream.connectors.serde.Decoded;
import io.vqstream.connectors.serde.Origin;
import io.vqstream.connectors.serde.VectorCodec;
import io.vqstream.operators.record.VectorRecord;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Decoding the JSON vector records of {@code bench kafka-quantize} (D=128 Gaussian floats, each
 * written as Java's shortest float text, e.g. {@code -0.81234567} or {@code 1.2345678E-5}),
 * reported in nanoseconds per vector element: one operation is one number, so the record's
 * framing (key, seq, ts, the record object) is spread over its 128 numbers.
 * <pre>
 *   ns per number = time to decode all records / (records · D)
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xmx1g"})
public class JsonDecodeBenchmark {
    static final int RECORDS = 4096;
    static final int DIM = 128;

    /** {@code json}: the payload codec as the Kafka source runs it. */
    @Param({"json"})
    public String format;

    byte[][] payloads;
    VectorCodec codec;
    Origin origin;

    @Setup(Level.Trial)
    public void setup() {
        payloads = payloads(RECORDS, DIM, 1_000, 42);
        codec = VectorCodec.json().withExpectedDimension(DIM);
        origin = new Origin("key-0".getBytes(StandardCharsets.UTF_8), 0, 1_700_000_000_000L);
    }

    /** Records shaped like the Kafka bench's: key, seq, ts, then D floats appended by {@link StringBuilder#append(float)}. */
    static byte[][] payloads(int records, int dim, int keys, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        byte[][] out = new byte[records][];
        for (int i = 0; i < records; i++) {
            StringBuilder sb = new StringBuilder(dim * 12 + 64);
            sb.append("{\"key\":\"key-").append(i % keys).append("\",\"seq\":").append(i / keys).append(",\"ts\":")
                    .append(1_700_000_000_000L + i).append(",\"vector\":[");
            for (int d = 0; d < dim; d++) {
                if (d > 0) {
                    sb.append(',');
                }
                sb.append((float) rng.nextGaussian());
            }
            out[i] = sb.append("]}").toString().getBytes(StandardCharsets.UTF_8);
        }
        return out;
    }

    @Benchmark
    @OperationsPerInvocation(RECORDS * DIM)
    public float decodeAll() {
        float sum = 0;
        for (byte[] p : payloads) {
            Decoded<VectorRecord> d = codec.decode(p, origin);
            sum += d.value().vector()[DIM - 1];
        }
        return sum;
    }
}
