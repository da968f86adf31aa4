package io.vqstream.connectors.serde;

import org.apache.flink.annotation.PublicEvolving;
import io.vqstream.operators.record.DeadLetter;
import java.io.IOException;
import java.lang.reflect.Type;
import java.util.Map;
import java.util.Objects;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInfoFactory;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.CompositeTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * The outcome of decoding one payload: exactly one of a record or a dead letter. Both travel in
 * the same stream; {@link DecodedStreams#split} separates them.
 *
 * @param value      the decoded record, or null
 * @param deadLetter why the payload was rejected, with the raw payload, or null
 * @param <T>        the record type
 */
@TypeInfo(Decoded.TypeInfoFactoryImpl.class)
@PublicEvolving
public record Decoded<T>(T value, DeadLetter deadLetter) {

    public Decoded {
        if ((value == null) == (deadLetter == null)) {
            throw new IllegalArgumentException("a Decoded holds exactly one of a value and a dead letter");
        }
    }

    public static <T> Decoded<T> of(T value) {
        return new Decoded<>(Objects.requireNonNull(value, "value"), null);
    }

    public static <T> Decoded<T> failed(DeadLetter deadLetter) {
        return new Decoded<>(null, Objects.requireNonNull(deadLetter, "deadLetter"));
    }

    /** True when this holds a record. */
    public boolean ok() {
        return value != null;
    }

    /** Type information with a hand-written serializer (no Kryo). */
    public static <T> TypeInformation<Decoded<T>> typeInfo(TypeInformation<T> valueType) {
        return new DecodedTypeInfo<>(valueType);
    }

    /** Lets Flink's type extraction build the type information from the value type. */
    public static final class TypeInfoFactoryImpl<T> extends TypeInfoFactory<Decoded<T>> {
        @Override
        @SuppressWarnings("unchecked")
        public TypeInformation<Decoded<T>> createTypeInfo(Type t, Map<String, TypeInformation<?>> genericParameters) {
            TypeInformation<?> value = genericParameters.get("T");
            if (value == null) {
                throw new IllegalArgumentException("cannot tell the value type of " + t + "; pass Decoded.typeInfo(valueType)");
            }
            return new DecodedTypeInfo<>((TypeInformation<T>) value);
        }
    }

    /** Type information of {@link Decoded}: equal when the value types are equal. */
    static final class DecodedTypeInfo<T> extends TypeInformation<Decoded<T>> {
        private final TypeInformation<T> valueType;

        DecodedTypeInfo(TypeInformation<T> valueType) {
            this.valueType = Objects.requireNonNull(valueType, "valueType");
        }

        TypeInformation<T> valueType() {
            return valueType;
        }

        @Override
        public boolean isBasicType() {
            return false;
        }

        @Override
        public boolean isTupleType() {
            return false;
        }

        @Override
        public int getArity() {
            return 1;
        }

        @Override
        public int getTotalFields() {
            return 1;
        }

        @Override
        @SuppressWarnings({"unchecked", "rawtypes"})
        public Class<Decoded<T>> getTypeClass() {
            return (Class) Decoded.class;
        }

        @Override
        public Map<String, TypeInformation<?>> getGenericParameters() {
            return Map.of("T", valueType);
        }

        @Override
        public boolean isKeyType() {
            return false;
        }

        @Override
        public TypeSerializer<Decoded<T>> createSerializer(SerializerConfig config) {
            return new Serializer<>(valueType.createSerializer(config), new DeadLetter.Serializer());
        }

        @Override
        public String toString() {
            return "Decoded<" + valueType + ">";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof DecodedTypeInfo<?> d && d.valueType.equals(valueType);
        }

        @Override
        public int hashCode() {
            return Objects.hash(DecodedTypeInfo.class, valueType);
        }

        @Override
        public boolean canEqual(Object o) {
            return o instanceof DecodedTypeInfo;
        }
    }

    /** Format: one tag byte (0 = value, 1 = dead letter), then the value or the dead letter. */
    public static final class Serializer<T> extends TypeSerializer<Decoded<T>> {
        private final TypeSerializer<T> valueSerializer;
        private final TypeSerializer<DeadLetter> deadLetterSerializer;

        public Serializer(TypeSerializer<T> valueSerializer, TypeSerializer<DeadLetter> deadLetterSerializer) {
            this.valueSerializer = Objects.requireNonNull(valueSerializer, "valueSerializer");
            this.deadLetterSerializer = Objects.requireNonNull(deadLetterSerializer, "deadLetterSerializer");
        }

        @Override
        public boolean isImmutableType() {
            return false;
        }

        @Override
        public TypeSerializer<Decoded<T>> duplicate() {
            TypeSerializer<T> v = valueSerializer.duplicate();
            TypeSerializer<DeadLetter> d = deadLetterSerializer.duplicate();
            return v == valueSerializer && d == deadLetterSerializer ? this : new Serializer<>(v, d);
        }

        @Override
        public Decoded<T> createInstance() {
            return Decoded.failed(deadLetterSerializer.createInstance());
        }

        @Override
        public Decoded<T> copy(Decoded<T> from) {
            return from.ok() ? Decoded.of(valueSerializer.copy(from.value())) : Decoded.failed(deadLetterSerializer.copy(from.deadLetter()));
        }

        @Override
        public Decoded<T> copy(Decoded<T> from, Decoded<T> reuse) {
            return copy(from);
        }

        @Override
        public int getLength() {
            return -1;
        }

        @Override
        public void serialize(Decoded<T> record, DataOutputView out) throws IOException {
            if (record.ok()) {
                out.writeByte(0);
                valueSerializer.serialize(record.value(), out);
            } else {
                out.writeByte(1);
                deadLetterSerializer.serialize(record.deadLetter(), out);
            }
        }

        @Override
        public Decoded<T> deserialize(DataInputView in) throws IOException {
            int tag = in.readByte();
            return switch (tag) {
                case 0 -> Decoded.of(valueSerializer.deserialize(in));
                case 1 -> Decoded.failed(deadLetterSerializer.deserialize(in));
                default -> throw new IOException("corrupt Decoded record: tag " + tag);
            };
        }

        @Override
        public Decoded<T> deserialize(Decoded<T> reuse, DataInputView in) throws IOException {
            return deserialize(in);
        }

        @Override
        public void copy(DataInputView in, DataOutputView out) throws IOException {
            serialize(deserialize(in), out);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Serializer<?> s && s.valueSerializer.equals(valueSerializer)
                    && s.deadLetterSerializer.equals(deadLetterSerializer);
        }

        @Override
        public int hashCode() {
            return Objects.hash(valueSerializer, deadLetterSerializer);
        }

        @Override
        public TypeSerializerSnapshot<Decoded<T>> snapshotConfiguration() {
            return new SerializerSnapshot<>(this);
        }
    }

    /** Snapshot of {@link Serializer}: the value and dead-letter serializers' snapshots. */
    public static final class SerializerSnapshot<T> extends CompositeTypeSerializerSnapshot<Decoded<T>, Serializer<T>> {
        public SerializerSnapshot() {
            super();
        }

        SerializerSnapshot(Serializer<T> serializer) {
            super(serializer);
        }

        @Override
        protected int getCurrentOuterSnapshotVersion() {
            return 1;
        }

        @Override
        protected TypeSerializer<?>[] getNestedSerializers(Serializer<T> outer) {
            return new TypeSerializer<?>[] {outer.valueSerializer, outer.deadLetterSerializer};
        }

        @Override
        @SuppressWarnings("unchecked")
        protected Serializer<T> createOuterSerializerWithNestedSerializers(TypeSerializer<?>[] nested) {
            return new Serializer<>((TypeSerializer<T>) nested[0], (TypeSerializer<DeadLetter>) nested[1]);
        }
    }
}
