package io.vqstream.operators.record;

import org.apache.flink.annotation.PublicEvolving;
import java.io.IOException;
import java.util.Map;
import java.util.Objects;
import org.apache.flink.api.common.typeinfo.TypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * One feature vector of a keyed stream: the input of the quantize operators.
 *
 * @param key        the stream it belongs to (tenant, speaker, sensor, model id)
 * @param seq        its position in that stream (carried through to the codes)
 * @param eventTime  event time in epoch milliseconds
 * @param vector     the features
 * @param attributes free-form string attributes passed through to the code record
 * @param mask       the reference's mask: false marks padding (or gated silence), which passes
 *                   through in order with code −1 and takes no part in learning
 */
@TypeInfo(VectorRecord.TypeInfoFactoryImpl.class)
@PublicEvolving
public record VectorRecord(String key, long seq, long eventTime, float[] vector, Map<String, String> attributes, boolean mask) {

    public VectorRecord {
        attributes = attributes == null ? Map.of() : attributes;
    }

    public VectorRecord(String key, long seq, long eventTime, float[] vector, Map<String, String> attributes) {
        this(key, seq, eventTime, vector, attributes, true);
    }

    public VectorRecord(String key, long seq, long eventTime, float[] vector) {
        this(key, seq, eventTime, vector, Map.of(), true);
    }

    /** This record with {@code mask} set. */
    public VectorRecord withMask(boolean m) {
        return new VectorRecord(key, seq, eventTime, vector, attributes, m);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VectorRecord r && seq == r.seq && eventTime == r.eventTime && mask == r.mask && Objects.equals(key, r.key)
                && java.util.Arrays.equals(vector, r.vector) && attributes.equals(r.attributes);
    }

    @Override
    public int hashCode() {
        return Objects.hash(key, seq, eventTime, java.util.Arrays.hashCode(vector));
    }

    @Override
    public String toString() {
        return "VectorRecord{key=" + key + ", seq=" + seq + ", dim=" + (vector == null ? "null" : vector.length) + "}";
    }

    public static TypeInformation<VectorRecord> typeInfo() {
        return new RecordTypeInfo<>(VectorRecord.class, Serializer::new);
    }

    /** Picked up by Flink's type extraction through {@link TypeInfo}. */
    public static final class TypeInfoFactoryImpl extends TypeInfoFactory<VectorRecord> {
        @Override
        public TypeInformation<VectorRecord> createTypeInfo(java.lang.reflect.Type t, Map<String, TypeInformation<?>> params) {
            return typeInfo();
        }
    }

    /**
     * Format 2: nullable UTF key, seq, eventTime, float[] vector (−1 = null), attributes, mask
     * (boolean). Format 1 (without the mask: every record real) is still read.
     */
    public static final class Serializer extends RecordSerializer<VectorRecord> {
        /** The data format this serializer writes; older formats stay readable (see {@code read}). */
        public static final int CURRENT_FORMAT = 2;

        public Serializer() {
            this(CURRENT_FORMAT);
        }

        Serializer(int format) {
            super(format);
        }

        @Override
        protected int currentFormat() {
            return CURRENT_FORMAT;
        }


        @Override
        public VectorRecord createInstance() {
            return new VectorRecord(null, 0, 0, new float[0]);
        }

        @Override
        protected void write(VectorRecord r, DataOutputView out) throws IOException {
            writeNullableString(r.key(), out);
            out.writeLong(r.seq());
            out.writeLong(r.eventTime());
            writeFloats(r.vector(), out);
            writeStringMap(r.attributes(), out);
            out.writeBoolean(r.mask());
        }

        @Override
        protected VectorRecord read(int format, DataInputView in) throws IOException {
            return switch (format) {
                case 1, 2 -> readFormats1And2(format, in);
                default -> throw new IOException("VectorRecord: unknown data format " + format);
            };
        }

        private VectorRecord readFormats1And2(int format, DataInputView in) throws IOException {
            String key = readNullableString(in);
            long seq = in.readLong();
            long ts = in.readLong();
            float[] v = readFloats(in, 1 << 26);
            Map<String, String> attrs = readStringMap(in);
            boolean mask = format < 2 || in.readBoolean();
            return new VectorRecord(key, seq, ts, v, attrs, mask);
        }
    }
}
