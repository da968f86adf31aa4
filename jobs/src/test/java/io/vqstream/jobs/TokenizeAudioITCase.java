package io.vqstream.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vqstream.connectors.audio.AudioFrontEnd;
import io.vqstream.connectors.audio.FeatureFrame;
import io.vqstream.connectors.audio.SampleEncoding;
import io.vqstream.connectors.audio.WavReader;
import io.vqstream.connectors.audio.WavWriter;
import io.vqstream.core.io.Npy;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.jobs.config.JobConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tokenize-audio --input DIR --output codes.jsonl} on the embedded mini-cluster, over WAV
 * files synthesized here in every supported layout; the codes are checked against features and
 * nearest codebook rows computed in the test from the whole file at once.
 */
class TokenizeAudioITCase {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int[] RATES = {8000, 16000, 22050, 44100, 48000};
    private static final SampleEncoding[] ENCODINGS = {SampleEncoding.PCM_S16, SampleEncoding.PCM_S24, SampleEncoding.PCM_S32,
        SampleEncoding.FLOAT32};
    private static final int CODEBOOK_SIZE = 64;
    private static final int DIM = 80;

    @TempDir
    static Path dir;

    private static Path wavs;
    private static Path config;
    private static JobConfig jobConfig;
    private static float[][] codebook;
    /** key of every synthesized file → its log-mel features, computed from the whole file in one call. */
    private static final Map<String, List<FeatureFrame>> FEATURES = new TreeMap<>();
    /** key → the result of the run over every file with the default chunk size (1600 samples). */
    private static Map<String, List<JsonNode>> baseline;

    /** A 440 Hz tone, or a linear chirp from 100 Hz up to 0.45 × the sample rate (4 kHz at most). */
    static float[] signal(boolean chirp, int rate, int frames, double amplitude) {
        float[] x = new float[frames];
        double f1 = Math.min(4000, 0.45 * rate);
        double seconds = frames / (double) rate;
        for (int i = 0; i < frames; i++) {
            double t = i / (double) rate;
            double phase = chirp ? 2 * Math.PI * (100 * t + (f1 - 100) * t * t / (2 * seconds)) : 2 * Math.PI * 440 * t;
            x[i] = (float) (amplitude * Math.sin(phase));
        }
        return x;
    }

    static float[] interleave(float[] left, float[] right) {
        float[] x = new float[left.length * 2];
        for (int i = 0; i < left.length; i++) {
            x[2 * i] = left[i];
            x[2 * i + 1] = right[i];
        }
        return x;
    }

    private static String name(SampleEncoding e) {
        return switch (e) {
            case PCM_U8 -> "u8";
            case PCM_S16 -> "s16";
            case PCM_S24 -> "s24";
            case PCM_S32 -> "s32";
            case FLOAT32 -> "f32";
            case FLOAT64 -> "f64";
        };
    }

    @BeforeAll
    static void synthesize() throws Exception {
        wavs = Files.createDirectories(dir.resolve("wavs"));
        int n = 0;
        for (int ri = 0; ri < RATES.length; ri++) {
            int rate = RATES[ri];
            for (int ei = 0; ei < ENCODINGS.length; ei++) {
                SampleEncoding enc = ENCODINGS[ei];
                for (int channels = 1; channels <= 2; channels++) {
                    // every rate and every encoding gets tones and chirps, in mono and in stereo
                    boolean chirp = (ri + ei + channels) % 2 == 0;
                    int frames = rate / 2 + 17 * ++n; // about half a second, a different length each
                    float[] mono = signal(chirp, rate, frames, 0.6);
                    float[] data = channels == 1 ? mono : interleave(mono, signal(!chirp, rate, frames, 0.3));
                    String key = "r" + rate + "-" + name(enc) + "-" + (channels == 1 ? "mono" : "stereo") + "-" + (chirp ? "chirp" : "tone");
                    WavWriter.write(wavs.resolve(key + ".wav"), enc, rate, channels, data, false);
                }
            }
        }
        // WAVE_FORMAT_EXTENSIBLE and 64-bit float, as some editors write them
        int frames = 24000;
        WavWriter.write(wavs.resolve("r48000-s24-ext-stereo-chirp.wav"), SampleEncoding.PCM_S24, 48000, 2,
                interleave(signal(true, 48000, frames, 0.5), signal(false, 48000, frames, 0.5)), true);
        WavWriter.write(wavs.resolve("r44100-f64-mono-tone.wav"), SampleEncoding.FLOAT64, 44100, 1, signal(false, 44100, 22050, 0.7), false);

        config = dir.resolve("vq.yaml");
        Files.writeString(config, """
                quantizer:
                  type: VectorQuantize
                  dim: 80
                  codebook_size: 64
                codebook:
                  source: file
                  file: codebook.npy
                batch:
                  size: 32
                  max-delay: 20ms
                audio:
                  chunk-samples: 1600
                job:
                  name: tokenize-audio-test
                """);
        jobConfig = JobConfig.load(config);
        AudioFrontEndConfigHolder.frontEnd = AudioPipeline.frontEnd(jobConfig);
        try (var files = Files.list(wavs)) {
            for (Path f : files.sorted().toList()) {
                String key = f.getFileName().toString().replace(".wav", "");
                FEATURES.put(key, wholeFile(f));
            }
        }
        // a frozen codebook: features of frames spread over the files, so that codes vary
        Random rnd = new Random(11);
        List<FeatureFrame> all = new ArrayList<>();
        FEATURES.values().forEach(all::addAll);
        codebook = new float[CODEBOOK_SIZE][];
        float[] flat = new float[CODEBOOK_SIZE * DIM];
        for (int k = 0; k < CODEBOOK_SIZE; k++) {
            float[] f = all.get(rnd.nextInt(all.size())).features();
            codebook[k] = new float[DIM];
            for (int e = 0; e < DIM; e++) {
                codebook[k][e] = f[e] + (float) (rnd.nextGaussian() * 0.25);
            }
            System.arraycopy(codebook[k], 0, flat, k * DIM, DIM);
        }
        Npy.write(dir.resolve("codebook.npy"), new Tensor(flat, CODEBOOK_SIZE, DIM));
        baseline = tokenize(wavs, 1600);
    }

