package io.vqstream.jobs;

import io.vqstream.connectors.serde.CodeCodec;
import io.vqstream.connectors.serde.CodebookSnapshotCodec;
import io.vqstream.connectors.serde.Decoded;
import io.vqstream.connectors.serde.DecodedStreams;
import io.vqstream.connectors.serde.Origin;
import io.vqstream.connectors.serde.VectorCodec;
import io.vqstream.connectors.serde.WireFormat;
import io.vqstream.core.io.KeyFileNames;
import io.vqstream.jobs.config.ConfigException;
import io.vqstream.jobs.config.JobConfig;
import io.vqstream.operators.VqStreams;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.java.tuple.Tuple3;

/**
 * The embedded mode of quantize, learn and decode: vectors from JSON lines (the Kafka JSON
 * format, one per line) or an {@code (N, D)} .npy, codes to JSON lines, codebook snapshots to a
 * directory ({@code <name>@<version>.safetensors}, the key named by {@link KeyFileNames}, the Kafka snapshot payload),
 * dead letters reported on stderr and optionally written as JSON lines.
 */
final class FileJobs {
    private final PrintStream err;

    FileJobs(PrintStream err) {
        this.err = err;
    }

    /** Vectors file → codes JSON lines (+ codebook snapshots directory). */
    int quantize(JobConfig c, Path input, Path output, Path codebooksOut, Path deadLettersOut) throws Exception {
        requireFileMode(c);
        if (FileSources.holdsNoRecords(input)) {
            OperatorConfigs.quantize(c);
            writeEmpty(new StagedFileSink.Staged(output, deadLettersOut, codebooksOut));
            err.println("vqstream: " + input + " holds no vectors; 0 code records written to " + output.toAbsolutePath());
            return 0;
        }
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
        VqStreams.Quantized q = VqStreams.quantize(vectors, null, OperatorConfigs.quantize(c, codebooksOut != null), "vq-quantize");
        DataStream<DeadLetter> dead = inputDead == null ? q.deadLetters() : q.deadLetters().union(inputDead);

        StagedFileSink.Staged staged = new StagedFileSink.Staged(output, deadLettersOut, codebooksOut);
        staged.clearFiles();
        DataStream<Tuple3<Integer, String, byte[]>> items = q.codes().map(new CodeLine()).returns(StagedFileSink.itemType())
                .union(dead.map(new DeadLetterLine()).returns(StagedFileSink.itemType()));
        if (codebooksOut != null) {
            items = items.union(q.codebooks().map(new SnapshotFile()).returns(StagedFileSink.itemType()));
        }
        sinkTo(items, staged);
        run(env, c.jobName != null ? c.jobName : (c.learn ? "vqstream-learn" : "vqstream-quantize"), staged);
        long codes = countLines(staged.stagedLines());
        long snapshots = codebooksOut == null ? 0 : countFiles(Path.of(staged.files));
        long deadLetters = report(staged.stagedDeadLetters());
        staged.commit();
        err.println("vqstream: " + codes + " code records written to " + output.toAbsolutePath()
                + (codebooksOut != null ? ", " + snapshots + " codebook snapshots to " + codebooksOut.toAbsolutePath() : "")
                + (deadLetters == 0 ? "" : ", " + deadLetters + " dead letters"));
        return exitCode(codes, deadLetters);
    }

