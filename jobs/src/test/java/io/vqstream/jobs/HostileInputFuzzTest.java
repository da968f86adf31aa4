package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vqstream.connectors.audio.AudioFormatException;
import io.vqstream.connectors.audio.SampleEncoding;
import io.vqstream.connectors.audio.WavReader;
import io.vqstream.connectors.audio.WavWriter;
import io.vqstream.connectors.serde.CodeCodec;
import io.vqstream.connectors.serde.ControlMessageCodec;
import io.vqstream.connectors.serde.Decoded;
import io.vqstream.connectors.serde.Origin;
import io.vqstream.connectors.serde.PayloadCodec;
import io.vqstream.connectors.serde.VectorCodec;
import io.vqstream.connectors.serde.WireFormat;
import io.vqstream.core.io.Npy;
import io.vqstream.core.io.SafeTensors;
import io.vqstream.core.io.TensorFormatException;
import io.vqstream.core.quantize.Quantizers;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.jobs.config.ConfigException;
import io.vqstream.jobs.config.JobConfig;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.ControlMessage;
import io.vqstream.operators.record.DeadLetter;
import io.vqstream.operators.record.VectorRecord;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded fuzzing of every reader of outside bytes: a mutated payload or file is either read or
 * refused with the reader's own one-line error (codecs: a dead letter), never another exception.
 * A payload that decodes encodes again and decodes to the same record.
 */
class HostileInputFuzzTest {
    private static final long SEED = 0x15F0_22L;
    private static final String[] KEYS = {"a", "speaker-7", "a/b", "\u0000", "k".repeat(300), "ключ", "\uD83D\uDE00", " ", "..",
        "%2F"};
    private static final float[] EXTREMES = {0f, -0f, 1e30f, -1e30f, Float.MAX_VALUE, Float.MIN_VALUE, 1e-38f, 65504f, 1e19f};
    private static final String[] JSON_SPLICES = {"1e30", "1e400", "-1e400", "\"NaN\"", "null", "true", "[]", "{}", "\"\"",
        "9223372036854775808", "-0", "0.0e-999", "\"\\u0000\"", "[[1]]", "\"\\uD800\"", "1" + "0".repeat(400)};

    private static byte[] mutate(SplittableRandom r, byte[] in) {
        byte[] b = in.clone();
        int ops = 1 + r.nextInt(4);
        for (int o = 0; o < ops && b.length > 0; o++) {
            switch (r.nextInt(6)) {
                case 0 -> b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
                case 1 -> b[r.nextInt(b.length)] = (byte) r.nextInt(256);
                case 2 -> b = Arrays.copyOf(b, r.nextInt(b.length));
                case 3 -> {
                    int at = r.nextInt(b.length + 1);
                    byte[] ins = new byte[1 + r.nextInt(16)];
                    r.nextBytes(ins);
                    byte[] c = new byte[b.length + ins.length];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(ins, 0, c, at, ins.length);
                    System.arraycopy(b, at, c, at + ins.length, b.length - at);
                    b = c;
                }
                case 4 -> {
                    // an extreme little-endian number somewhere (lengths, offsets, sizes)
                    if (b.length >= 8) {
                        int at = r.nextInt(b.length - 7);
                        long v = switch (r.nextInt(4)) {
                            case 0 -> -1L;
                            case 1 -> Integer.MAX_VALUE;
                            case 2 -> Long.MIN_VALUE;
                            default -> 1L << r.nextInt(63);
                        };
                        for (int i = 0; i < 8; i++) {
                            b[at + i] = (byte) (v >>> (8 * i));
                        }
                    }
                }
                default -> {
                    int at = r.nextInt(b.length);
                    int len = Math.min(b.length - at, 1 + r.nextInt(8));
                    Arrays.fill(b, at, at + len, (byte) 0);
                }
            }
        }
        return b;
    }

