package io.vqstream.operators.record;

import org.apache.flink.annotation.PublicEvolving;
import io.vqstream.core.quantize.Params;
import io.vqstream.state.ParamsSerialization;
import java.io.IOException;
import java.util.Map;
import java.util.Objects;
import org.apache.flink.api.common.typeinfo.TypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * A command on the broadcast control stream of a quantize operator.
 *
 * @param kind   what to do
 * @param key    the key it applies to, or null for every key (present and future)
 * @param params for {@link Kind#INSTALL}: the tensors to install by state_dict name (EMA
 *               buffers may be omitted and start as the reference starts them)
 */
@TypeInfo(ControlMessage.TypeInfoFactoryImpl.class)
@PublicEvolving
public record ControlMessage(Kind kind, String key, Params params) {

    public enum Kind {
        /** Install or replace the codebook (and other parameters). */
        INSTALL,
        /** Stop learning; the codebook stays as it is. */
        FREEZE,
        /** Resume learning (when the operator learns). */
        UNFREEZE,
        /** Forget the key's codebook and learned state; it starts again from the configured source. */
        RESET
    }

    public ControlMessage {
        Objects.requireNonNull(kind, "kind");
        if (kind == Kind.INSTALL && params == null) {
            throw new IllegalArgumentException("an INSTALL control message needs parameters");
        }
    }

    public static ControlMessage install(String key, Params params) {
        return new ControlMessage(Kind.INSTALL, key, params);
    }

    public static ControlMessage of(Kind kind, String key) {
        return new ControlMessage(kind, key, null);
    }

    public boolean allKeys() {
        return key == null;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ControlMessage c && kind == c.kind && Objects.equals(key, c.key)
                && (params == null ? c.params == null : c.params != null && params.bitEquals(c.params));
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, key);
    }

    public static TypeInformation<ControlMessage> typeInfo() {
        return new RecordTypeInfo<>(ControlMessage.class, Serializer::new);
    }

    public static final class TypeInfoFactoryImpl extends TypeInfoFactory<ControlMessage> {
        @Override
        public TypeInformation<ControlMessage> createTypeInfo(java.lang.reflect.Type t, Map<String, TypeInformation<?>> p) {
            return typeInfo();
        }
    }

    public static final class Serializer extends RecordSerializer<ControlMessage> {
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
        public ControlMessage createInstance() {
            return new ControlMessage(Kind.FREEZE, null, null);
        }

        @Override
        protected void write(ControlMessage c, DataOutputView out) throws IOException {
            out.writeByte(c.kind().ordinal());
            writeNullableString(c.key(), out);
            ParamsSerialization.write(c.params(), out);
        }

        @Override
        protected ControlMessage read(int format, DataInputView in) throws IOException {
            return switch (format) {
                case 1 -> readFormat1(in);
                default -> throw new IOException("ControlMessage: unknown data format " + format);
            };
        }

        private ControlMessage readFormat1(DataInputView in) throws IOException {
            int k = in.readByte();
            if (k < 0 || k >= Kind.values().length) {
                throw new IOException("corrupt control message: kind " + k);
            }
            return new ControlMessage(Kind.values()[k], readNullableString(in), ParamsSerialization.read(in));
        }
    }
}
