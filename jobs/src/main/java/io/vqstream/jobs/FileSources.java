package io.vqstream.jobs;

import io.vqstream.connectors.serde.Decoded;
import io.vqstream.connectors.serde.Origin;
import io.vqstream.connectors.serde.PayloadDecoder;
import io.vqstream.core.io.Npy;
import io.vqstream.core.io.TensorFormatException;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.jobs.config.ConfigException;
import io.vqstream.operators.record.VectorCheck;
import io.vqstream.operators.record.VectorRecord;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;

/**
 * Bounded, checkpointable sources over local files for the embedded mode: JSON lines decoded by
 * a payload codec (a bad line becomes a dead letter, like a bad Kafka record), and {@code .npy}
 * matrices {@code (N, D)} as vectors. Files are indexed on the client (line offsets), and
 * records are read lazily by index, so a file need not fit in memory.
 */
final class FileSources {
    private FileSources() {}

    /** An input is read twice (indexed, then read by the job): a regular file, not a pipe or device. */
    static void requireRegularFile(Path file, String flag) {
        if (!Files.exists(file)) {
            throw new ConfigException(flag + ": no such file: " + file);
        }
        if (Files.isDirectory(file)) {
            throw new ConfigException(flag + ": " + file + " is a directory; give a file");
        }
        if (!Files.isRegularFile(file)) {
            throw new ConfigException(flag + ": " + file + " is not a regular file (a pipe or device cannot be read twice; copy it to a file)");
        }
    }

    /**
     * Whether an input file holds no records: a JSON-lines file of whitespace only, or an .npy of
     * shape (0, D). (A bounded generator source over zero records still asks for record 0.)
     */
    static boolean holdsNoRecords(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return false;
        }
        if (file.getFileName().toString().toLowerCase().endsWith(".npy")) {
            try {
                int[] shape = Npy.read(file).shape();
                return shape.length == 2 && shape[0] == 0;
            } catch (RuntimeException e) {
                return false; // reported by the source
            }
        }
        try (java.io.InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            int b;
            while ((b = in.read()) >= 0) {
                if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
                    return false;
                }
            }
        }
        return true;
    }

    /** One decoded record per non-empty line; the origin's offset is the 0-based line number. */
    static <T> DataGeneratorSource<Decoded<T>> jsonLines(Path file, PayloadDecoder<T> decoder) throws IOException {
        requireRegularFile(file, "--input");
        long[] starts = lineStarts(file);
        TypeInformation<Decoded<T>> type = Decoded.typeInfo(decoder.valueType());
        return new DataGeneratorSource<>(new LineReader<>(file.toAbsolutePath().toString(), starts, decoder), starts.length - 1, type);
    }

    /** Offsets of the non-empty lines, plus the end offset of the last line. */
    static long[] lineStarts(Path file) throws IOException {
        List<Long> starts = new ArrayList<>();
        List<Long> ends = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate(1 << 16);
            long pos = 0;
            long lineStart = 0;
            boolean blank = true;
            while (ch.read(buf) > 0) {
                buf.flip();
                while (buf.hasRemaining()) {
                    byte b = buf.get();
                    if (b == '\n') {
                        if (!blank) {
                            starts.add(lineStart);
                            ends.add(pos);
                        }
                        lineStart = pos + 1;
                        blank = true;
                    } else if (b != ' ' && b != '\r' && b != '\t') {
                        blank = false;
                    }
                    pos++;
                }
                buf.clear();
            }
            if (!blank) {
                starts.add(lineStart);
                ends.add(pos);
            }
        }
        // pairs (start, end) flattened: [s0, e0, s1, e1, ...] would double memory; lines are
        // contiguous except for skipped blanks, so keep starts and read up to the next newline
        long[] out = new long[starts.size() + 1];
        for (int i = 0; i < starts.size(); i++) {
            out[i] = starts.get(i);
        }
        out[starts.size()] = ends.isEmpty() ? 0 : ends.get(ends.size() - 1);
        return out;
    }

    static final class LineReader<T> implements GeneratorFunction<Long, Decoded<T>> {
        private static final long serialVersionUID = 1L;
        private final String path;
        private final long[] starts;
        private final PayloadDecoder<T> decoder;
        private transient RandomAccessFile file;

        LineReader(String path, long[] starts, PayloadDecoder<T> decoder) {
            this.path = path;
            this.starts = starts;
            this.decoder = decoder;
        }

        @Override
        public void open(SourceReaderContext ctx) throws IOException {
            file = new RandomAccessFile(path, "r");
        }

        @Override
        public void close() throws IOException {
            if (file != null) {
                file.close();
            }
        }

        @Override
        public Decoded<T> map(Long index) throws IOException {
            int i = index.intValue();
            long start = starts[i];
            long limit = i + 1 < starts.length - 1 ? starts[i + 1] : starts[starts.length - 1];
            byte[] bytes = new byte[(int) Math.min(limit - start, Integer.MAX_VALUE - 8)];
            file.seek(start);
            file.readFully(bytes);
            int len = bytes.length;
            while (len > 0 && (bytes[len - 1] == '\n' || bytes[len - 1] == '\r' || bytes[len - 1] == ' ' || bytes[len - 1] == '\t')) {
                len--;
            }
            byte[] line = len == bytes.length ? bytes : java.util.Arrays.copyOf(bytes, len);
            return decoder.decode(line, new Origin(null, index, 0L));
        }
    }

    /** Largest .npy input: its rows travel inside the job graph. */
    static final long MAX_NPY_BYTES = 64L << 20;

    /** Rows of an {@code (N, D)} .npy matrix as vectors of stream {@code key}, seq = row. */
    static DataGeneratorSource<VectorRecord> npyRows(Path file, String key) throws IOException {
        requireRegularFile(file, "--input");
        if (Files.size(file) > MAX_NPY_BYTES) {
            throw new ConfigException("--input: " + file + " is larger than " + (MAX_NPY_BYTES >> 20)
                    + " MiB; give large inputs as JSON lines or through Kafka");
        }
        Tensor t;
        try {
            t = Npy.read(file).asFloat();
        } catch (TensorFormatException e) {
            throw new ConfigException("--input: " + e.getMessage(), e);
        }
        if (t.rank() != 2) {
            throw new ConfigException("--input: " + file + " holds an array of rank " + t.rank() + "; expected (N, D) vectors");
        }
        int bad = VectorCheck.firstNonFinite(t.data());
        if (bad >= 0) {
            throw new ConfigException("--input: " + file + " holds " + t.data()[bad] + " in row " + bad / t.dim(1));
        }
        return new DataGeneratorSource<>(new NpyRows(t.data(), t.dim(1), key), t.dim(0), VectorRecord.typeInfo());
    }

    static final class NpyRows implements GeneratorFunction<Long, VectorRecord> {
        private static final long serialVersionUID = 1L;
        private final float[] data;
        private final int dim;
        private final String key;

        NpyRows(float[] data, int dim, String key) {
            this.data = data;
            this.dim = dim;
            this.key = key;
        }

        @Override
        public VectorRecord map(Long row) {
            float[] v = new float[dim];
            System.arraycopy(data, (int) (row * dim), v, 0, dim);
            return new VectorRecord(key, row, 0L, v, Map.of());
        }
    }
}
