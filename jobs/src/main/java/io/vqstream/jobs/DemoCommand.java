package io.vqstream.jobs;

import io.vqstream.connectors.audio.AudioChunk;
import io.vqstream.connectors.audio.AudioFrontEnd;
import io.vqstream.connectors.audio.FeatureFrame;
import io.vqstream.connectors.audio.WavAudio;
import io.vqstream.connectors.audio.WavChunkSource;
import io.vqstream.connectors.audio.WavReader;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.jobs.config.JobConfig;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.DeadLetter;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import io.vqstream.operators.VqStreams;
import io.vqstream.operators.record.VectorRecord;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.EitherTypeInfo;
import org.apache.flink.types.Either;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * {@code bin/vqstream demo}: tokenizes the bundled speech recording on the embedded Flink
 * mini-cluster with a ResidualVQ that learns online from a kmeans initialisation, then prints
 * what came out: frames, bitrate, codebook usage and perplexity per layer, and the feature
 * SNR of decoding every code with the codebook version that produced it.
 */
final class DemoCommand {
    private final PrintStream out;
    private final PrintStream err;

    DemoCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    /** Summary numbers of a run (also what the tests check). */
    record Summary(int frames, double audioSeconds, int[] layerSizes, double[] usage, double[] perplexity, double snrDb,
                   long wallMillis, int deadLetters, long versions, int gated) {
        double bitsPerFrame() {
            double b = 0;
            for (int s : layerSizes) {
                b += Math.log(s) / Math.log(2);
            }
            return b;
        }

        double framesPerSecondOfAudio() {
            return frames / audioSeconds;
        }
    }

    static JobConfig defaultConfig() throws Exception {
        try (InputStream in = DemoCommand.class.getResourceAsStream("/demo/demo.yaml")) {
            Map<?, ?> m = new Yaml(new SafeConstructor(new LoaderOptions())).load(in);
            return JobConfig.fromMap(m, true);
        }
    }

    static Path bundledRecording() throws Exception {
        // inside the embedded cluster's temporary directory, which goes when the JVM exits
        Path dir = Files.createTempDirectory(JobEnvironment.embeddedTempDir(), "demo");
        Path wav = dir.resolve("speech.wav");
        try (InputStream in = DemoCommand.class.getResourceAsStream("/demo/speech.wav")) {
            if (in == null) {
                throw new IllegalStateException("the bundled recording demo/speech.wav is missing from the jar");
            }
            Files.copy(in, wav, StandardCopyOption.REPLACE_EXISTING);
        }
        return wav;
    }

