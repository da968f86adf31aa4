package io.vqstream.operators.record;

import org.apache.flink.annotation.Internal;
import java.io.IOException;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Base of the record serializers: immutable records, a data format version carried by the
 * serializer snapshot (so state written by an older format is read by it, then migrated).
 * Subclasses need a constructor taking the format version; one snapshot class serves them all.
 */
@Internal
public abstract class RecordSerializer<T> extends TypeSerializer<T> {
    protected final int formatVersion;

    protected RecordSerializer(int formatVersion) {
        this.formatVersion = formatVersion;
    }

    /** The newest format this class writes. */
    protected abstract int currentFormat();

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

    @Override
    public final TypeSerializerSnapshot<T> snapshotConfiguration() {
        return new Snapshot<>(getClass(), formatVersion);
    }

    /** The serializer of {@code type} reading {@code format} (through its {@code (int format)} constructor). */
    static <T> RecordSerializer<T> of(Class<?> type, int format) {
        try {
            java.lang.reflect.Constructor<?> c = type.getDeclaredConstructor(int.class);
            c.setAccessible(true);
            @SuppressWarnings("unchecked")
            RecordSerializer<T> s = (RecordSerializer<T>) c.newInstance(format);
            return s;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(type.getName() + " needs a constructor taking the format version", e);
        }
    }

    /**
     * The snapshot of every record serializer: the serializer's class and the data format
     * (written as the snapshot version). A snapshot of an older format restores a serializer
     * that reads it; Flink then migrates the state to the current format.
     */
    public static final class Snapshot<T> implements TypeSerializerSnapshot<T> {
        private Class<?> serializerClass;
        private int format;

        /** For Flink, which reads the class and format with {@link #readSnapshot}. */
        public Snapshot() {}

        Snapshot(Class<?> serializerClass, int format) {
            this.serializerClass = serializerClass;
            this.format = format;
        }

        @Override
        public int getCurrentVersion() {
            return format;
        }

        @Override
        public void writeSnapshot(DataOutputView out) throws IOException {
            out.writeUTF(serializerClass.getName());
        }

        @Override
        public void readSnapshot(int readVersion, DataInputView in, ClassLoader cl) throws IOException {
            String name = in.readUTF();
            try {
                serializerClass = Class.forName(name, false, cl);
            } catch (ClassNotFoundException e) {
                throw new IOException("record serializer " + name + " is not on the class path", e);
            }
            int newest = of(serializerClass, 1).currentFormat();
            if (readVersion < 1 || readVersion > newest) {
                throw new IOException(name + ": snapshot format " + readVersion + " is not readable (1.." + newest + ")");
            }
            this.format = readVersion;
        }

        @Override
        public TypeSerializer<T> restoreSerializer() {
            return of(serializerClass, format);
        }

        @Override
        public TypeSerializerSchemaCompatibility<T> resolveSchemaCompatibility(TypeSerializerSnapshot<T> old) {
            if (!(old instanceof Snapshot<?> o) || o.serializerClass != serializerClass) {
                return TypeSerializerSchemaCompatibility.incompatible();
            }
            return o.format == format ? TypeSerializerSchemaCompatibility.compatibleAsIs()
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
