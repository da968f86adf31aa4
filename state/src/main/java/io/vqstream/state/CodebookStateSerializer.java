package io.vqstream.state;

import org.apache.flink.annotation.Internal;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Serializes {@link CodebookState} as primitive arrays, never through Kryo.
 *
 * <p>Format version 1:
 * <pre>
 * long version, long step, int tensorCount (−1 = shared default)
 * per tensor: UTF name, int rank, int[rank] dims, float32[numel] little-endian bytes
 * </pre>
 * Tensors are written as one byte block each, so an 8 MiB codebook costs one copy, not
 * two million virtual calls.
 */
@Internal
public final class CodebookStateSerializer extends TypeSerializer<CodebookState> {
    public static final int CURRENT_VERSION = 1;
    /** Largest tensor accepted on read: a corrupt length must not allocate gigabytes. */
    static final int MAX_TENSOR_ELEMENTS = 1 << 28;
    /** Largest rank accepted on read. */
    static final int MAX_RANK = 16;
    /** Floats read per chunk (256 KiB of bytes). */
    private static final int READ_CHUNK_FLOATS = 1 << 16;

    private final int formatVersion;

    public CodebookStateSerializer() {
        this(CURRENT_VERSION);
    }

    CodebookStateSerializer(int formatVersion) {
        if (formatVersion < 1 || formatVersion > CURRENT_VERSION) {
            throw new IllegalArgumentException("unknown CodebookState format version " + formatVersion);
        }
        this.formatVersion = formatVersion;
    }

    int formatVersion() {
        return formatVersion;
    }

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<CodebookState> duplicate() {
        return this;
    }

    @Override
    public CodebookState createInstance() {
        return new CodebookState(0, 0, null);
    }

    @Override
    public CodebookState copy(CodebookState from) {
        return new CodebookState(from.version(), from.step(), from.params() == null ? null : from.params().copy());
    }

    @Override
    public CodebookState copy(CodebookState from, CodebookState reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(CodebookState s, DataOutputView out) throws IOException {
        out.writeLong(s.version());
        out.writeLong(s.step());
        ParamsSerialization.write(s.params(), out);
    }

    static void writeTensor(String name, Tensor t, DataOutputView out) throws IOException {
        out.writeUTF(name);
        int[] shape = t.shape();
        out.writeInt(shape.length);
        for (int d : shape) {
            out.writeInt(d);
        }
        float[] data = t.data();
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(data);
        out.write(b.array());
    }

    static Tensor readTensor(DataInputView in, String name) throws IOException {
        int rank = in.readInt();
        if (rank < 0 || rank > MAX_RANK) {
            throw new IOException("corrupt codebook state: tensor '" + name + "' has rank " + rank);
        }
        int[] shape = new int[rank];
        long numel = 1;
        for (int i = 0; i < rank; i++) {
            shape[i] = in.readInt();
            if (shape[i] < 0) {
                throw new IOException("corrupt codebook state: tensor '" + name + "' has dimension " + shape[i] + " at axis " + i);
            }
            numel *= shape[i];
            // checked per axis, so a product of large dimensions cannot overflow into a small one
            if (numel > MAX_TENSOR_ELEMENTS) {
                throw new IOException("corrupt codebook state: tensor '" + name + "' of shape "
                        + Shapes.str(java.util.Arrays.copyOf(shape, i + 1)) + "... exceeds " + MAX_TENSOR_ELEMENTS + " elements");
            }
        }
        int n = (int) numel;
        // Grow the array as bytes arrive instead of trusting the declared size: a truncated or
        // corrupt block fails with an EOFException before a large allocation, not an OOM.
        float[] data = new float[Math.min(n, READ_CHUNK_FLOATS)];
        byte[] chunk = new byte[4 * Math.min(n, READ_CHUNK_FLOATS)];
        ByteBuffer view = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
        int read = 0;
        while (read < n) {
            int k = Math.min(READ_CHUNK_FLOATS, n - read);
            in.readFully(chunk, 0, 4 * k);
            if (read + k > data.length) {
                data = java.util.Arrays.copyOf(data, (int) Math.min(n, Math.max(2L * data.length, read + k)));
            }
            view.clear();
            view.asFloatBuffer().get(data, read, k);
            read += k;
        }
        return new Tensor(data, shape);
    }

    @Override
    public CodebookState deserialize(DataInputView in) throws IOException {
        // the format of the state being read (from its serializer snapshot), not the newest one
        return switch (formatVersion) {
            case 1 -> readFormat1(in);
            default -> throw new IOException("unknown CodebookState format version " + formatVersion);
        };
    }

    private static CodebookState readFormat1(DataInputView in) throws IOException {
        long version = in.readLong();
        long step = in.readLong();
        return new CodebookState(version, step, ParamsSerialization.read(in));
    }

    @Override
    public CodebookState deserialize(CodebookState reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CodebookStateSerializer s && s.formatVersion == formatVersion;
    }

    @Override
    public int hashCode() {
        return 31 * CodebookStateSerializer.class.hashCode() + formatVersion;
    }

    @Override
    public TypeSerializerSnapshot<CodebookState> snapshotConfiguration() {
        return new Snapshot(formatVersion);
    }

    /**
     * Snapshot of the serializer: its version is the data format version. A snapshot of an
     * older format restores a serializer that reads that format; Flink then migrates the state
     * to the current format.
     */
    public static final class Snapshot implements TypeSerializerSnapshot<CodebookState> {
        private int formatVersion;

        public Snapshot() {
            this(CURRENT_VERSION);
        }

        Snapshot(int formatVersion) {
            this.formatVersion = formatVersion;
        }

        /** The data format this snapshot describes (written as the snapshot's version). */
        @Override
        public int getCurrentVersion() {
            return formatVersion;
        }

        @Override
        public void writeSnapshot(DataOutputView out) {
            // nothing beyond the snapshot version: the format is fully determined by it
        }

        @Override
        public void readSnapshot(int readVersion, DataInputView in, ClassLoader cl) throws IOException {
            if (readVersion < 1 || readVersion > CURRENT_VERSION) {
                throw new IOException("CodebookState serializer snapshot version " + readVersion
                        + " is not readable by this build (reads 1.." + CURRENT_VERSION + ")");
            }
            this.formatVersion = readVersion;
        }

        @Override
        public TypeSerializer<CodebookState> restoreSerializer() {
            return new CodebookStateSerializer(formatVersion);
        }

        @Override
        public TypeSerializerSchemaCompatibility<CodebookState> resolveSchemaCompatibility(TypeSerializerSnapshot<CodebookState> oldSnapshot) {
            if (!(oldSnapshot instanceof Snapshot old)) {
                return TypeSerializerSchemaCompatibility.incompatible();
            }
            return old.formatVersion == formatVersion
                    ? TypeSerializerSchemaCompatibility.compatibleAsIs()
                    : TypeSerializerSchemaCompatibility.compatibleAfterMigration();
        }
    }
}
