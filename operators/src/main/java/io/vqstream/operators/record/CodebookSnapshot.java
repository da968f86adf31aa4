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
 * A key's codebook (all quantizer tensors by state_dict name) at one version, published on
 * every change so a downstream decoder can decode every code with the version that produced it.
 *
 * @param key            the key
 * @param version        the codebook version (as carried by {@link CodeRecord#codebookVersion()})
 * @param step           EMA steps taken so far
 * @param quantizerType  reference class name
 * @param quantizerArgs  the quantizer's constructor arguments as JSON
 * @param params         the tensors
 */
@TypeInfo(CodebookSnapshot.TypeInfoFactoryImpl.class)
@PublicEvolving
public record CodebookSnapshot(String key, long version, long step, String quantizerType, String quantizerArgs, Params params) {

    @Override
    public boolean equals(Object o) {
        return o instanceof CodebookSnapshot s && version == s.version && step == s.step && Objects.equals(key, s.key)
                && Objects.equals(quantizerType, s.quantizerType) && Objects.equals(quantizerArgs, s.quantizerArgs)
                && (params == null ? s.params == null : s.params != null && params.bitEquals(s.params));
    }

    @Override
    public int hashCode() {
        return Objects.hash(key, version, step);
    }

    @Override
    public String toString() {
        return "CodebookSnapshot{key=" + key + ", version=" + version + ", step=" + step + "}";
    }

    public static TypeInformation<CodebookSnapshot> typeInfo() {
        return new RecordTypeInfo<>(CodebookSnapshot.class, Serializer::new);
    }

    public static final class TypeInfoFactoryImpl extends TypeInfoFactory<CodebookSnapshot> {
        @Override
        public TypeInformation<CodebookSnapshot> createTypeInfo(java.lang.reflect.Type t, Map<String, TypeInformation<?>> p) {
            return typeInfo();
        }
    }

    public static final class Serializer extends RecordSerializer<CodebookSnapshot> {
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
        public CodebookSnapshot createInstance() {
            return new CodebookSnapshot("", 0, 0, "", "{}", new Params());
        }

        @Override
        protected void write(CodebookSnapshot s, DataOutputView out) throws IOException {
            out.writeUTF(s.key());
            out.writeLong(s.version());
            out.writeLong(s.step());
            out.writeUTF(s.quantizerType());
            writeBytes(s.quantizerArgs().getBytes(java.nio.charset.StandardCharsets.UTF_8), out);
            ParamsSerialization.write(s.params(), out);
        }

        @Override
        protected CodebookSnapshot read(int format, DataInputView in) throws IOException {
            return switch (format) {
                case 1 -> readFormat1(in);
                default -> throw new IOException("CodebookSnapshot: unknown data format " + format);
            };
        }

        private CodebookSnapshot readFormat1(DataInputView in) throws IOException {
            String key = in.readUTF();
            long version = in.readLong();
            long step = in.readLong();
            String type = in.readUTF();
            String args = new String(readBytes(in, 1 << 24), java.nio.charset.StandardCharsets.UTF_8);
            return new CodebookSnapshot(key, version, step, type, args, ParamsSerialization.read(in));
        }
    }
}
