package io.vqstream.operators.record;

import org.apache.flink.annotation.Internal;
import java.util.Objects;
import java.util.function.Supplier;
import org.apache.flink.api.common.serialization.SerializerConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;

/**
 * Type information for the record classes: a fixed, hand-written serializer, so Flink never
 * falls back to Kryo for records in flight or in state.
 */
@Internal
public final class RecordTypeInfo<T> extends TypeInformation<T> {
    /** A serializable way to make the serializer (type information travels inside output tags). */
    @FunctionalInterface
    public interface SerializerFactory<T> extends Supplier<TypeSerializer<T>>, java.io.Serializable {}

    private final Class<T> type;
    private final SerializerFactory<T> serializer;

    public RecordTypeInfo(Class<T> type, SerializerFactory<T> serializer) {
        this.type = type;
        this.serializer = serializer;
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
    public Class<T> getTypeClass() {
        return type;
    }

    @Override
    public boolean isKeyType() {
        return false;
    }

    @Override
    public TypeSerializer<T> createSerializer(SerializerConfig config) {
        return serializer.get();
    }

    @Override
    public String toString() {
        return type.getSimpleName();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RecordTypeInfo<?> r && r.type == type;
    }

    @Override
    public int hashCode() {
        return Objects.hash(RecordTypeInfo.class, type);
    }

    @Override
    public boolean canEqual(Object o) {
        return o instanceof RecordTypeInfo;
    }
}
