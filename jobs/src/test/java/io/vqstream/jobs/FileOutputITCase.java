package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vqstream.jobs.config.JobConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** File-mode output goes through a real sink: no per-record size limit, committed only when the job succeeded. */
class FileOutputITCase {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aMultiMegabyteCodebookSnapshotAndABigBadLineReachTheirFiles(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("rvq.yaml");
        Files.writeString(config, """
                quantizer:
                  type: ResidualVQ
                  dim: 128
                  num_quantizers: 8
                  codebook_size: 1024
                seed: 1
                """);
        SplittableRandom r = new SplittableRandom(2);
        StringBuilder in = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            in.append("{\"key\":\"big\",\"seq\":").append(i).append(",\"vector\":[");
            for (int e = 0; e < 128; e++) {
                in.append(e == 0 ? "" : ",").append(r.nextGaussian());
            }
            in.append("]}\n");
        }
        // a 2 MB line that is not a vector
        String bigLine = "{\"key\":\"big\",\"seq\":3,\"junk\":\"" + "x".repeat(2_000_000) + "\"}";
        in.append(bigLine).append('\n');
        Path input = dir.resolve("in.jsonl");
        Files.writeString(input, in);
        Path codes = dir.resolve("codes.jsonl");
        Path books = dir.resolve("books");
        Path dead = dir.resolve("dead.jsonl");
        Cli.Result q = Cli.run("quantize", "--config", config.toString(), "--input", input.toString(), "--output", codes.toString(),
                "--codebooks-out", books.toString(), "--dead-letters", dead.toString());
        assertEquals(0, q.exitCode(), q.toString());
        assertEquals(3, Files.readAllLines(codes).size());
        List<Path> snapshots;
        try (Stream<Path> s = Files.list(books)) {
            snapshots = s.toList();
        }
        assertEquals(1, snapshots.size(), snapshots.toString());
        assertTrue(Files.size(snapshots.get(0)) > 8L * 1024 * 128 * 4, "snapshot holds the 8x1024x128 codebooks: " + Files.size(snapshots.get(0)));
        List<String> deadLines = Files.readAllLines(dead);
        assertEquals(1, deadLines.size());
        JsonNode d = JSON.readTree(deadLines.get(0));
        assertEquals(bigLine, d.get("payload").asText(), "the whole bad line is kept");
        assertFalse(Files.exists(dir.resolve("codes.jsonl.part")));
        assertFalse(Files.exists(dir.resolve("books.part")));
    }

    @Test
    void aFailedJobLeavesTheFinalPathUntouchedAndSaysWhereThePartialOutputIs(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out.jsonl");
        Files.writeString(out, "previous run\n");
        StagedFileSink.Staged staged = new StagedFileSink.Staged(out, null, null);
        StreamExecutionEnvironment env = JobEnvironment.create(JobConfig.defaults(), false, true);
        FileJobs.sinkTo(env.fromSequence(0, 99).setParallelism(1).map(new FailAt(70)).returns(StagedFileSink.itemType()), staged);
        JobFailedException e = assertThrows(JobFailedException.class, () -> FileJobs.run(env, "failing", staged));
        assertTrue(e.getMessage().startsWith("IllegalStateException: record 70 is broken"), e.getMessage());
        assertTrue(e.getMessage().contains("partial output left in " + out.toAbsolutePath() + ".part"), e.getMessage());
        assertFalse(e.getMessage().contains("Job restarted") || e.getMessage().contains("Recovery is suppressed"), e.getMessage());
        assertEquals("previous run\n", Files.readString(out));
        assertTrue(Files.exists(dir.resolve("out.jsonl.part")));
        assertFalse(Files.exists(dir.resolve(".out.jsonl.dead-letters.part")), "the hidden dead-letter file is removed");
    }

    static final class FailAt implements MapFunction<Long, Tuple3<Integer, String, byte[]>> {
        private final long at;

        FailAt(long at) {
            this.at = at;
        }

        @Override
        public Tuple3<Integer, String, byte[]> map(Long i) {
            if (i == at) {
                throw new IllegalStateException("record " + i + " is broken");
            }
            return StagedFileSink.line(("{\"i\":" + i + "}").getBytes(StandardCharsets.UTF_8));
        }
    }
}
