package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vqstream.connectors.serde.DeadLetterCodec;
import io.vqstream.connectors.serde.Decoded;
import io.vqstream.connectors.serde.Origin;
import io.vqstream.operators.record.DeadLetter;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whole file-mode jobs over seeded random input with extreme records (huge and tiny finite
 * values, NaN, wrong dimensions, odd keys, broken and binary lines, a long line): the job
 * succeeds, every input line ends up exactly once as a code or as a dead letter, and no emitted
 * number is non-finite.
 */
class FileJobFuzzITCase {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] KEYS = {"a", "b", "\\u0000", "k".repeat(300), "\uD83D\uDE00", "a/b", "..", ""};
    private static final String[] VALUES = {"1e30", "-1e30", "3.4e38", "1e19", "1e-45", "0", "-0.0", "1e39", "\"NaN\"", "\"Infinity\"",
        "null", "1e308"};

    private static String goodVector(SplittableRandom r, int dim) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < dim; i++) {
            b.append(i == 0 ? "" : ",").append(r.nextInt(8) == 0 ? VALUES[r.nextInt(VALUES.length)] : Double.toString(r.nextGaussian()));
        }
        return b.append(']').toString();
    }

    /** One input line (never blank, never containing a newline) for record i. */
    private static byte[] line(SplittableRandom r, int i) {
        String key = r.nextInt(6) == 0 ? KEYS[r.nextInt(KEYS.length)] : (r.nextBoolean() ? "a" : "b");
        String rec = "{\"key\":\"" + key + "\",\"seq\":" + i + ",\"ts\":" + i + ",\"vector\":";
        return switch (r.nextInt(12)) {
            case 0 -> (rec + goodVector(r, r.nextBoolean() ? 3 : 5) + "}").getBytes(StandardCharsets.UTF_8);
            case 1 -> (rec + goodVector(r, 4)).getBytes(StandardCharsets.UTF_8); // cut short
            case 2 -> {
                byte[] junk = new byte[1 + r.nextInt(64)];
                r.nextBytes(junk);
                for (int j = 0; j < junk.length; j++) {
                    if (junk[j] == '\n' || junk[j] == '\r' || junk[j] == ' ' || junk[j] == '\t') {
                        junk[j] = 'x';
                    }
                }
                yield junk;
            }
            case 3 -> ("{\"key\":\"a\",\"seq\":" + i + ",\"pad\":\"" + "y".repeat(r.nextInt(8) == 0 ? 200_000 : 2_000) + "\"}")
                    .getBytes(StandardCharsets.UTF_8);
            default -> (rec + goodVector(r, 4) + "}").getBytes(StandardCharsets.UTF_8);
        };
    }

    private static void runAndAccount(Path dir, String config, String command, long seed, int n) throws Exception {
        SplittableRandom r = new SplittableRandom(seed);
        List<byte[]> lines = new ArrayList<>();
        ByteArrayOutputStream in = new ByteArrayOutputStream();
        for (int i = 0; i < n; i++) {
            byte[] l = line(r, i);
            lines.add(l);
            in.write(l);
            in.write('\n');
        }
        Path input = dir.resolve(command + ".jsonl");
        Files.write(input, in.toByteArray());
        Path cfg = dir.resolve(command + ".yaml");
        Files.writeString(cfg, config);
        Path codes = dir.resolve(command + "-codes.jsonl");
        Path dead = dir.resolve(command + "-dead.jsonl");
        Cli.Result res = Cli.run(command, "--config", cfg.toString(), "--input", input.toString(), "--output", codes.toString(),
                "--dead-letters", dead.toString(), "--codebooks-out", dir.resolve(command + "-books").toString());
        assertEquals(0, res.exitCode(), res.toString());

        int[] seen = new int[n];
        for (String c : Files.readAllLines(codes)) {
            JsonNode node = JSON.readTree(c);
            int seq = node.get("seq").asInt();
            seen[seq]++;
            assertTrue(Float.isFinite((float) node.get("error").asDouble()) && !node.get("error").isTextual(), c);
            if (node.has("quantized")) {
                node.get("quantized").forEach(x -> assertTrue(x.isNumber(), c));
            }
        }
        Map<String, Integer> byPayload = new HashMap<>();
        for (int i = 0; i < n; i++) {
            byPayload.put(Arrays.toString(lines.get(i)), i);
        }
        DeadLetterCodec codec = new DeadLetterCodec().withMaxPayloadBytes(Integer.MAX_VALUE - 8);
        for (String d : Files.readAllLines(dead)) {
            Decoded<DeadLetter> x = codec.decode(d.getBytes(StandardCharsets.UTF_8), Origin.NONE);
            assertTrue(x.ok(), d);
            DeadLetter letter = x.value();
            assertTrue(!letter.reason().isBlank() && !letter.reason().contains("\n"), letter.toString());
            Integer idx = byPayload.get(Arrays.toString(letter.payload()));
            if (idx == null) {
                idx = JSON.readTree(letter.payload()).get("seq").asInt();
            }
            seen[idx]++;
        }
        for (int i = 0; i < n; i++) {
            String text = new String(lines.get(i), StandardCharsets.UTF_8);
            int line = i;
            assertEquals(1, seen[i], () -> "line " + line + " accounted for once (as a code or a dead letter): "
                    + text.substring(0, Math.min(200, text.length())));
        }
    }

    @Test
    void learningVectorQuantizeLosesNothingAndNeverFails(@TempDir Path dir) throws Exception {
        runAndAccount(dir, """
                quantizer:
                  type: VectorQuantize
                  dim: 4
                  codebook_size: 8
                  kmeans_init: true
                batch:
                  size: 8
                  max-delay: none
                codebook:
                  init-min-vectors: 8
                output:
                  quantized: true
                seed: 11
                """, "learn", 0x15A, 600);
    }

    @Test
    void residualQuantizationLosesNothingAndNeverFails(@TempDir Path dir) throws Exception {
        runAndAccount(dir, """
                quantizer:
                  type: ResidualVQ
                  dim: 4
                  num_quantizers: 3
                  codebook_size: 16
                batch:
                  size: 16
                output:
                  quantized: true
                seed: 12
                job:
                  parallelism: 2
                """, "quantize", 0x15B, 600);
    }
}