    /** Codes JSON lines + a directory of codebook snapshots → vectors JSON lines. */
    int decode(JobConfig c, Path codesIn, Path codebooksDir, Path output, Path deadLettersOut, int maxVersions, int maxWaiting)
            throws Exception {
        requireFileMode(c);
        if (!Files.isDirectory(codebooksDir)) {
            throw new ConfigException("--codebooks: not a directory: " + codebooksDir);
        }
        List<CodebookSnapshot> snapshots = readSnapshots(codebooksDir);
        if (snapshots.isEmpty()) {
            throw new ConfigException("--codebooks: no codebook snapshots (*.safetensors) in " + codebooksDir);
        }
        if (FileSources.holdsNoRecords(codesIn)) {
            writeEmpty(new StagedFileSink.Staged(output, deadLettersOut, null));
            err.println("vqstream: " + codesIn + " holds no codes; 0 vectors written to " + output.toAbsolutePath());
            return 0;
        }
        StreamExecutionEnvironment env = JobEnvironment.create(c, false, true);
        DecodedStreams.Split<CodeRecord> codes = DecodedStreams.split(env.fromSource(FileSources.jsonLines(codesIn, CodeCodec.json()),
                WatermarkStrategy.noWatermarks(), "jsonl-codes").setParallelism(1).uid("vq-file-codes"), "vq-file-codes-decode");
        DataStream<CodebookSnapshot> books = env.fromData(snapshots, CodebookSnapshot.typeInfo()).setParallelism(1);
        VqStreams.Decoded d = VqStreams.decode(codes.values(), books, maxVersions, maxWaiting, "vq-decode");
        StagedFileSink.Staged staged = new StagedFileSink.Staged(output, deadLettersOut, null);
        DataStream<Tuple3<Integer, String, byte[]>> items = d.vectors().map(new VectorLine()).returns(StagedFileSink.itemType())
                .union(d.deadLetters().union(codes.deadLetters()).map(new DeadLetterLine()).returns(StagedFileSink.itemType()));
        sinkTo(items, staged);
        run(env, c.jobName != null ? c.jobName : "vqstream-decode", staged);
        long vectors = countLines(staged.stagedLines());
        long deadLetters = report(staged.stagedDeadLetters());
        staged.commit();
        err.println("vqstream: " + vectors + " vectors written to " + output.toAbsolutePath()
                + (deadLetters == 0 ? "" : ", " + deadLetters + " dead letters"));
        return exitCode(vectors, deadLetters);
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

    /** {@code <name>@<version>.safetensors}, the key's name by {@link KeyFileNames} (the snapshot's metadata holds the key). */
    static String snapshotFileName(String key, long version) {
        return KeyFileNames.nameOf(key) + "@" + version + ".safetensors";
    }

    /**
     * Settings that apply to Kafka jobs only are refused in file mode rather than ignored: a file
     * job reads JSON lines (or .npy) and writes JSON lines, and reads its whole input on every run.
     */
    static void requireFileMode(JobConfig c) {
        if (c.restoreFrom != null) {
            throw new ConfigException("--restore-from: a job over files does not resume from a checkpoint or savepoint; run it again"
                    + " without --restore-from (it reads its whole input and replaces its output)");
        }
        if (c.inputFormat == JobConfig.Format.BINARY || c.outputFormat == JobConfig.Format.BINARY) {
            throw new ConfigException("input.format/output.format binary applies to Kafka topics; files are read and written as JSON lines"
                    + " (.npy also as input)");
        }
    }

    /** The single writer of a file job's output (uid {@code vq-sink-file}). */
    static void sinkTo(DataStream<Tuple3<Integer, String, byte[]>> items, StagedFileSink.Staged staged) {
        items.sinkTo(new StagedFileSink(staged)).setParallelism(1).setMaxParallelism(1).uid("vq-sink-file").name("file-output");
    }

    /**
     * Runs a file job to its end. A failure leaves the final paths untouched and is reported with
     * its root cause and where the partial output is (a {@link JobFailedException}).
     */
    static void run(StreamExecutionEnvironment env, String name, StagedFileSink.Staged staged) throws Exception {
        try {
            JobEnvironment.start(env, name).getJobExecutionResult().get();
        } catch (java.util.concurrent.ExecutionException | RuntimeException e) {
            staged.discardHidden();
            if (VqstreamCli.cancelled(e)) {
                throw new JobFailedException("job cancelled; " + staged.partial());
            }
            throw new JobFailedException(JobFailedException.rootCause(e) + "; " + staged.partial(), e);
        }
    }

    /** The outputs of a job over an input with no records: empty files (a job over zero records is not run). */
    private static void writeEmpty(StagedFileSink.Staged staged) throws IOException {
        Files.write(staged.stagedLines(), new byte[0]);
        Files.write(staged.stagedDeadLetters(), new byte[0]);
        staged.commit();
    }

    static long countLines(Path file) throws IOException {
        long n = 0;
        try (java.io.InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            byte[] buf = new byte[1 << 16];
            int r;
            while ((r = in.read(buf)) > 0) {
                for (int i = 0; i < r; i++) {
                    if (buf[i] == '\n') {
                        n++;
                    }
                }
            }
        }
        return n;
    }

    static long countFiles(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    /** Prints the first 20 dead letters of a staged dead-letter file; returns how many it holds. */
    private long report(Path deadLetters) throws IOException {
        return reportDeadLetters(err, "vqstream", deadLetters);
    }

    static long reportDeadLetters(PrintStream err, String prefix, Path deadLetters) throws IOException {
        long n = 0;
        io.vqstream.connectors.serde.DeadLetterCodec codec = new io.vqstream.connectors.serde.DeadLetterCodec()
                .withMaxPayloadBytes(Integer.MAX_VALUE - 8);
        try (java.io.BufferedReader r = Files.newBufferedReader(deadLetters, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.isEmpty()) {
                    continue;
                }
                if (n < 20) {
                    Decoded<DeadLetter> d = codec.decode(line.getBytes(StandardCharsets.UTF_8), new Origin(null, n, 0));
                    if (d.ok()) {
                        DeadLetter x = d.value();
                        err.println(prefix + ": dead letter (" + x.stage().wireName() + (x.key() != null ? ", key " + printable(x.key()) : "") + "): "
                                + x.reason());
                    }
                }
                n++;
            }
        }
        if (n > 20) {
            err.println(prefix + ": ... and " + (n - 20) + " more dead letters");
        }
        return n;
    }

    /** A key as one printable line (control characters escaped, long keys cut). */
    static String printable(String key) {
        StringBuilder b = new StringBuilder();
        key.codePoints().limit(80).forEach(cp -> {
            if (Character.isISOControl(cp)) {
                b.append(String.format("\\u%04x", cp));
            } else {
                b.appendCodePoint(cp);
            }
        });
        return key.codePointCount(0, key.length()) > 80 ? b + "..." : b.toString();
    }

    /** Dead letters in file mode keep their whole payload (no Kafka record limit applies). */
    static final io.vqstream.connectors.serde.DeadLetterCodec FILE_DEAD_LETTERS =
            new io.vqstream.connectors.serde.DeadLetterCodec().withMaxRecordBytes(Integer.MAX_VALUE - 8);

    static final class DeadLetterLine implements MapFunction<DeadLetter, Tuple3<Integer, String, byte[]>> {
        private static final long serialVersionUID = 1L;

        @Override
        public Tuple3<Integer, String, byte[]> map(DeadLetter d) {
            return StagedFileSink.deadLetter(FILE_DEAD_LETTERS.value(d));
        }
    }

    /** A record the output format cannot hold becomes a dead letter (stage {@code serialize}), never a job failure. */
    static Tuple3<Integer, String, byte[]> unencodable(String key, long eventTime, Object record, RuntimeException e) {
        return StagedFileSink.deadLetter(FILE_DEAD_LETTERS.value(new DeadLetter(key, DeadLetter.Stage.SERIALIZE,
                "cannot write the record: " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""),
                String.valueOf(record).getBytes(StandardCharsets.UTF_8), eventTime)));
    }

