package io.vqstream.bench.e2e;

import io.vqstream.operators.CodebookScope;
import io.vqstream.operators.CodebookSource;
import io.vqstream.operators.QuantizeOperatorConfig;
import io.vqstream.operators.VqStreams;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.VectorRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bench audio-streams}: how many EnCodec-shaped token streams one core keeps in real time.
 * {@code N} concurrent streams (24 kHz audio at 75 frames/s, one D=128 latent per frame) arrive at
 * {@code 75·N} frames/s in total, round-robin over the stream keys, into a shared, frozen
 * ResidualVQ of 8 × 1024 codes (codebook.scope shared, checkpoints on). Per {@code N} it reports the
 * frames/s that reached the sink against the offered rate and the latency of each code
 * (code at the sink − frame generated): p50, p99, max. A configuration is real time when the sink
 * kept the offered rate (≥ 98 %) and p99 stayed under {@code --p99-limit-ms}.
 */
@Command(name = "audio-streams", mixinStandardHelpOptions = true, sortOptions = false, footer = E2eOptions.FOOTER,
        description = "How many concurrent 24 kHz audio streams stay real time, with p50/p99 latency (bench/README.md).")
public final class AudioStreamsBench extends E2eOptions.Op {
    @Option(names = "--streams", split = ",", paramLabel = "N", defaultValue = "100,200,300,400",
            description = "Concurrent streams, one job each (default ${DEFAULT-VALUE}).")
    List<Integer> streams;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "20", description = "Seconds of audio per stream (default ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "256", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--max-delay", paramLabel = "DURATION", defaultValue = "20ms", description = "Longest wait of a partial batch (default ${DEFAULT-VALUE}).")
    E2eOptions.DurationArg maxDelay;

    @Option(names = "--checkpoint-interval", paramLabel = "DURATION", defaultValue = "1s", description = "Checkpoint interval (default ${DEFAULT-VALUE}).")
    E2eOptions.DurationArg checkpointInterval;

    @Mixin
    E2eOptions.Job job;

    @Option(names = "--p99-limit-ms", paramLabel = "MS", defaultValue = "200", description = "Largest p99 latency of a real-time run, ms (default ${DEFAULT-VALUE}).")
    double p99Limit;

    @Option(names = "--parallelism", paramLabel = "P", defaultValue = "1", description = "Job parallelism (default ${DEFAULT-VALUE}).")
    int parallelism;

    static final ConcurrentLinkedQueue<long[]> LATENCIES = new ConcurrentLinkedQueue<>();

    @Override
    int run() throws Exception {
        String maxDelay = this.maxDelay.text();
        String cp = checkpointInterval.text();
        String backend = job.backend;
        long seed = job.seed;
        Path work = Files.createTempDirectory("vq-bench-audio");
        try {
            for (int n : streams) {
                long frames = 75L * n * seconds;
                LATENCIES.clear();
                Configuration conf = new Configuration();
                conf.set(StateBackendOptions.STATE_BACKEND, "hashmap");
                conf.setString(CheckpointingOptions.CHECKPOINTING_INTERVAL.key(), cp);
                conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, work.resolve("cp-" + n).toUri().toString());
                StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(io.vqstream.jobs.EmbeddedTempDir.applyTo(conf));
                env.setParallelism(parallelism);
                Map<String, Object> args = new LinkedHashMap<>();
                args.put("dim", 128);
                args.put("num_quantizers", 8);
                args.put("codebook_size", 1024);
                QuantizeOperatorConfig config = QuantizeOperatorConfig.builder("ResidualVQ", args).scope(CodebookScope.SHARED)
                        .source(CodebookSource.INIT).seed(seed).batchSize(batch).maxDelay(this.maxDelay.value()).backend(backend)
                        .emitError(false).build();
                DataGeneratorSource<VectorRecord> source = new DataGeneratorSource<>(new Frames(n, seed), frames,
                        RateLimiterStrategy.perSecond(75.0 * n / parallelism), VectorRecord.typeInfo());
                VqStreams.Quantized q = VqStreams.quantize(env.fromSource(source, WatermarkStrategy.noWatermarks(), "frames"), null, config,
                        "vq-quantize");
                q.codes().sinkTo(new LatencySink()).name("latency");
                long t0 = System.nanoTime();
                double load = E2e.loadAverage();
                env.execute("bench audio-streams n=" + n);
                double wall = (System.nanoTime() - t0) / 1e9;
                long[] all = LATENCIES.stream().flatMapToLong(Arrays::stream).sorted().toArray();
                long firstAt = Long.MAX_VALUE;
                long lastAt = Long.MIN_VALUE;
                // the sink rate over the middle of the run: frames seen between the 10th and 90th percentile of arrival
                List<Long> arrivals = new ArrayList<>();
                for (long[] a : ARRIVALS) {
                    for (long t : a) {
                        arrivals.add(t);
                    }
                }
                arrivals.sort(null);
                ARRIVALS.clear();
                double sinkRate = 0;
                if (arrivals.size() > 10) {
                    int lo = arrivals.size() / 10;
                    int hi = arrivals.size() * 9 / 10;
                    sinkRate = (hi - lo) / ((arrivals.get(hi) - arrivals.get(lo)) / 1e9);
                    firstAt = arrivals.get(0);
                    lastAt = arrivals.get(arrivals.size() - 1);
                }
                double offered = 75.0 * n;
                double p50 = all.length == 0 ? Double.NaN : all[all.length / 2] / 1e6;
                double p99 = all.length == 0 ? Double.NaN : all[(int) Math.min(all.length - 1, Math.floor(all.length * 0.99))] / 1e6;
                double max = all.length == 0 ? Double.NaN : all[all.length - 1] / 1e6;
                boolean realTime = all.length == frames && sinkRate >= 0.98 * offered && p99 <= p99Limit;
                Map<String, Object> json = new LinkedHashMap<>();
                json.put("op", "audio-streams");
                json.put("quantizer", "ResidualVQ 8x1024 D=128, shared, frozen");
                json.put("streams", n);
                json.put("parallelism", parallelism);
                json.put("frames", frames);
                json.put("codes", all.length);
                json.put("offered_frames_per_s", offered);
                json.put("sink_frames_per_s", E2e.round(sinkRate, 0));
                json.put("latency_p50_ms", E2e.round(p50, 1));
                json.put("latency_p99_ms", E2e.round(p99, 1));
                json.put("latency_max_ms", E2e.round(max, 1));
                json.put("real_time", realTime);
                json.put("streams_per_core", realTime ? (double) n / parallelism : 0);
                json.put("batch", batch);
                json.put("max_delay", maxDelay);
                json.put("checkpoint_interval", cp);
                json.put("wall_s", E2e.round(wall, 1));
                json.put("span_s", E2e.round((lastAt - firstAt) / 1e9, 1));
                json.put("backend", backend);
                json.put("load_1m", load);
                E2e.print(json);
            }
        } finally {
            ChildBroker.deleteTree(work);
        }
        return 0;
    }

    static final ConcurrentLinkedQueue<long[]> ARRIVALS = new ConcurrentLinkedQueue<>();

    /** Frame i: stream i mod n, frame number i div n, stamped with System.nanoTime() when generated (source and sink share the JVM). */
    static final class Frames implements GeneratorFunction<Long, VectorRecord> {
        private final int streams;
        private final long seed;
        private transient float[][] pool;
        private transient String[] names;

        Frames(int streams, long seed) {
            this.streams = streams;
            this.seed = seed;
        }

        @Override
        public void open(SourceReaderContext readerContext) {
            pool = OperatorBench.gaussianPool(seed, 4096, 128);
            names = new String[streams];
            for (int i = 0; i < streams; i++) {
                names[i] = "stream-" + i;
            }
        }

        @Override
        public VectorRecord map(Long index) {
            long i = index;
            int slot = (int) Long.remainderUnsigned(i * 0x9E3779B97F4A7C15L, pool.length);
            return new VectorRecord(names[(int) (i % streams)], i / streams, System.nanoTime(), pool[slot].clone());
        }
    }

    /** Latency of each code: the sink's clock minus the frame's generation time (both this JVM's). */
    static final class LatencySink implements Sink<CodeRecord> {
        private static final long serialVersionUID = 1L;

        @Override
        public SinkWriter<CodeRecord> createWriter(WriterInitContext context) {
            return new SinkWriter<>() {
                private long[] lat = new long[1 << 16];
                private long[] at = new long[1 << 16];
                private int n;

                @Override
                public void write(CodeRecord c, Context ctx) {
                    long now = System.nanoTime();
                    if (n == lat.length) {
                        lat = Arrays.copyOf(lat, n * 2);
                        at = Arrays.copyOf(at, n * 2);
                    }
                    lat[n] = Math.max(0, now - c.eventTime());
                    at[n++] = System.nanoTime();
                }

                @Override
                public void flush(boolean endOfInput) {}

                @Override
                public void close() {
                    LATENCIES.add(Arrays.copyOf(lat, n));
                    ARRIVALS.add(Arrays.copyOf(at, n));
                }
            };
        }
    }
}
