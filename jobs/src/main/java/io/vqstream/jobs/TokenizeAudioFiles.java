package io.vqstream.jobs;

import io.vqstream.connectors.audio.AudioChunk;
import io.vqstream.connectors.audio.WavChunkSource;
import io.vqstream.connectors.serde.CodeCodec;
import io.vqstream.connectors.serde.WireFormat;
import io.vqstream.jobs.config.JobConfig;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.DeadLetter;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.EitherTypeInfo;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.Either;
import org.apache.flink.util.CloseableIterator;

/**
 * {@code tokenize-audio --input WAV_OR_DIR --output CODES.jsonl} on the embedded mini-cluster:
 * every file is one stream (key = file name without extension); the codes are written as
 * JSON lines in the codes topic's JSON format, in the order they were produced.
 */
final class TokenizeAudioFiles {
    private final PrintStream err;

    TokenizeAudioFiles(PrintStream err) {
        this.err = err;
    }

    int run(JobConfig c, Path input, Path output) throws Exception {
        List<Path> files = WavChunkSource.wavFiles(input);
        StreamExecutionEnvironment env = JobEnvironment.create(c, false, true);
        DataStream<AudioChunk> chunks = env.fromSource(WavChunkSource.create(files, c.chunkSamples, 0L),
                WatermarkStrategy.noWatermarks(), "wav-chunks").setParallelism(1).uid("vq-wav-source");
        AudioPipeline.Built p = AudioPipeline.build(c, chunks);
        TypeInformation<Either<CodeRecord, DeadLetter>> type = new EitherTypeInfo<>(CodeRecord.typeInfo(), DeadLetter.typeInfo());
        DataStream<Either<CodeRecord, DeadLetter>> events = p.quantized().codes()
                .map(r -> Either.<CodeRecord, DeadLetter>Left(r)).returns(type)
                .union(p.deadLetters().map(d -> Either.<CodeRecord, DeadLetter>Right(d)).returns(type));
        CloseableIterator<Either<CodeRecord, DeadLetter>> it = events.collectAsync();
        JobEnvironment.start(env, c.jobName != null ? c.jobName : "vqstream-tokenize-audio");
        Path abs = output.toAbsolutePath();
        if (abs.getParent() != null) {
            Files.createDirectories(abs.getParent());
        }
        Path tmp = abs.resolveSibling(abs.getFileName() + ".part");
        long codes = 0;
        long gated = 0;
        long dead = 0;
        try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp))) {
            while (it.hasNext()) {
                Either<CodeRecord, DeadLetter> e = it.next();
                if (e.isLeft()) {
                    out.write(CodeCodec.encode(e.left(), WireFormat.JSON));
                    out.write('\n');
                    codes++;
                    gated += DemoCommand.isGated(e.left()) ? 1 : 0;
                } else {
                    dead++;
                    err.println("vqstream tokenize-audio: dead letter (" + e.right().stage() + ", key " + e.right().key() + "): "
                            + e.right().reason());
                }
            }
        }
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        err.println("vqstream tokenize-audio: " + files.size() + " file(s), " + codes + " code records written to " + abs
                + (Double.isNaN(c.gateDb) ? "" : ", " + gated + " frames gated below " + c.gateDb + " dB (code -1)")
                + (dead > 0 ? ", " + dead + " dead letters" : ""));
        return 0;
    }
}
