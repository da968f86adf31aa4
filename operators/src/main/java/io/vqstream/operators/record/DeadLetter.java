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
 * A record that could not be processed, with the reason, so the job keeps running and
 * nothing else is lost.
 *
 * @param key       the record's key when it could be read, else null
 * @param stage     where it was rejected; its {@link Stage#wireName() wire name} is what dead-letter
 *                  topics, files and state carry
 * @param reason    a one-line human-readable reason
 * @param payload   the original bytes (or a faithful encoding of the rejected record)
 * @param eventTime the record's event time, or the processing time when unknown
 */
@TypeInfo(DeadLetter.TypeInfoFactoryImpl.class)
@PublicEvolving
public record DeadLetter(String key, Stage stage, String reason, byte[] payload, long eventTime) {

    /**
     * Where a record was rejected. The wire name is part of the dead-letter formats (the
     * {@code stage} field and {@code vq-stage} header on Kafka, dead-letter files, checkpointed
     * state): it never changes once released.
     */
    @PublicEvolving
    public enum Stage {
        /** The payload could not be read as a record (format, dimension, NaN/Inf, key, size). */
        DESERIALIZE("deserialize"),
        /** The record was read but could not be quantized (no codebook, non-finite result, no key). */
        QUANTIZE("quantize"),
        /** A control message that does not fit (unknown key, bad command, wrong codebook shape). */
        CONTROL("control"),
        /** A code record that cannot be turned back into a vector (unknown codebook version, bad code). */
        DECODE("decode"),
        /** Audio that cannot be turned into features. */
        AUDIO("audio"),
        /** A result that could not be written in the output format. */
        SERIALIZE("serialize");

        private final String wireName;

        Stage(String wireName) {
            this.wireName = wireName;
        }

        /** The stage's name in every dead-letter format. */
        public String wireName() {
            return wireName;
        }

        /** The stage with this wire name; an unknown name is refused with the known ones listed. */
        public static Stage ofWireName(String wireName) {
            for (Stage s : values()) {
                if (s.wireName.equals(wireName)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("unknown dead-letter stage '" + wireName + "', expected one of "
                    + Arrays.stream(values()).map(Stage::wireName).toList());
        }

        @Override
        public String toString() {
            return wireName;
        }
    }

    public DeadLetter {
        Objects.requireNonNull(stage, "stage");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DeadLetter d && eventTime == d.eventTime && Objects.equals(key, d.key) && Objects.equals(stage, d.stage)
                && Objects.equals(reason, d.reason) && Arrays.equals(payload, d.payload);
    }

    @Override
    public int hashCode() {
        return Objects.hash(key, stage, reason, Arrays.hashCode(payload));
    }

    @Override
    public String toString() {
        return "DeadLetter{key=" + key + ", stage=" + stage + ", reason=" + reason + "}";
    }

    public static TypeInformation<DeadLetter> typeInfo() {
        return new RecordTypeInfo<>(DeadLetter.class, Serializer::new);
    }

    public static final class TypeInfoFactoryImpl extends TypeInfoFactory<DeadLetter> {
        @Override
        public TypeInformation<DeadLetter> createTypeInfo(java.lang.reflect.Type t, Map<String, TypeInformation<?>> params) {
            return typeInfo();
        }
    }

    public static final class Serializer extends RecordSerializer<DeadLetter> {
        /** The data format this serializer writes; older formats stay readable (see {@code read}). */
        public static final int CURRENT_FORMAT = 1;

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
        public DeadLetter createInstance() {
            return new DeadLetter(null, Stage.DESERIALIZE, "", new byte[0], 0);
        }

        @Override
        protected void write(DeadLetter d, DataOutputView out) throws IOException {
            writeNullableString(d.key(), out);
            out.writeUTF(d.stage().wireName());
            // a reason can exceed writeUTF's 64 KiB limit in theory: write it as bytes
            writeBytes(d.reason().getBytes(java.nio.charset.StandardCharsets.UTF_8), out);
            writeBytes(d.payload(), out);
            out.writeLong(d.eventTime());
        }

        @Override
        protected DeadLetter read(int format, DataInputView in) throws IOException {
            return switch (format) {
                case 1 -> readFormat1(in);
                default -> throw new IOException("DeadLetter: unknown data format " + format);
            };
        }

        private DeadLetter readFormat1(DataInputView in) throws IOException {
            String key = readNullableString(in);
            Stage stage;
            try {
                stage = Stage.ofWireName(in.readUTF());
            } catch (IllegalArgumentException e) {
                throw new IOException("DeadLetter: " + e.getMessage(), e);
            }
            String reason = new String(readBytes(in, 1 << 24), java.nio.charset.StandardCharsets.UTF_8);
            byte[] payload = readBytes(in, Integer.MAX_VALUE - 8);
            return new DeadLetter(key, stage, reason, payload, in.readLong());
        }
    }
}
