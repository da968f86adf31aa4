package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vqstream.connectors.serde.CodebookSnapshotCodec;
import io.vqstream.core.io.Npy;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.record.CodebookSnapshot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** quantize, learn and decode on files: JSON lines and .npy in, codes and codebook snapshots out, and back. */
class FileJobsITCase {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path config(Path dir, boolean kmeans) throws Exception {
        Path c = dir.resolve("vq.yaml");
        Files.writeString(c, """
                quantizer:
                  type: ResidualVQ
                  dim: 6
                  num_quantizers: 2
                  codebook_size: 8
                """ + (kmeans ? "  kmeans_init: true\n" : "") + """
                batch:
                  size: 16
                  max-delay: none
                codebook:
                  init-min-vectors: 16
                output:
                  quantized: true
                seed: 5
                job:
                  parallelism: 1
                """);
        return c;
    }

    private static List<JsonNode> lines(Path f) throws Exception {
        List<JsonNode> l = new ArrayList<>();
        for (String s : Files.readAllLines(f)) {
            l.add(JSON.readTree(s));
        }
        return l;
    }

    private static float[] floats(JsonNode a) {
        float[] f = new float[a.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) a.get(i).asDouble();
        }
        return f;
    }

    @Test
    void learnWritesEveryVersionAndDecodeReconstructsTheQuantizedVectors(@TempDir Path dir) throws Exception {
        SplittableRandom r = new SplittableRandom(3);
        StringBuilder in = new StringBuilder();
        for (int i = 0; i < 120; i++) {
            StringBuilder v = new StringBuilder();
            for (int e = 0; e < 6; e++) {
                v.append(e == 0 ? "" : ",").append(r.nextGaussian());
            }
            in.append("{\"key\":\"s").append(i % 2).append("\",\"seq\":").append(i / 2).append(",\"ts\":").append(i)
                    .append(",\"vector\":[").append(v).append("]}\n");
        }
        in.append("\n{\"key\":\"s0\",\"seq\":999,\"vector\":[1,\"NaN\",3,4,5,6]}\n");
        Path vectors = dir.resolve("in.jsonl");
        Files.writeString(vectors, in.toString());
        Path codes = dir.resolve("codes.jsonl");
        Path books = dir.resolve("books");
        Path dead = dir.resolve("dead.jsonl");
        Cli.Result learn = Cli.run("learn", "--config", config(dir, true).toString(), "--input", vectors.toString(), "--output",
                codes.toString(), "--codebooks-out", books.toString(), "--dead-letters", dead.toString());
        assertEquals(0, learn.exitCode(), learn.toString());

        List<JsonNode> codeLines = lines(codes);
        assertEquals(120, codeLines.size());
        List<JsonNode> deadLines = lines(dead);
        assertEquals(1, deadLines.size());
        assertTrue(deadLines.get(0).get("reason").asText().contains("\"NaN\""), deadLines.get(0).toString());
        // every version that produced a code was written
        for (JsonNode c : codeLines) {
            String f = FileJobs.snapshotFileName(c.get("key").asText(), c.get("codebook_version").asLong());
            assertTrue(Files.exists(books.resolve(f)), f);
        }

        Path decoded = dir.resolve("decoded.jsonl");
        Cli.Result dec = Cli.run("decode", "--input", codes.toString(), "--codebooks", books.toString(), "--output", decoded.toString());
        assertEquals(0, dec.exitCode(), dec.toString());
        Map<String, float[]> quantized = new HashMap<>();
        for (JsonNode c : codeLines) {
            quantized.put(c.get("key").asText() + "#" + c.get("seq").asLong(), floats(c.get("quantized")));
        }
        List<JsonNode> out = lines(decoded);
        assertEquals(120, out.size());
        for (JsonNode v : out) {
            float[] want = quantized.get(v.get("key").asText() + "#" + v.get("seq").asLong());
            assertArrayEquals(want, floats(v.get("vector")), 1e-5f, v.toString());
        }
    }

    /** A VectorQuantize (dim 2, 3 codes) snapshot of key alice whose code c decodes to (version, 10 c). */
    private static CodebookSnapshot aliceAt(long version) {
        float v = version;
        Params p = new Params()
                .put("_codebook.embed", new Tensor(new float[] {v, 0f, v, 10f, v, 20f}, 1, 3, 2))
                .put("_codebook.initted", Tensor.scalar(1f).reshape())
                .put("_codebook.cluster_size", new Tensor(new float[] {1f, 1f, 1f}, 1, 3));
        return new CodebookSnapshot("alice", version, version, "VectorQuantize", "{\"dim\":2,\"codebook_size\":3}", p);
    }

    @Test
    void decodeOrdersSnapshotVersionsAsNumbers(@TempDir Path dir) throws Exception {
        Path books = Files.createDirectories(dir.resolve("books"));
        long[] versions = {10, 2, 11, 9, 1};
        StringBuilder codes = new StringBuilder();
        for (long v : versions) {
            Files.write(books.resolve(FileJobs.snapshotFileName("alice", v)), CodebookSnapshotCodec.encode(aliceAt(v)));
            codes.append("{\"key\":\"alice\",\"seq\":").append(v).append(",\"ts\":").append(v).append(",\"codes\":[").append(v % 3)
                    .append("],\"codebook_version\":").append(v).append("}\n");
        }
        assertEquals(List.of(1L, 2L, 9L, 10L, 11L), FileJobs.readSnapshots(books).stream().map(CodebookSnapshot::version).toList());

        Path in = dir.resolve("codes.jsonl");
        Files.writeString(in, codes);
        Path out = dir.resolve("vectors.jsonl");
        Cli.Result dec = Cli.run("decode", "--input", in.toString(), "--codebooks", books.toString(), "--output", out.toString());
        assertEquals(0, dec.exitCode(), dec.toString());
        List<JsonNode> decoded = lines(out);
        assertEquals(versions.length, decoded.size(), dec.toString());
        for (JsonNode v : decoded) {
            long version = v.get("seq").asLong();
            // decoded with its own version, not the nearest older one
            assertArrayEquals(new float[] {version, 10f * (version % 3)}, floats(v.get("vector")), 0f, v.toString());
            assertTrue(v.path("attributes").path("vq.decoded_version").isMissingNode(), v.toString());
        }
    }

    @Test
    void aRunInWhichEveryRecordFailedExitsWithThree(@TempDir Path dir) throws Exception {
        Path vectors = dir.resolve("in.jsonl");
        Files.writeString(vectors, "{\"key\":\"a\",\"vector\":[1,2,3]}\n{\"key\":\"a\",\"vector\":[1,2,3,4,5,\"NaN\"]}\nnot json\n");
        Path codes = dir.resolve("codes.jsonl");
        Cli.Result q = Cli.run("quantize", "--config", config(dir, false).toString(), "--input", vectors.toString(), "--output",
                codes.toString());
        assertEquals(3, q.exitCode(), q.toString());
        assertTrue(q.err().contains("0 code records") && q.err().contains("3 dead letters"), q.err());
        assertEquals(List.of(), Files.readAllLines(codes));

        // one good record among the bad ones: the run succeeded for what it could do
        Files.writeString(vectors, "{\"key\":\"a\",\"vector\":[1,2,3,4,5,6]}\nnot json\n", java.nio.file.StandardOpenOption.APPEND);
        Cli.Result partly = Cli.run("quantize", "--config", config(dir, false).toString(), "--input", vectors.toString(), "--output",
                codes.toString());
        assertEquals(0, partly.exitCode(), partly.toString());
        assertEquals(1, Files.readAllLines(codes).size());
    }

    @Test
    void npyRowsAreOneStreamNamedAfterTheFile(@TempDir Path dir) throws Exception {
        SplittableRandom r = new SplittableRandom(4);
        float[] data = new float[40 * 6];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) r.nextGaussian();
        }
        Path npy = dir.resolve("sensor-7.npy");
        Npy.write(npy, new Tensor(data, 40, 6));
        Path codes = dir.resolve("codes.jsonl");
        Cli.Result q = Cli.run("quantize", "--config", config(dir, false).toString(), "--input", npy.toString(), "--output", codes.toString());
        assertEquals(0, q.exitCode(), q.toString());
        List<JsonNode> lines = lines(codes);
        assertEquals(40, lines.size());
        for (int i = 0; i < 40; i++) {
            assertEquals("sensor-7", lines.get(i).get("key").asText());
            assertEquals(i, lines.get(i).get("seq").asLong());
            assertEquals(2, lines.get(i).get("codes").size());
        }
        Path wrongRank = dir.resolve("bad.npy");
        Npy.write(wrongRank, new Tensor(new float[6], 6));
        Cli.Result bad = Cli.run("quantize", "--config", config(dir, false).toString(), "--input", wrongRank.toString(), "--output",
                codes.toString());
        assertEquals(2, bad.exitCode(), bad.toString());
        assertTrue(bad.err().contains("rank 1"), bad.err());
    }
}
