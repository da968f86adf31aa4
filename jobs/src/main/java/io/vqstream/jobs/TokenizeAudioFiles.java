package io.vqstream.jobs;

import io.vqstream.connectors.audio.AudioChunk;
import io.vqstream.connectors.audio.WavChunkSource;
import io.vqstream.jobs.config.JobConfig;
import java.nio.file.Files;
import org.apache.flink.streaming.api.datastream.DataStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * {@code tokenize-audio --input WAV_OR_DIR --output CODES.jsonl} on the embedded mini-cluster:
 * every file is one stream (key = file name without extension); the codes are written as
 * JSON lines in the codes topic's JSON format, in the order they were produced. With a
 * codebooks directory, every codebook version is written there as {@code <key>@<version>.safetensors}
 * (as {@code learn --codebooks-out} does), so that {@code decode} can turn the codes back into features.
 */
final class TokenizeAudioFiles {
    private final PrintStream err;

    TokenizeAudioFiles(PrintStream err) {
        this.err = err;
    }

    int run(JobConfig c, Path input, Path output, Path codebooksOut) throws Exception {
        FileJobs.requireFileMode(c);
        List<Path> files = WavChunkSource.wavFiles(input);
        StreamExecutionEnvironment env = JobEnvironment.create(c, false, true);
        DataStream<AudioChunk> chunks = env.fromSource(WavChunkSource.create(files, c.chunkSamples, 0L),
                WatermarkStrategy.noWatermarks(), "wav-chunks").setParallelism(1).uid("vq-wav-source");
        AudioPipeline.Built p = AudioPipeline.build(c, chunks, codebooksOut != null);
        StagedFileSink.Staged staged = new StagedFileSink.Staged(output, null, codebooksOut);
        staged.clearFiles();
        DataStream<org.apache.flink.api.java.tuple.Tuple3<Integer, String, byte[]>> items = p.quantized().codes()
                .map(new FileJobs.CodeLine()).returns(StagedFileSink.itemType())
                .union(p.deadLetters().map(new FileJobs.DeadLetterLine()).returns(StagedFileSink.itemType()));
        if (codebooksOut != null) {
            items = items.union(p.quantized().codebooks().map(new FileJobs.SnapshotFile()).returns(StagedFileSink.itemType()));
        }
        FileJobs.sinkTo(items, staged);
        FileJobs.run(env, c.jobName != null ? c.jobName : "vqstream-tokenize-audio", staged);
        long codes = FileJobs.countLines(staged.stagedLines());
        long snapshots = codebooksOut == null ? 0 : FileJobs.countFiles(Path.of(staged.files));
        long gated = Double.isNaN(c.gateDb) ? 0 : countGated(staged.stagedLines());
        long dead = FileJobs.reportDeadLetters(err, "vqstream tokenize-audio", staged.stagedDeadLetters());
        staged.commit();
        err.println("vqstream tokenize-audio: " + files.size() + " file(s), " + codes + " code records written to "
                + output.toAbsolutePath()
                + (codebooksOut != null ? ", " + snapshots + " codebook snapshots to " + codebooksOut.toAbsolutePath() : "")
                + (Double.isNaN(c.gateDb) ? "" : ", " + gated + " frames gated below " + c.gateDb + " dB (code -1)")
                + (dead > 0 ? ", " + dead + " dead letters" : ""));
        // rows the float arg-max could not settle within its error bound (embedded runs: the job shares this JVM's backend)
        long[] refereed = io.vqstream.core.backend.JvmBackend.get().refereeCounts();
        if (refereed[0] > 0) {
            err.printf(java.util.Locale.ROOT, "vqstream tokenize-audio: exact rescoring %.3f%% of %d assigned rows%n",
                    100.0 * refereed[1] / refereed[0], refereed[0]);
        }
        return FileJobs.exitCode(codes, dead);
    }

    /** Code records whose every code is −1: frames below {@code audio.gate-db}. */
    private static long countGated(Path codes) throws java.io.IOException {
        io.vqstream.connectors.serde.CodeCodec codec = io.vqstream.connectors.serde.CodeCodec.json();
        long gated = 0;
        long n = 0;
        try (java.io.BufferedReader r = Files.newBufferedReader(codes, java.nio.charset.StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                var d = codec.decode(line.getBytes(java.nio.charset.StandardCharsets.UTF_8), new io.vqstream.connectors.serde.Origin(null, n++, 0));
                if (d.ok() && DemoCommand.isGated(d.value())) {
                    gated++;
                }
            }
        }
        return gated;
    }
}
