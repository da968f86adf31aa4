package io.vqstream.jobs;

import io.vqstream.connectors.serde.CodeCodec;
import io.vqstream.connectors.serde.CodebookSnapshotCodec;
import io.vqstream.connectors.serde.Decoded;
import io.vqstream.connectors.serde.DecodedStreams;
import io.vqstream.connectors.serde.Origin;
import io.vqstream.connectors.serde.VectorCodec;
import io.vqstream.connectors.serde.WireFormat;
import io.vqstream.jobs.config.ConfigException;
import io.vqstream.jobs.config.JobConfig;
import io.vqstream.operators.VqStreams;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.EitherTypeInfo;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.Either;
import org.apache.flink.util.CloseableIterator;

/**
 * The embedded mode of quantize, learn and decode: vectors from JSON lines (the Kafka JSON
 * format, one per line) or an {@code (N, D)} .npy, codes to JSON lines, codebook snapshots to a
 * directory ({@code <key>@<version>.safetensors}, URL-encoded key, the Kafka snapshot payload),
 * dead letters reported on stderr and optionally written as JSON lines.
 */
final class FileJobs {
    private final PrintStream err;

    FileJobs(PrintStream err) {
        this.err = err;
    }

    /** Vectors file → codes JSON lines (+ codebook snapshots directory). */
    int quantize(JobConfig c, Path input, Path output, Path codebooksOut, Path deadLettersOut) throws Exception {
        StreamExecutionEnvironment env = JobEnvironment.create(c, false, true);
        DataStream<VectorRecord> vectors;
        DataStream<DeadLetter> inputDead = null;
        String name = input.getFileName().toString();
        if (name.toLowerCase().endsWith(".npy")) {
            String key = name.substring(0, name.length() - 4);
            vectors = env.fromSource(FileSources.npyRows(input, key), WatermarkStrategy.noWatermarks(), "npy-vectors")
                    .setParallelism(1).uid("vq-file-vectors");
        } else {
            DataStream<Decoded<VectorRecord>> raw = env.fromSource(FileSources.jsonLines(input,
                            VectorCodec.json().withExpectedDimension(c.createQuantizer().dim())),
                    WatermarkStrategy.noWatermarks(), "jsonl-vectors").setParallelism(1).uid("vq-file-vectors");
            DecodedStreams.Split<VectorRecord> split = DecodedStreams.split(raw, "vq-file-vectors-decode");
            vectors = split.values();
            inputDead = split.deadLetters();
        }
        VqStreams.Quantized q = VqStreams.quantize(vectors, null, OperatorConfigs.quantize(c), "vq-quantize");
        DataStream<DeadLetter> dead = inputDead == null ? q.deadLetters() : q.deadLetters().union(inputDead);

        TypeInformation<Either<CodebookSnapshot, DeadLetter>> inner = new EitherTypeInfo<>(CodebookSnapshot.typeInfo(), DeadLetter.typeInfo());
        TypeInformation<Either<CodeRecord, Either<CodebookSnapshot, DeadLetter>>> type = new EitherTypeInfo<>(CodeRecord.typeInfo(), inner);
        DataStream<Either<CodeRecord, Either<CodebookSnapshot, DeadLetter>>> events = q.codes()
                .map(r -> Either.<CodeRecord, Either<CodebookSnapshot, DeadLetter>>Left(r)).returns(type)
                .union(q.codebooks().map(s -> Either.<CodeRecord, Either<CodebookSnapshot, DeadLetter>>Right(Either.Left(s))).returns(type),
                        dead.map(d -> Either.<CodeRecord, Either<CodebookSnapshot, DeadLetter>>Right(Either.Right(d))).returns(type));
        CloseableIterator<Either<CodeRecord, Either<CodebookSnapshot, DeadLetter>>> it = events.collectAsync();
        JobEnvironment.start(env, c.jobName != null ? c.jobName : (c.learn ? "vqstream-learn" : "vqstream-quantize"));
        if (codebooksOut != null) {
            Files.createDirectories(codebooksOut);
        }
        long codes = 0;
        long snapshots = 0;
        List<DeadLetter> deadLetters = new ArrayList<>();
        try (Output out = new Output(output)) {
            while (it.hasNext()) {
                var e = it.next();
                if (e.isLeft()) {
                    out.line(CodeCodec.encode(e.left(), WireFormat.JSON));
                    codes++;
                } else if (e.right().isLeft()) {
                    if (codebooksOut != null) {
                        CodebookSnapshot s = e.right().left();
                        Files.write(codebooksOut.resolve(snapshotFileName(s.key(), s.version())), CodebookSnapshotCodec.encode(s));
                        snapshots++;
                    }
                } else {
                    deadLetters.add(e.right().right());
                }
            }
        }
        report(deadLetters, deadLettersOut);
        err.println("vqstream: " + codes + " code records written to " + output.toAbsolutePath()
                + (codebooksOut != null ? ", " + snapshots + " codebook snapshots to " + codebooksOut.toAbsolutePath() : "")
                + (deadLetters.isEmpty() ? "" : ", " + deadLetters.size() + " dead letters"));
        return exitCode(codes, deadLetters.size());
    }