    /** Holds the front end configuration for the static helpers. */
    private static final class AudioFrontEndConfigHolder {
        static io.vqstream.connectors.audio.AudioFrontEndConfig frontEnd;
    }

    /** The features of a whole file, as one chunk. */
    static List<FeatureFrame> wholeFile(Path wav) throws Exception {
        var audio = WavReader.read(wav);
        AudioFrontEnd fe = new AudioFrontEnd(AudioFrontEndConfigHolder.frontEnd);
        List<FeatureFrame> out = new ArrayList<>(fe.acceptSamples(0, audio.sampleRate(), 1, audio.samples()));
        out.addAll(fe.flush());
        return out;
    }

    /** Runs tokenize-audio with the test config and a chunk size; returns the code records per key, in seq order. */
    static Map<String, List<JsonNode>> tokenize(Path input, int chunkSamples) throws Exception {
        Path cfg = dir.resolve("vq-" + chunkSamples + ".yaml");
        Files.writeString(cfg, Files.readString(config).replace("chunk-samples: 1600", "chunk-samples: " + chunkSamples));
        Path out = dir.resolve("codes-" + chunkSamples + "-" + input.getFileName() + ".jsonl");
        Cli.Result r = Cli.run("tokenize-audio", "--config", cfg.toString(), "--input", input.toString(), "--output", out.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertFalse(r.err().contains("dead letter"), r.toString());
        return readCodes(out);
    }

    static Map<String, List<JsonNode>> readCodes(Path jsonl) throws Exception {
        Map<String, List<JsonNode>> byKey = new TreeMap<>();
        for (String line : Files.readAllLines(jsonl)) {
            JsonNode n = JSON.readTree(line);
            byKey.computeIfAbsent(n.get("key").asText(), k -> new ArrayList<>()).add(n);
        }
        byKey.values().forEach(l -> l.sort((a, b) -> Long.compare(a.get("seq").asLong(), b.get("seq").asLong())));
        return byKey;
    }

    private static long[] codes(JsonNode n) {
        JsonNode c = n.get("codes");
        assertTrue(c.isArray(), "codes is a JSON list: " + n);
        long[] out = new long[c.size()];
        for (int i = 0; i < c.size(); i++) {
            assertTrue(c.get(i).isIntegralNumber(), "codes are integers: " + n);
            out[i] = c.get(i).asLong();
        }
        return out;
    }

    private static double distance(float[] x, float[] e) {
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            double d = (double) x[i] - e[i];
            s += d * d;
        }
        return s;
    }