    Summary run(JobConfig c, Path wav, boolean progress) throws Exception {
        long t0 = System.nanoTime();
        Quantizer q = c.createQuantizer();
        // the features the pipeline will see, computed here once to measure the reconstruction
        WavAudio audio = WavReader.read(wav);
        AudioFrontEnd local = new AudioFrontEnd(AudioPipeline.frontEnd(c));
        List<FeatureFrame> reference = new ArrayList<>(local.acceptSamples(0, audio.sampleRate(), 1, audio.samples()));
        reference.addAll(local.flush());
        int expected = reference.size();

        StreamExecutionEnvironment env = JobEnvironment.create(c, false, true);
        DataStream<AudioChunk> chunks = env.fromSource(WavChunkSource.create(List.of(wav), c.chunkSamples, 0L),
                WatermarkStrategy.noWatermarks(), "wav-chunks").setParallelism(1).uid("vq-wav-source");
        AudioPipeline.Built p = AudioPipeline.build(c, chunks, true);
        // decode inside the job, each code with the codebook version that produced it
        VqStreams.Decoded decoded = VqStreams.decode(p.quantized().codes(), p.quantized().codebooks(), Integer.MAX_VALUE, 1 << 20,
                "vq-decode");
        // one collected stream: with several, the mini-cluster may stop before every result is fetched
        TypeInformation<Either<VectorRecord, DeadLetter>> inner = new EitherTypeInfo<>(VectorRecord.typeInfo(), DeadLetter.typeInfo());
        TypeInformation<Either<CodeRecord, Either<VectorRecord, DeadLetter>>> eventType = new EitherTypeInfo<>(CodeRecord.typeInfo(), inner);
        DataStream<Either<CodeRecord, Either<VectorRecord, DeadLetter>>> events = p.quantized().codes()
                .map(r -> Either.<CodeRecord, Either<VectorRecord, DeadLetter>>Left(r)).returns(eventType)
                .union(decoded.vectors().map(v -> Either.<CodeRecord, Either<VectorRecord, DeadLetter>>Right(Either.Left(v))).returns(eventType),
                        p.deadLetters().union(decoded.deadLetters())
                                .map(d -> Either.<CodeRecord, Either<VectorRecord, DeadLetter>>Right(Either.Right(d))).returns(eventType));
        CloseableIterator<Either<CodeRecord, Either<VectorRecord, DeadLetter>>> it = events.collectAsync();
        JobEnvironment.start(env, c.jobName != null ? c.jobName : "vqstream-demo");

        List<CodeRecord> codes = new ArrayList<>();
        Map<Long, float[]> reconstructed = new HashMap<>();
        List<DeadLetter> dead = new ArrayList<>();
        long lastDraw = 0;
        while (it.hasNext()) {
            Either<CodeRecord, Either<VectorRecord, DeadLetter>> e = it.next();
            if (e.isLeft()) {
                codes.add(e.left());
            } else if (e.right().isLeft()) {
                reconstructed.put(e.right().left().seq(), e.right().left().vector());
            } else {
                dead.add(e.right().right());
            }
            if (progress && System.nanoTime() - lastDraw > 100_000_000L) {
                drawProgress(codes.size(), expected);
                lastDraw = System.nanoTime();
            }
        }
        if (progress) {
            drawProgress(codes.size(), expected);
            err.println();
        }
        long wall = (System.nanoTime() - t0) / 1_000_000;

        int layers = q.codesPerToken();
        long[] sizes = q.codebookSizes();
        int[] layerSizes = new int[layers];
        double[] usage = new double[layers];
        double[] perplexity = new double[layers];
        int dim = q.dim();
        double[] mean = new double[dim];
        for (FeatureFrame f : reference) {
            for (int e = 0; e < dim; e++) {
                mean[e] += f.features()[e] / reference.size();
            }
        }
        double signal = 0;
        double noise = 0;
        List<Map<Long, Integer>> hist = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            hist.add(new HashMap<>());
            layerSizes[l] = (int) sizes[l];
        }
        Set<Long> versions = new HashSet<>();
        int gated = 0;
        int coded = 0;
        for (CodeRecord r : codes) {
            if (isGated(r)) {
                // silence below audio.gate-db: no code, no bits, no part in the reconstruction figure
                gated++;
                continue;
            }
            coded++;
            versions.add(r.codebookVersion());
            for (int l = 0; l < layers; l++) {
                hist.get(l).merge(r.codes()[l], 1, Integer::sum);
            }
            float[] xhat = reconstructed.get(r.seq());
            if (xhat == null) {
                throw new IllegalStateException("frame " + r.seq() + " was coded but not decoded");
            }
            float[] x = reference.get((int) r.seq()).features();
            for (int e = 0; e < dim; e++) {
                double centred = x[e] - mean[e];
                double diff = x[e] - xhat[e];
                signal += centred * centred;
                noise += diff * diff;
            }
        }
        for (int l = 0; l < layers; l++) {
            Set<Long> used = new HashSet<>(hist.get(l).keySet());
            usage[l] = (double) used.size() / sizes[l];
            double h = 0;
            for (int count : hist.get(l).values()) {
                double pr = (double) count / coded;
                h -= pr * Math.log(pr);
            }
            perplexity[l] = Math.exp(h);
        }
        double snr = 10 * Math.log10(signal / noise);
        return new Summary(codes.size(), audio.durationSeconds(), layerSizes, usage, perplexity, snr, wall, dead.size(), versions.size(),
                gated);
    }

    /** A frame the energy gate masked: code −1 in every position. */
    static boolean isGated(CodeRecord r) {
        for (long code : r.codes()) {
            if (code != -1) {
                return false;
            }
        }
        return r.codes().length > 0;
    }

    private void drawProgress(int done, int total) {
        int width = 40;
        int filled = total == 0 ? width : (int) Math.min(width, (long) done * width / total);
        err.print("\r[" + "#".repeat(filled) + ".".repeat(width - filled) + "] " + done + "/" + total + " frames");
        err.flush();
    }

    void print(Summary s, JobConfig c) {
        out.println();
        out.println("vqstream demo: " + c.quantizerType + " " + c.quantizerArgs);
        out.printf(Locale.ROOT, "  audio            %.2f s of speech, %d frames (%.0f frames/s of audio)%n", s.audioSeconds(), s.frames(),
                s.framesPerSecondOfAudio());
        out.printf(Locale.ROOT, "  codes            %d per frame, %.0f codes/s, %.0f bits/frame = %.2f kbit/s%n", s.layerSizes().length,
                s.layerSizes().length * s.framesPerSecondOfAudio(), s.bitsPerFrame(), s.bitsPerFrame() * s.framesPerSecondOfAudio() / 1000);
        for (int l = 0; l < s.layerSizes().length; l++) {
            out.printf(Locale.ROOT, "  layer %d          usage %5.1f%% of %d codes, perplexity %.1f%n", l, 100 * s.usage()[l],
                    s.layerSizes()[l], s.perplexity()[l]);
        }
        out.printf(Locale.ROOT, "  reconstruction   feature SNR %.2f dB (decoded with each code's codebook version; signal = feature variance)%n",
                s.snrDb());
        if (!Double.isNaN(c.gateDb)) {
            out.printf(Locale.ROOT, "  gated            %d of %d frames below %.1f dB (code -1, no learning, no bits)%n", s.gated(),
                    s.frames(), c.gateDb);
        }
        out.printf(Locale.ROOT, "  codebooks        %d versions produced codes%n", s.versions());
        out.printf(Locale.ROOT, "  dead letters     %d%n", s.deadLetters());
        out.printf(Locale.ROOT, "  wall time        %.1f s, %.0f frames/s%n", s.wallMillis() / 1000.0, s.frames() * 1000.0 / s.wallMillis());
        long[] refereed = io.vqstream.core.backend.JvmBackend.get().refereeCounts();
        if (refereed[0] > 0) {
            // rows the float arg-max could not settle within its error bound, rescored exactly
            out.printf(Locale.ROOT, "  exact rescoring  %.3f%% of %d assigned rows%n", 100.0 * refereed[1] / refereed[0], refereed[0]);
        }
    }
}