    /** Codes JSON lines + a directory of codebook snapshots → vectors JSON lines. */
    int decode(JobConfig c, Path codesIn, Path codebooksDir, Path output, Path deadLettersOut, int maxVersions, int maxWaiting)
            throws Exception {
        if (!Files.isDirectory(codebooksDir)) {
            throw new ConfigException("--codebooks: not a directory: " + codebooksDir);
        }
        List<CodebookSnapshot> snapshots = readSnapshots(codebooksDir);
        if (snapshots.isEmpty()) {
            throw new ConfigException("--codebooks: no codebook snapshots (*.safetensors) in " + codebooksDir);
        }
        StreamExecutionEnvironment env = JobEnvironment.create(c, false, true);
        DecodedStreams.Split<CodeRecord> codes = DecodedStreams.split(env.fromSource(FileSources.jsonLines(codesIn, CodeCodec.json()),
                WatermarkStrategy.noWatermarks(), "jsonl-codes").setParallelism(1).uid("vq-file-codes"), "vq-file-codes-decode");
        DataStream<CodebookSnapshot> books = env.fromData(snapshots, CodebookSnapshot.typeInfo()).setParallelism(1);
        VqStreams.Decoded d = VqStreams.decode(codes.values(), books, maxVersions, maxWaiting, "vq-decode");
        TypeInformation<Either<VectorRecord, DeadLetter>> type = new EitherTypeInfo<>(VectorRecord.typeInfo(), DeadLetter.typeInfo());
        DataStream<Either<VectorRecord, DeadLetter>> events = d.vectors().map(v -> Either.<VectorRecord, DeadLetter>Left(v)).returns(type)
                .union(d.deadLetters().union(codes.deadLetters()).map(x -> Either.<VectorRecord, DeadLetter>Right(x)).returns(type));
        CloseableIterator<Either<VectorRecord, DeadLetter>> it = events.collectAsync();
        JobEnvironment.start(env, c.jobName != null ? c.jobName : "vqstream-decode");
        long vectors = 0;
        List<DeadLetter> deadLetters = new ArrayList<>();
        try (Output out = new Output(output)) {
            while (it.hasNext()) {
                var e = it.next();
                if (e.isLeft()) {
                    out.line(VectorCodec.encode(e.left(), WireFormat.JSON));
                    vectors++;
                } else {
                    deadLetters.add(e.right());
                }
            }
        }
        report(deadLetters, deadLettersOut);
        err.println("vqstream: " + vectors + " vectors written to " + output.toAbsolutePath()
                + (deadLetters.isEmpty() ? "" : ", " + deadLetters.size() + " dead letters"));
        return exitCode(vectors, deadLetters.size());
    }

    /** Exit code of a run over files when every record failed: nothing was produced, everything became a dead letter. */
    static final int ALL_RECORDS_FAILED = 3;

    /** 0, or {@link #ALL_RECORDS_FAILED} when records came in and every one of them became a dead letter. */
    static int exitCode(long produced, long deadLetters) {
        return produced == 0 && deadLetters > 0 ? ALL_RECORDS_FAILED : 0;
    }

    /**
     * Every snapshot in a directory, in the order a decoder must see them: by key, then by
     * version as a number ({@code alice@2} before {@code alice@10}). Sorting file names would put
     * version 10 first; a code of version 2 arriving then finds only a newer codebook.
     */
    static List<CodebookSnapshot> readSnapshots(Path codebooksDir) throws IOException {
        List<CodebookSnapshot> snapshots = new ArrayList<>();
        CodebookSnapshotCodec codec = new CodebookSnapshotCodec();
        try (Stream<Path> files = Files.list(codebooksDir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".safetensors")).toList()) {
                Decoded<CodebookSnapshot> d = codec.decode(Files.readAllBytes(f), new Origin(null, 0, 0));
                if (!d.ok()) {
                    throw new ConfigException("--codebooks: " + f + ": " + d.deadLetter().reason());
                }
                snapshots.add(d.value());
            }
        }
        snapshots.sort(Comparator.comparing(CodebookSnapshot::key).thenComparingLong(CodebookSnapshot::version));
        return snapshots;
    }

    static String snapshotFileName(String key, long version) {
        return URLEncoder.encode(key, StandardCharsets.UTF_8) + "@" + version + ".safetensors";
    }

    static String keyOfSnapshotFile(String fileName) {
        return URLDecoder.decode(fileName.substring(0, fileName.lastIndexOf('@')), StandardCharsets.UTF_8);
    }

    private void report(List<DeadLetter> dead, Path file) throws IOException {
        for (DeadLetter d : dead.subList(0, Math.min(dead.size(), 20))) {
            err.println("vqstream: dead letter (" + d.stage() + (d.key() != null ? ", key " + d.key() : "") + "): " + d.reason());
        }
        if (dead.size() > 20) {
            err.println("vqstream: ... and " + (dead.size() - 20) + " more dead letters");
        }
        if (file != null) {
            io.vqstream.connectors.serde.DeadLetterCodec codec = new io.vqstream.connectors.serde.DeadLetterCodec();
            try (Output out = new Output(file)) {
                for (DeadLetter d : dead) {
                    out.line(codec.value(d));
                }
            }
        }
    }

    /** A JSON-lines file written to a sibling temporary file and moved into place when complete. */
    private static final class Output implements AutoCloseable {
        private final Path target;
        private final Path tmp;
        private final OutputStream out;

        Output(Path target) throws IOException {
            Path abs = target.toAbsolutePath();
            if (abs.getParent() != null) {
                Files.createDirectories(abs.getParent());
            }
            this.target = abs;
            this.tmp = abs.resolveSibling(abs.getFileName() + ".part");
            this.out = new BufferedOutputStream(Files.newOutputStream(tmp));
        }

        void line(byte[] json) throws IOException {
            out.write(json);
            out.write('\n');
        }

        @Override
        public void close() throws IOException {
            out.close();
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
    }
}