    @Test
    void everyLayoutGivesOneStreamWithTheExpectedFramesAndCodes() {
        assertEquals(FEATURES.keySet(), baseline.keySet(), "one stream per file, keyed by the file name");
        assertEquals(RATES.length * ENCODINGS.length * 2 + 2, baseline.size());
        Set<Long> used = new HashSet<>();
        for (var e : baseline.entrySet()) {
            String key = e.getKey();
            List<FeatureFrame> expected = FEATURES.get(key);
            List<JsonNode> records = e.getValue();
            assertTrue(expected.size() >= 45, key + ": about half a second gives about 50 frames, got " + expected.size());
            assertEquals(expected.size(), records.size(), key + ": frames");
            for (int i = 0; i < records.size(); i++) {
                JsonNode r = records.get(i);
                assertEquals(i, r.get("seq").asLong(), key + ": seq is the frame index");
                long[] c = codes(r);
                assertEquals(1, c.length, key + ": one code per frame");
                assertTrue(c[0] >= 0 && c[0] < CODEBOOK_SIZE, key + ": code in range: " + r);
                used.add(c[0]);
                // the code is the nearest codebook row to the frame's features computed from the whole file
                float[] x = expected.get(i).features();
                double best = Double.MAX_VALUE;
                for (float[] row : codebook) {
                    best = Math.min(best, distance(x, row));
                }
                double got = distance(x, codebook[(int) c[0]]);
                assertTrue(got <= best * (1 + 1e-4) + 1e-6, key + " frame " + i + ": code " + c[0] + " at distance " + got
                        + ", the nearest row is at " + best);
                assertEquals(got / DIM, r.get("error").asDouble(), 1e-4 * Math.max(1, got / DIM), key + " frame " + i + ": error");
                assertEquals(1, r.get("codebook_version").asLong(), "a frozen codebook has one version");
            }
        }
        assertTrue(used.size() >= 16, "the codes vary with the audio: " + used.size() + " of 64 rows used");
    }

    @Test
    void stereoIsMixedDown() throws Exception {
        // a stereo file's stream equals the stream of its mono mixdown written as a separate file
        Path single = Files.createDirectories(dir.resolve("mixdown"));
        float[] left = signal(true, 22050, 11025, 0.6);
        float[] right = signal(false, 22050, 11025, 0.3);
        float[] mix = new float[left.length];
        for (int i = 0; i < mix.length; i++) {
            mix[i] = (left[i] + right[i]) / 2;
        }
        WavWriter.write(single.resolve("a-stereo.wav"), SampleEncoding.FLOAT32, 22050, 2, interleave(left, right), false);
        WavWriter.write(single.resolve("b-mono.wav"), SampleEncoding.FLOAT32, 22050, 1, mix, false);
        Map<String, List<JsonNode>> got = tokenize(single, 1600);
        List<JsonNode> stereo = got.get("a-stereo");
        List<JsonNode> mono = got.get("b-mono");
        assertEquals(mono.size(), stereo.size());
        for (int i = 0; i < mono.size(); i++) {
            assertEquals(mono.get(i).get("codes"), stereo.get(i).get("codes"), "frame " + i);
            assertEquals(mono.get(i).get("error").asDouble(), stereo.get(i).get("error").asDouble(), 1e-5, "frame " + i);
        }
    }

    @Test
    void codesDoNotDependOnTheChunkSize() throws Exception {
        List<String> keys = List.of("r44100-s24-stereo-chirp", "r8000-s16-mono-tone", "r22050-f32-stereo-tone", "r48000-s24-ext-stereo-chirp");
        assertSameAsBaseline(keys, 37);
        assertSameAsBaseline(keys, 1_000_000);
        // one sample per chunk: every chunk boundary falls inside a resampler filter and a frame (the shortest file: each
        // chunk costs the front end a state restore, about half a millisecond)
        assertSameAsBaseline(List.of("r8000-s16-mono-tone"), 1);
    }

    private void assertSameAsBaseline(List<String> keys, int chunk) throws Exception {
        Path some = Files.createDirectories(dir.resolve("chunks-" + chunk));
        for (String k : keys) {
            assertTrue(baseline.containsKey(k), k);
            Files.copy(wavs.resolve(k + ".wav"), some.resolve(k + ".wav"));
        }
        Map<String, List<JsonNode>> got = tokenize(some, chunk);
        assertEquals(new HashSet<>(keys), got.keySet());
        for (String k : keys) {
            List<JsonNode> want = baseline.get(k);
            List<JsonNode> have = got.get(k);
            assertEquals(want.size(), have.size(), k + " with chunks of " + chunk + ": frames");
            for (int i = 0; i < want.size(); i++) {
                // everything but the event time (each chunk carries its own start time, in whole ms)
                for (String field : List.of("seq", "codes", "codebook_version", "error")) {
                    assertEquals(want.get(i).get(field), have.get(i).get(field),
                            k + " frame " + i + " with chunks of " + chunk + " samples: " + field);
                }
            }
        }
    }