    static final class CodeLine implements MapFunction<CodeRecord, Tuple3<Integer, String, byte[]>> {
        private static final long serialVersionUID = 1L;

        @Override
        public Tuple3<Integer, String, byte[]> map(CodeRecord r) {
            try {
                return StagedFileSink.line(CodeCodec.encode(r, WireFormat.JSON));
            } catch (RuntimeException e) {
                return unencodable(r.key(), r.eventTime(), r, e);
            }
        }
    }

    static final class VectorLine implements MapFunction<VectorRecord, Tuple3<Integer, String, byte[]>> {
        private static final long serialVersionUID = 1L;

        @Override
        public Tuple3<Integer, String, byte[]> map(VectorRecord r) {
            try {
                return StagedFileSink.line(VectorCodec.encode(r, WireFormat.JSON));
            } catch (RuntimeException e) {
                return unencodable(r.key(), r.eventTime(), r, e);
            }
        }
    }

    static final class SnapshotFile implements MapFunction<CodebookSnapshot, Tuple3<Integer, String, byte[]>> {
        private static final long serialVersionUID = 1L;

        @Override
        public Tuple3<Integer, String, byte[]> map(CodebookSnapshot s) {
            return StagedFileSink.file(snapshotFileName(s.key(), s.version()), CodebookSnapshotCodec.encode(s));
        }
    }
}
