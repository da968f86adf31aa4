package io.vqstream.connectors.serde;

import org.apache.flink.annotation.PublicEvolving;
import java.io.Serializable;
import java.util.List;
import org.apache.kafka.common.header.Header;

/**
 * Turns one record into a Kafka record key, value and headers.
 *
 * @param <T> the record type
 */
@PublicEvolving
public interface PayloadEncoder<T> extends Serializable {
    /** The Kafka record key (the stream key as UTF-8 for every vqstream record), or null. */
    byte[] key(T record);

    /** The Kafka record value. */
    byte[] value(T record);

    /** Kafka record headers; none unless the format says otherwise. */
    default List<Header> headers(T record) {
        return List.of();
    }
}