    @Test
    void gatedSilenceIsMaskedAndCountedInTheSummary() throws Exception {
        // 1 s of digital silence, then 1 s of a tone: the gate masks the silent frames
        float[] mono = new float[32000];
        for (int i = 16000; i < mono.length; i++) {
            mono[i] = (float) (0.3 * Math.sin(2 * Math.PI * 440 * i / 16000.0));
        }
        Path wavDir = dir.resolve("gate");
        Files.createDirectories(wavDir);
        Path wav = wavDir.resolve("gate.wav");
        WavWriter.write(wav, SampleEncoding.FLOAT32, 16000, 1, mono, false);
        Path cfg = dir.resolve("gate.yaml");
        Files.writeString(cfg, Files.readString(config).replace("audio:\n", "audio:\n  gate-db: -50\n")
                .replace("file: codebook.npy", "file: " + config.getParent().resolve("codebook.npy")));
        Path out = dir.resolve("gate.jsonl");
        Cli.Result r = Cli.run("tokenize-audio", "--config", cfg.toString(), "--input", wav.toString(), "--output", out.toString());
        assertEquals(0, r.exitCode(), r.toString());
        List<JsonNode> records = readCodes(out).get("gate");
        int gated = 0;
        for (JsonNode n : records) {
            long seq = n.get("seq").asLong();
            long code = codes(n)[0];
            if ((seq * 160 + 400) <= 16000) {
                assertEquals(-1, code, "silent frame " + seq);
            } else if (seq * 160 >= 16000) {
                assertTrue(code >= 0, "tone frame " + seq);
            }
            gated += code == -1 ? 1 : 0;
        }
        assertTrue(gated >= 97 && gated <= 100, "gated " + gated);
        assertTrue(r.err().contains(gated + " frames gated below -50.0 dB"), r.err());
    }

    @Test
    void bundledSpeechWithTheDemosLearningResidualVq() throws Exception {
        Path speech = DemoCommand.bundledRecording();
        Path out = dir.resolve("speech.jsonl");
        Path books = dir.resolve("speech-codebooks");
        Cli.Result r = Cli.run("tokenize-audio", "--input", speech.toString(), "--output", out.toString(), "--codebooks-out", books.toString());
        assertEquals(0, r.exitCode(), r.toString());
        JobConfig demo = DemoCommand.defaultConfig();
        assertEquals("ResidualVQ", demo.quantizerType);
        AudioFrontEnd fe = new AudioFrontEnd(AudioPipeline.frontEnd(demo));
        var audio = WavReader.read(speech);
        int frames = fe.acceptSamples(0, audio.sampleRate(), 1, audio.samples()).size() + fe.flush().size();
        assertEquals(1993, frames, "19.95 s at a 10 ms hop with 25 ms windows");
        Map<String, List<JsonNode>> byKey = readCodes(out);
        assertEquals(Set.of("speech"), byKey.keySet());
        List<JsonNode> records = byKey.get("speech");
        assertEquals(frames, records.size());
        long lastVersion = 0;
        Set<Long> versions = new HashSet<>();
        int[][] usage = new int[4][128];
        for (int i = 0; i < records.size(); i++) {
            JsonNode n = records.get(i);
            assertEquals(i, n.get("seq").asLong());
            long[] c = codes(n);
            assertEquals(4, c.length, "one code per residual layer");
            for (int l = 0; l < 4; l++) {
                assertTrue(c[l] >= 0 && c[l] < 128, "code in range: " + n);
                usage[l][(int) c[l]]++;
            }
            long v = n.get("codebook_version").asLong();
            assertTrue(v >= lastVersion, "codebook versions never go back: frame " + i);
            lastVersion = v;
            versions.add(v);
        }
        // kmeans on the first 512 frames, then one EMA step per 64 frames: the codebook changes along the way
        assertTrue(versions.size() >= 20, "versions seen: " + versions.size());
        for (int l = 0; l < 4; l++) {
            long used = Arrays.stream(usage[l]).filter(u -> u > 0).count();
            assertTrue(used >= 32, "layer " + l + " uses " + used + " of 128 codes");
        }

        // the learned codebooks were written, and decode turns every code back into features:
        // the sum over layers of the rows its codes name in the codebook version it carries
        Path decoded = dir.resolve("speech-decoded.jsonl");
        Cli.Result d = Cli.run("decode", "--input", out.toString(), "--codebooks", books.toString(), "--output", decoded.toString());
        assertEquals(0, d.exitCode(), d.toString());
        Map<String, List<JsonNode>> codesBySeq = readCodes(out);
        List<String> lines = Files.readAllLines(decoded);
        assertEquals(frames, lines.size(), d.toString());
        for (String line : lines) {
            JsonNode v = JSON.readTree(line);
            assertTrue(v.path("attributes").path("vq.decoded_version").isMissingNode(), "decoded with its own version: " + v);
            JsonNode code = codesBySeq.get("speech").get((int) v.get("seq").asLong());
            long version = code.get("codebook_version").asLong();
            Path snapshot = books.resolve(FileJobs.snapshotFileName("speech", version));
            var params = new io.vqstream.connectors.serde.CodebookSnapshotCodec()
                    .decode(Files.readAllBytes(snapshot), new io.vqstream.connectors.serde.Origin(null, 0, 0)).value().params();
            long[] c = codes(code);
            for (int e = 0; e < 80; e++) {
                double want = 0;
                for (int l = 0; l < 4; l++) {
                    want += params.get("layers." + l + "._codebook.embed").get(0, (int) c[l], e);
                }
                assertEquals(want, v.get("vector").get(e).asDouble(), 1e-4 * (1 + Math.abs(want)), "seq " + v.get("seq") + " element " + e);
            }
        }
    }

