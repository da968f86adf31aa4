package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;

/**
 * A bounded, checkpointable source of {@link AudioChunk}s read from WAV files: one stream per
 * file (key = file name without extension), chunks of {@code chunkSamples} mono samples at the
 * file's own rate, as 32-bit float PCM. Files are checked when the source is built (header and
 * chunks; float samples for non-finite values), so a broken file fails before the job starts,
 * with a one-line message. Run it at parallelism 1 to
 * keep each stream's chunks in order (the front end also reorders within its bound).
 */
@Internal
public final class WavChunkSource {
    private WavChunkSource() {}

    /** One file's chunking plan. */
    record Entry(String key, String path, int sampleRate, int frames, long firstChunk, long chunks) implements Serializable {}

    /** A WAV file or every {@code *.wav} of a directory (sorted by name). */
    public static List<Path> wavFiles(Path fileOrDir) throws IOException {
        if (Files.isDirectory(fileOrDir)) {
            try (Stream<Path> s = Files.list(fileOrDir)) {
                List<Path> l = s.filter(p -> p.getFileName().toString().toLowerCase().endsWith(".wav"))
                        .sorted(Comparator.comparing(Path::toString)).toList();
                if (l.isEmpty()) {
                    throw new AudioFormatException("no .wav files in directory " + fileOrDir);
                }
                // one stream per file: two files whose names differ only in the extension would merge
                java.util.Map<String, Path> byKey = new java.util.HashMap<>();
                for (Path f : l) {
                    Path other = byKey.put(streamKey(f), f);
                    if (other != null) {
                        throw new AudioFormatException(other.getFileName() + " and " + f.getFileName() + " in " + fileOrDir
                                + " would both be stream '" + streamKey(f) + "'; rename one of them");
                    }
                }
                return l;
            }
        }
        if (!Files.exists(fileOrDir)) {
            throw new AudioFormatException("no such file or directory: " + fileOrDir);
        }
        if (!Files.isRegularFile(fileOrDir)) {
            throw new AudioFormatException(fileOrDir + " is not a regular file or directory (a pipe or device cannot be read twice;"
                    + " copy it to a file)");
        }
        return List.of(fileOrDir);
    }

    /** The stream key of a file: its name without the extension. */
    static String streamKey(Path f) {
        String name = f.getFileName().toString();
        return name.contains(".") ? name.substring(0, name.lastIndexOf('.')) : name;
    }

    /**
     * @param files        WAV files (each read once here to validate it and plan its chunks)
     * @param chunkSamples samples per chunk
     * @param startTime    event time of every stream's first sample
     */
    public static DataGeneratorSource<AudioChunk> create(List<Path> files, int chunkSamples, long startTime) throws IOException {
        if (chunkSamples < 1) {
            throw new IllegalArgumentException("chunk size must be at least one sample");
        }
        List<Entry> plan = new ArrayList<>();
        long next = 0;
        for (Path f : files) {
            // checked as the reader will read it, without decoding it here: the source decodes it again
            WavReader.WavInfo a = WavReader.inspect(f, WavReader.Truncation.REJECT);
            String key = streamKey(f);
            long chunks = (a.frames() + chunkSamples - 1) / chunkSamples;
            plan.add(new Entry(key, f.toAbsolutePath().toString(), a.sampleRate(), a.frames(), next, chunks));
            next += chunks;
        }
        return new DataGeneratorSource<>(new Chunker(plan, chunkSamples, startTime), next, AudioChunk.typeInfo());
    }

    /** Maps a global chunk index to (file, chunk) and cuts that chunk out of the decoded file. */
    static final class Chunker implements GeneratorFunction<Long, AudioChunk> {
        private static final long serialVersionUID = 1L;
        private final List<Entry> plan;
        private final int chunkSamples;
        private final long startTime;
        private transient int cachedEntry = -1;
        private transient float[] cachedSamples;

        Chunker(List<Entry> plan, int chunkSamples, long startTime) {
            this.plan = plan;
            this.chunkSamples = chunkSamples;
            this.startTime = startTime;
        }

        @Override
        public void open(SourceReaderContext ctx) {
            cachedEntry = -1;
        }

        @Override
        public AudioChunk map(Long index) throws Exception {
            int e = 0;
            while (e + 1 < plan.size() && plan.get(e + 1).firstChunk() <= index) {
                e++;
            }
            Entry entry = plan.get(e);
            if (cachedEntry != e) {
                cachedSamples = WavReader.read(Path.of(entry.path()), WavReader.Truncation.REJECT).samples();
                cachedEntry = e;
            }
            long seq = index - entry.firstChunk();
            int from = (int) (seq * chunkSamples);
            int to = Math.min(from + chunkSamples, cachedSamples.length);
            ByteBuffer b = ByteBuffer.allocate((to - from) * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = from; i < to; i++) {
                b.putFloat(cachedSamples[i]);
            }
            long ts = startTime + (long) from * 1000 / entry.sampleRate();
            return new AudioChunk(entry.key(), seq, ts, entry.sampleRate(), 1, PcmEncoding.F32LE, b.array());
        }
    }
}
