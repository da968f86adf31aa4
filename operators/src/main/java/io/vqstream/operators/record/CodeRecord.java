package io.vqstream.operators.record;

import org.apache.flink.annotation.PublicEvolving;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import org.apache.flink.api.common.typeinfo.TypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * The codes of one input record.
 *
 * @param key             the input's key
 * @param seq             the input's seq
 * @param eventTime       the input's event time
 * @param codes           the code indices, token-major as the quantizer documents them
 *                        (heads, layers, or groups × layers); −1 for a layer skipped by dropout
 * @param codebookVersion the version of the key's codebook that produced the codes
 * @param quantized       the quantized vector in input space, or null when not requested
 * @param error           mean squared quantization error {@code ‖x − x̂‖²/dim}, or NaN when not requested
 * @param attributes      the input's attributes
 * @param topkCodes       the k nearest codes per code position, nearest first, {@code (codes, k)}
 *                        row-major, or null when not requested ({@code output.topk})
 * @param topkDistances   their distances (euclidean, or 1 − cosine), same layout, or null
 */
@TypeInfo(CodeRecord.TypeInfoFactoryImpl.class)
@PublicEvolving
public record CodeRecord(String key, long seq, long eventTime, long[] codes, long codebookVersion, float[] quantized,
                         float error, Map<String, String> attributes, long[] topkCodes, float[] topkDistances) {

    public CodeRecord {
        attributes = attributes == null ? Map.of() : attributes;
    }

    public CodeRecord(String key, long seq, long eventTime, long[] codes, long codebookVersion, float[] quantized,
                      float error, Map<String, String> attributes) {
        this(key, seq, eventTime, codes, codebookVersion, quantized, error, attributes, null, null);
    }

    public CodeRecord(String key, long seq, long eventTime, long[] codes, long codebookVersion) {
        this(key, seq, eventTime, codes, codebookVersion, null, Float.NaN, Map.of());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CodeRecord r && seq == r.seq && eventTime == r.eventTime && codebookVersion == r.codebookVersion
                && Objects.equals(key, r.key) && Arrays.equals(codes, r.codes) && Arrays.equals(quantized, r.quantized)
                && Float.floatToIntBits(error) == Float.floatToIntBits(r.error) && attributes.equals(r.attributes)
                && Arrays.equals(topkCodes, r.topkCodes) && Arrays.equals(topkDistances, r.topkDistances);
    }

    @Override
    public int hashCode() {
        return Objects.hash(key, seq, codebookVersion, Arrays.hashCode(codes));
    }

    @Override
    public String toString() {
        return "CodeRecord{key=" + key + ", seq=" + seq + ", codes=" + Arrays.toString(codes) + ", v" + codebookVersion + "}";
    }

    public static TypeInformation<CodeRecord> typeInfo() {
        return new RecordTypeInfo<>(CodeRecord.class, Serializer::new);
    }

    public static final class TypeInfoFactoryImpl extends TypeInfoFactory<CodeRecord> {
        @Override
        public TypeInformation<CodeRecord> createTypeInfo(java.lang.reflect.Type t, Map<String, TypeInformation<?>> params) {
            return typeInfo();
        }
    }

    /**
     * Format 2: key, seq, eventTime, codes, codebookVersion, quantized, error, attributes, then
     * the top-k codes (length −1 = null) and distances. Format 1 (without top-k) is still read.
     */
    public static final class Serializer extends RecordSerializer<CodeRecord> {
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
        public CodeRecord createInstance() {
            return new CodeRecord(null, 0, 0, new long[0], 0);
        }

        @Override
        protected void write(CodeRecord r, DataOutputView out) throws IOException {
            writeNullableString(r.key(), out);
            out.writeLong(r.seq());
            out.writeLong(r.eventTime());
            out.writeInt(r.codes().length);
            for (long c : r.codes()) {
                out.writeLong(c);
            }
            out.writeLong(r.codebookVersion());
            writeFloats(r.quantized(), out);
            out.writeFloat(r.error());
            writeStringMap(r.attributes(), out);
            long[] top = r.topkCodes();
            out.writeInt(top == null ? -1 : top.length);
            if (top != null) {
                for (long c : top) {
                    out.writeLong(c);
                }
            }
            writeFloats(r.topkDistances(), out);
        }

        @Override
        protected CodeRecord read(int format, DataInputView in) throws IOException {
            return switch (format) {
                case 1, 2 -> readFormats1And2(format, in);
                default -> throw new IOException("CodeRecord: unknown data format " + format);
            };
        }

        private CodeRecord readFormats1And2(int format, DataInputView in) throws IOException {
            String key = readNullableString(in);
            long seq = in.readLong();
            long ts = in.readLong();
            int n = in.readInt();
            if (n < 0 || n > 1 << 20) {
                throw new IOException("corrupt code record: " + n + " codes");
            }
            long[] codes = new long[n];
            for (int i = 0; i < n; i++) {
                codes[i] = in.readLong();
            }
            long version = in.readLong();
            float[] q = readFloats(in, 1 << 26);
            float err = in.readFloat();
            Map<String, String> attrs = readStringMap(in);
            long[] top = null;
            float[] dist = null;
            if (format >= 2) {
                int k = in.readInt();
                if (k < -1 || k > 1 << 20) {
                    throw new IOException("corrupt code record: " + k + " top-k codes");
                }
                if (k >= 0) {
                    top = new long[k];
                    for (int i = 0; i < k; i++) {
                        top[i] = in.readLong();
                    }
                }
                dist = readFloats(in, 1 << 20);
            }
            return new CodeRecord(key, seq, ts, codes, version, q, err, attrs, top, dist);
        }
    }
}
