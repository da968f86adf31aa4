package io.vqstream.operators.record;

import java.io.IOException;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Base of the record serializers: immutable records, a data format version carried by the
 * serializer snapshot (so state written by an older format is read by it, then migrated).
 */
public abstract class RecordSerializer<T> extends TypeSerializer<T> {
    protected final int formatVersion;

    protected RecordSerializer(int formatVersion) {
        this.formatVersion = formatVersion;
    }

    /** The newest format this class writes. */
    protected abstract int currentFormat();

    protected abstract RecordSerializer<T> withFormat(int format);

    protected abstract void write(T record, DataOutputView out) throws IOException;

    protected abstract T read(int format, DataInputView in) throws IOException;

    @Override
    public final boolean isImmutableType() {
        return true;
    }

    @Override
    public final TypeSerializer<T> duplicate() {
        return this;
    }

    @Override
    public final T copy(T from) {
        return from;
    }

    @Override
    public final T copy(T from, T reuse) {
        return from;
    }

    @Override
    public final int getLength() {
        return -1;
    }

    @Override
    public final void serialize(T record, DataOutputView out) throws IOException {
        if (formatVersion != currentFormat()) {
            throw new IllegalStateException(getClass().getSimpleName() + " of format " + formatVersion + " only reads");
        }
        write(record, out);
    }

    @Override
    public final T deserialize(DataInputView in) throws IOException {
        return read(formatVersion, in);
    }

    @Override
    public final T deserialize(T reuse, DataInputView in) throws IOException {
        return read(formatVersion, in);
    }

    @Override
    public final void copy(DataInputView in, DataOutputView out) throws IOException {
        write(read(formatVersion, in), out);
    }

    @Override
    public final boolean equals(Object o) {
        return o != null && o.getClass() == getClass() && ((RecordSerializer<?>) o).formatVersion == formatVersion;
    }

    @Override
    public final int hashCode() {
        return getClass().hashCode() * 31 + formatVersion;
    }

    /** Snapshot whose version is the data format; subclasses only name their serializer. */
    public abstract static class Snapshot<T> implements TypeSerializerSnapshot<T> {
        private int format;

        protected Snapshot(int format) {
            this.format = format;
        }

        protected abstract RecordSerializer<T> serializerOf(int format);

        @Override
        public int getCurrentVersion() {
            return format;
        }

        @Override
        public void writeSnapshot(DataOutputView out) {
            // the format version is the whole configuration
        }

        @Override
        public void readSnapshot(int readVersion, DataInputView in, ClassLoader cl) throws IOException {
            int newest = serializerOf(1).currentFormat();
            if (readVersion < 1 || readVersion > newest) {
                throw new IOException(getClass().getName() + ": snapshot version " + readVersion + " is not readable (1.." + newest + ")");
            }
            this.format = readVersion;
        }

        @Override
        public TypeSerializer<T> restoreSerializer() {
            return serializerOf(format);
        }

        @Override
        public TypeSerializerSchemaCompatibility<T> resolveSchemaCompatibility(TypeSerializerSnapshot<T> old) {
            if (old == null || old.getClass() != getClass()) {
                return TypeSerializerSchemaCompatibility.incompatible();
            }
            return ((Snapshot<T>) old).format == format
                    ? TypeSerializerSchemaCompatibility.compatibleAsIs()
                    : TypeSerializerSchemaCompatibility.compatibleAfterMigration();
        }
    }

    // -- small helpers shared by the record formats

    protected static void writeNullableString(String s, DataOutputView out) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            out.writeUTF(s);
        }
    }

    protected static String readNullableString(DataInputView in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }

    protected static void writeFloats(float[] a, DataOutputView out) throws IOException {
        if (a == null) {
            out.writeInt(-1);
            return;
        }
        out.writeInt(a.length);
        for (float v : a) {
            out.writeFloat(v);
        }
    }

    protected static float[] readFloats(DataInputView in, int max) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            return null;
        }
        if (n > max) {
            throw new IOException("corrupt record: array of " + n + " floats");
        }
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = in.readFloat();
        }
        return a;
    }

    protected static void writeBytes(byte[] a, DataOutputView out) throws IOException {
        if (a == null) {
            out.writeInt(-1);
            return;
        }
        out.writeInt(a.length);
        out.write(a);
    }

    protected static byte[] readBytes(DataInputView in, int max) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            return null;
        }
        if (n > max) {
            throw new IOException("corrupt record: byte array of " + n);
        }
        byte[] a = new byte[n];
        in.readFully(a);
        return a;
    }

    protected static void writeStringMap(java.util.Map<String, String> m, DataOutputView out) throws IOException {
        out.writeInt(m.size());
        for (java.util.Map.Entry<String, String> e : m.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeUTF(e.getValue());
        }
    }

    protected static java.util.Map<String, String> readStringMap(DataInputView in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > 1 << 20) {
            throw new IOException("corrupt record: map of " + n + " entries");
        }
        if (n == 0) {
            return java.util.Map.of();
        }
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            m.put(in.readUTF(), in.readUTF());
        }
        return java.util.Collections.unmodifiableMap(m);
    }
}