    /** Replaces one JSON scalar (number, string, literal) with an extreme one. */
    private static byte[] spliceJson(SplittableRandom r, byte[] json) {
        String s = new String(json, StandardCharsets.UTF_8);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?|\"[^\"]*\"|true|false|null").matcher(s);
        java.util.List<int[]> spans = new java.util.ArrayList<>();
        while (m.find()) {
            spans.add(new int[] {m.start(), m.end()});
        }
        if (spans.isEmpty()) {
            return json;
        }
        int[] sp = spans.get(r.nextInt(spans.size()));
        return (s.substring(0, sp[0]) + JSON_SPLICES[r.nextInt(JSON_SPLICES.length)] + s.substring(sp[1])).getBytes(StandardCharsets.UTF_8);
    }

    private static float[] vector(SplittableRandom r, int dim) {
        float[] v = new float[dim];
        for (int i = 0; i < dim; i++) {
            v[i] = r.nextInt(10) == 0 ? EXTREMES[r.nextInt(EXTREMES.length)] : (float) r.nextGaussian();
        }
        return v;
    }

    private static Map<String, String> attributes(SplittableRandom r) {
        return r.nextBoolean() ? Map.of() : Map.of("src", KEYS[r.nextInt(KEYS.length)]);
    }

    /** Decodes n mutated payloads; checks the codec's contract on each; returns how many decoded. */
    private static <T> int fuzzCodec(SplittableRandom r, int n, PayloadCodec<T> codec, Function<SplittableRandom, byte[]> valid,
            Function<T, byte[]> encode, boolean json) {
        int ok = 0;
        for (int i = 0; i < n; i++) {
            byte[] good = valid.apply(r);
            Decoded<T> base = codec.decode(good, new Origin(null, i, 0));
            assertTrue(base.ok(), () -> "a valid payload decodes: " + base.deadLetter());
            byte[] bad = json && r.nextBoolean() ? spliceJson(r, good) : mutate(r, good);
            Decoded<T> d;
            try {
                d = codec.decode(bad, new Origin(null, i, 0));
            } catch (Throwable t) {
                fail("decode threw on case " + i + ": " + t, t);
                return ok;
            }
            if (d.ok()) {
                ok++;
                byte[] again = encode.apply(d.value());
                Decoded<T> back = codec.decode(again, new Origin(null, i, 0));
                assertTrue(back.ok(), () -> "what decodes encodes and decodes again: " + back.deadLetter());
                assertEquals(String.valueOf(d.value()), String.valueOf(back.value()));
            } else {
                DeadLetter dl = d.deadLetter();
                assertEquals(DeadLetter.Stage.DESERIALIZE, dl.stage());
                assertFalse(dl.reason().isBlank() || dl.reason().contains("\n"), dl.reason());
                assertTrue(Arrays.equals(bad, dl.payload()), "the dead letter carries the payload");
            }
        }
        return ok;
    }

    @Test
    void vectorAndCodeCodecsDecodeOrDeadLetterEveryMutation() {
        SplittableRandom r = new SplittableRandom(SEED);
        for (WireFormat f : WireFormat.values()) {
            VectorCodec vc = new VectorCodec(f);
            fuzzCodec(r, 500, vc, x -> VectorCodec.encode(new VectorRecord(KEYS[x.nextInt(KEYS.length)], x.nextLong(), x.nextLong(),
                    vector(x, 1 + x.nextInt(8)), f == WireFormat.JSON ? attributes(x) : Map.of()), f), v -> VectorCodec.encode(v, f),
                    f == WireFormat.JSON);
            CodeCodec cc = new CodeCodec(f);
            fuzzCodec(r, 500, cc, x -> {
                long[] codes = new long[1 + x.nextInt(4)];
                for (int i = 0; i < codes.length; i++) {
                    codes[i] = x.nextInt(5) == 0 ? -1 : x.nextInt(1 << 20);
                }
                float[] q = x.nextBoolean() ? vector(x, 1 + x.nextInt(6)) : null;
                return CodeCodec.encode(new CodeRecord(KEYS[x.nextInt(KEYS.length)], x.nextLong(), x.nextLong(), codes, x.nextInt(1000), q,
                        x.nextBoolean() ? (float) x.nextDouble() : Float.NaN, f == WireFormat.JSON ? attributes(x) : Map.of()), f);
            }, c -> CodeCodec.encode(c, f), f == WireFormat.JSON);
        }
    }

    @Test
    void controlMessagesDecodeOrDeadLetterEveryMutation() {
        SplittableRandom r = new SplittableRandom(SEED + 1);
        var q = Quantizers.create("VectorQuantize", Map.of("dim", 4, "codebook_size", 8));
        fuzzCodec(r, 600, new ControlMessageCodec(), x -> {
            ControlMessage.Kind kind = ControlMessage.Kind.values()[x.nextInt(4)];
            String key = x.nextBoolean() ? null : KEYS[x.nextInt(3)];
            return ControlMessageCodec.encode(kind == ControlMessage.Kind.INSTALL ? ControlMessage.install(key, q.initParams(x.nextLong()))
                    : ControlMessage.of(kind, key));
        }, ControlMessageCodec::encode, false);
    }

    @Test
    void safetensorsAndNpyReadersRefuseOnlyWithTheirOwnError(@TempDir Path dir) throws Exception {
        SplittableRandom r = new SplittableRandom(SEED + 2);
        byte[] st = SafeTensors.writer().metadata("key", "k").put("a", new Tensor(new float[] {1, 2, 3, 4, 5, 6}, 2, 3))
                .put("b", new Tensor(new float[] {7}, 1)).toBytes();
        Npy.write(dir.resolve("x.npy"), new Tensor(new float[] {1, 2, 3, 4, 5, 6}, 3, 2));
        byte[] npy = Files.readAllBytes(dir.resolve("x.npy"));
        int read = 0;
        for (int i = 0; i < 1000; i++) {
            boolean isNpy = i % 2 == 1;
            byte[] bad = mutate(r, isNpy ? npy : st);
            try {
                if (isNpy) {
                    Npy.read(bad, "case " + i).asFloat();
                } else {
                    SafeTensors.read(bad, "case " + i).allAsFloat();
                }
                read++;
            } catch (TensorFormatException e) {
                assertTrue(e.getMessage().startsWith("case " + i), e.getMessage());
                assertFalse(e.getMessage().contains("\n"), e.getMessage());
            } catch (Throwable t) {
                fail("case " + i + " (" + (isNpy ? "npy" : "safetensors") + ") threw " + t, t);
            }
        }
        assertTrue(read > 0 && read < 1000, "some mutations are still readable, most are not: " + read);
    }

    @Test
    void wavReaderRefusesOnlyWithItsOwnError() {
        SplittableRandom r = new SplittableRandom(SEED + 3);
        float[] samples = new float[200];
        for (int i = 0; i < samples.length; i++) {
            samples[i] = (float) Math.sin(i * 0.1);
        }
        for (int i = 0; i < 600; i++) {
            SampleEncoding enc = SampleEncoding.values()[r.nextInt(SampleEncoding.values().length)];
            int channels = 1 + r.nextInt(2);
            byte[] wav = WavWriter.toBytes(enc, 8000 + r.nextInt(40000), channels, Arrays.copyOf(samples, 100 * channels), r.nextBoolean());
            byte[] bad = mutate(r, wav);
            for (WavReader.Truncation t : WavReader.Truncation.values()) {
                try {
                    WavReader.read(bad, "case " + i, t);
                } catch (AudioFormatException e) {
                    assertFalse(e.getMessage().isBlank() || e.getMessage().contains("\n"), e.getMessage());
                } catch (Throwable e) {
                    fail("case " + i + " threw " + e, e);
                }
            }
        }
    }

    @Test
    void yamlConfigsLoadOrFailWithOneConfigError(@TempDir Path dir) throws Exception {
        SplittableRandom r = new SplittableRandom(SEED + 4);
        String base = """
                quantizer:
                  type: ResidualVQ
                  dim: 8
                  codebook_size: 16
                  num_quantizers: 2
                  decay: 0.9
                learn: true
                seed: 3
                batch:
                  size: 32
                  max-delay: 50ms
                codebook:
                  init-min-vectors: 16
                audio:
                  chunk-samples: 1600
                job:
                  parallelism: 2
                  checkpoint-interval: 10s
                """;
        String[] values = {".nan", ".inf", "-.inf", "-1", "0", "2147483647", "9223372036854775807", "1e300", "''", "[1, 2]", "{a: 1}",
            "&x 1", "*x", "!!binary AAAA", "\"\\0\"", "~", "yes", "1_000", "0x7fffffff", "[[[[[[]]]]]]"};
        Path f = dir.resolve("c.yaml");
        int loaded = 0;
        for (int i = 0; i < 600; i++) {
            String text;
            if (r.nextBoolean()) {
                String[] lines = base.split("\n");
                int at = r.nextInt(lines.length);
                int colon = lines[at].indexOf(':');
                if (colon > 0 && colon < lines[at].length() - 1) {
                    lines[at] = lines[at].substring(0, colon + 1) + " " + values[r.nextInt(values.length)];
                } else {
                    lines[at] = lines[at] + " " + values[r.nextInt(values.length)];
                }
                if (r.nextInt(5) == 0) {
                    lines[r.nextInt(lines.length)] = lines[at];
                }
                text = String.join("\n", lines) + "\n";
            } else {
                text = new String(mutate(r, base.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
            }
            Files.writeString(f, text);
            try {
                JobConfig.load(f);
                loaded++;
            } catch (ConfigException e) {
                assertFalse(e.getMessage().isBlank() || e.getMessage().contains("\n"), e.getMessage());
            } catch (Throwable t) {
                fail("case " + i + " threw " + t + " for\n" + text, t);
            }
        }
        assertTrue(loaded > 0, "some variations are valid configs");
    }
}