    @Test
    void brokenAndTruncatedFilesFailWithOneLine() throws Exception {
        Path good = wavs.resolve("r16000-s16-mono-chirp.wav");
        byte[] bytes = Files.readAllBytes(good);

        Path truncated = dir.resolve("truncated.wav");
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length / 2 + 1));
        Path garbage = dir.resolve("garbage.wav");
        byte[] noise = new byte[4096];
        new Random(3).nextBytes(noise);
        Files.write(garbage, noise);
        Path empty = dir.resolve("empty.wav");
        Files.write(empty, new byte[0]);
        Path badFormat = dir.resolve("bad-format.wav");
        byte[] b = bytes.clone();
        b[20] = 2; // format tag 2 (ADPCM) instead of 1 (PCM)
        Files.write(badFormat, b);
        Path headerOnly = dir.resolve("header-only.wav");
        Files.write(headerOnly, Arrays.copyOf(bytes, 30));

        for (Path wav : List.of(truncated, garbage, empty, badFormat, headerOnly)) {
            Path out = dir.resolve("never.jsonl");
            Cli.Result r = Cli.run("tokenize-audio", "--config", config.toString(), "--input", wav.toString(), "--output", out.toString());
            assertEquals(2, r.exitCode(), r.toString());
            assertEquals(1, r.errLines().size(), "one line: " + r);
            String line = r.errLines().get(0);
            assertTrue(line.startsWith("vqstream tokenize-audio: ") && line.contains(wav.getFileName().toString()), "names the file: " + r);
            assertFalse(line.contains("Exception") || r.err().contains("\tat "), r.toString());
            assertFalse(Files.exists(out), "no output for a failed run");
            assertTrue(r.millis() < 30_000, "no hang: " + r.millis() + " ms");
        }

        // one broken file among good ones fails the run before anything is written
        Path mixed = Files.createDirectories(dir.resolve("mixed"));
        Files.copy(good, mixed.resolve("good.wav"));
        Files.copy(truncated, mixed.resolve("truncated.wav"));
        Cli.Result r = Cli.run("tokenize-audio", "--config", config.toString(), "--input", mixed.toString(), "--output",
                dir.resolve("mixed.jsonl").toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertEquals(1, r.errLines().size(), r.toString());
        assertTrue(r.errLines().get(0).contains("truncated.wav"), r.toString());

        Path noWavs = Files.createDirectories(dir.resolve("no-wavs"));
        Files.writeString(noWavs.resolve("notes.txt"), "not audio");
        Cli.Result none = Cli.run("tokenize-audio", "--config", config.toString(), "--input", noWavs.toString(), "--output",
                dir.resolve("none.jsonl").toString());
        assertEquals(2, none.exitCode(), none.toString());
        assertEquals(List.of("vqstream tokenize-audio: no .wav files in directory " + noWavs), none.errLines());
    }

    @Test
    void quantizerThatDoesNotFitTheFeatures() throws Exception {
        Path cfg = dir.resolve("wrong-dim.yaml");
        Files.writeString(cfg, "quantizer:\n  type: FSQ\n  levels: [8, 5, 5, 5]\naudio:\n  n-mels: 40\n");
        Cli.Result r = Cli.run("tokenize-audio", "--config", cfg.toString(), "--input", wavs.resolve("r16000-s16-mono-chirp.wav").toString(),
                "--output", dir.resolve("x.jsonl").toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertEquals(List.of("vqstream tokenize-audio: quantizer.dim is 4 but the audio front end makes 40-dimensional features (audio.n-mels)"),
                r.errLines());
    }
}
