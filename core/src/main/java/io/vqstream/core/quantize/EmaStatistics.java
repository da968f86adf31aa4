package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The sufficient statistics of one or more batches for one EMA step of every EMA codebook of a
 * quantizer, in the order the codebooks are updated (layer by layer): per code the hit count
 * and the vector sum, and, where dead codes expire, the candidate rows (codebook space).
 *
 * <p>Recorded by a training forward whose {@link ForwardOptions#emaStatistics()} is set (the
 * parameters stay untouched), combined over batches with {@link #combine}, applied with
 * {@link #applyTo}. For a single batch, recording then applying equals the training forward's
 * own update bit for bit:
 * <pre>
 * counts = Σ over parts of counts_i        sums = Σ over parts of sums_i      (in part order)
 * rows   = rows_0 ‖ rows_1 ‖ …             (concatenated in part order)
 * </pre>
 * which is the reference's all-reduce of {@code cluster_size} and {@code embed_sum} over workers
 * and its gathering of dead-code samples in rank order.
 */
@Internal
public final class EmaStatistics {
    private static final int FORMAT = 1;

    /** One EMA codebook's statistics: {@code numCodebooks} codebooks of {@code size} codes of {@code dim}. */
    public static final class Layer {
        final String prefix;
        final int numCodebooks;
        final int size;
        final int dim;
        /** Per-code counts and sums of every codebook of the layer. */
        final CodebookStatistics stats;
        /** Candidate rows per codebook, or null where no code can expire. */
        final float[][] rows;
        final int[] rowCounts;

        Layer(String prefix, CodebookStatistics stats, boolean withRows) {
            this.prefix = prefix;
            this.numCodebooks = stats.numCodebooks();
            this.size = stats.size();
            this.dim = stats.dim();
            this.stats = stats;
            this.rows = withRows ? new float[numCodebooks][] : null;
            this.rowCounts = new int[numCodebooks];
        }

        public String prefix() {
            return prefix;
        }

        /** Vectors counted in codebook {@code k}. */
        public long total(int k) {
            long n = 0;
            float[] c = stats.counts();
            for (int j = k * size; j < (k + 1) * size; j++) {
                n += (long) c[j];
            }
            return n;
        }
    }

    private final List<Layer> layers = new ArrayList<>();

    /** True when no batch was recorded (an empty contribution). */
    public boolean isEmpty() {
        return layers.isEmpty();
    }

    public List<Layer> layers() {
        return layers;
    }

    /** A new layer holding {@code stats} (kept, not copied). */
    Layer startLayer(String prefix, CodebookStatistics stats, boolean withRows) {
        Layer l = new Layer(prefix, stats, withRows);
        layers.add(l);
        return l;
    }

    /**
     * The statistics of all {@code parts} together, summed and concatenated in list order (empty
     * parts are skipped). With one non-empty part the result holds exactly its values.
     */
    public static EmaStatistics combine(List<EmaStatistics> parts) {
        EmaStatistics out = new EmaStatistics();
        for (EmaStatistics part : parts) {
            if (part.isEmpty()) {
                continue;
            }
            if (out.isEmpty()) {
                for (Layer l : part.layers) {
                    Layer c = out.startLayer(l.prefix, l.stats.copy(), l.rows != null);
                    for (int k = 0; k < l.numCodebooks; k++) {
                        c.rowCounts[k] = l.rowCounts[k];
                        if (l.rows != null) {
                            c.rows[k] = Arrays.copyOf(l.rows[k], l.rowCounts[k] * l.dim);
                        }
                    }
                }
                continue;
            }
            if (part.layers.size() != out.layers.size()) {
                throw new IllegalArgumentException("statistics of different quantizers cannot be combined");
            }
            for (int i = 0; i < out.layers.size(); i++) {
                Layer a = out.layers.get(i);
                Layer b = part.layers.get(i);
                if (!a.prefix.equals(b.prefix) || a.numCodebooks != b.numCodebooks || a.size != b.size || a.dim != b.dim
                        || (a.rows == null) != (b.rows == null)) {
                    throw new IllegalArgumentException("statistics of codebook '" + b.prefix + "' do not match '" + a.prefix + "'");
                }
                a.stats.add(b.stats);
                for (int k = 0; k < a.numCodebooks; k++) {
                    if (a.rows != null) {
                        float[] r = Arrays.copyOf(a.rows[k], (a.rowCounts[k] + b.rowCounts[k]) * a.dim);
                        System.arraycopy(b.rows[k], 0, r, a.rowCounts[k] * a.dim, b.rowCounts[k] * a.dim);
                        a.rows[k] = r;
                    }
                    a.rowCounts[k] += b.rowCounts[k];
                }
            }
        }
        return out;
    }

    /**
     * One EMA step of {@code q}'s codebooks in {@code params} from these statistics: per codebook
     * the lerp toward the counts and sums, the renormalisation, then dead-code expiry drawing
     * from the rows with {@code random}. Returns the number of codes replaced.
     */
    public int applyTo(Quantizer q, Params params, RandomSource random) {
        int replaced = 0;
        for (Layer l : layers) {
            int r = q.applyEmaLayer(params, l, random);
            if (r < 0) {
                throw new IllegalArgumentException(q.type() + " has no EMA codebook '" + l.prefix + "'");
            }
            replaced += r;
        }
        return replaced;
    }

    // ------------------------------------------------------------------ bytes

    /** A compact encoding: sums are written only for codes that were hit (the others are exactly zero). */
    public byte[] toBytes() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(FORMAT);
            out.writeInt(layers.size());
            for (Layer l : layers) {
                out.writeUTF(l.prefix);
                out.writeInt(l.numCodebooks);
                out.writeInt(l.size);
                out.writeInt(l.dim);
                out.writeBoolean(l.rows != null);
                float[] c = l.stats.counts();
                float[] sums = l.stats.sums();
                for (int k = 0; k < l.numCodebooks; k++) {
                    int co = k * l.size;
                    writeFloats(out, c, co, l.size);
                    for (int j = co; j < co + l.size; j++) {
                        if (c[j] != 0f) {
                            writeFloats(out, sums, j * l.dim, l.dim);
                        }
                    }
                    out.writeInt(l.rowCounts[k]);
                    if (l.rows != null) {
                        writeFloats(out, l.rows[k], 0, l.rowCounts[k] * l.dim);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /**
     * {@code n} floats as big-endian IEEE bytes in one write, the bytes {@link DataOutputStream#writeFloat}
     * gives (statistics hold no NaN): a round's part is written and read once per batch.
     */
    private static void writeFloats(DataOutputStream out, float[] a, int off, int n) throws IOException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * n);
        b.asFloatBuffer().put(a, off, n);
        out.write(b.array());
    }

    private static void readFloats(DataInputStream in, float[] a, int off, int n) throws IOException {
        byte[] raw = new byte[4 * n];
        in.readFully(raw);
        java.nio.ByteBuffer.wrap(raw).asFloatBuffer().get(a, off, n);
    }

    public static EmaStatistics fromBytes(byte[] b) {
        EmaStatistics s = new EmaStatistics();
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(b))) {
            int format = in.readInt();
            if (format != FORMAT) {
                throw new IllegalArgumentException("unknown EMA statistics format " + format);
            }
            int n = in.readInt();
            for (int i = 0; i < n; i++) {
                String prefix = in.readUTF();
                CodebookStatistics stats = new CodebookStatistics(in.readInt(), in.readInt(), in.readInt());
                Layer l = s.startLayer(prefix, stats, in.readBoolean());
                float[] c = stats.counts();
                float[] sums = stats.sums();
                for (int k = 0; k < l.numCodebooks; k++) {
                    int co = k * l.size;
                    readFloats(in, c, co, l.size);
                    for (int j = co; j < co + l.size; j++) {
                        if (c[j] != 0f) {
                            readFloats(in, sums, j * l.dim, l.dim);
                        }
                    }
                    l.rowCounts[k] = in.readInt();
                    if (l.rows != null) {
                        if (l.rowCounts[k] < 0 || (long) l.rowCounts[k] * l.dim > Integer.MAX_VALUE / 4) {
                            throw new IllegalArgumentException("EMA statistics with " + l.rowCounts[k] + " candidate rows");
                        }
                        float[] r = new float[l.rowCounts[k] * l.dim];
                        readFloats(in, r, 0, r.length);
                        l.rows[k] = r;
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return s;
    }
}
