package io.vqstream.connectors.serde;

import org.apache.flink.annotation.PublicEvolving;
import java.io.Serializable;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/**
 * Turns one Kafka record value into a record or a {@link io.vqstream.operators.record.DeadLetter}.
 * Never throws on bad input.
 *
 * @param <T> the record type
 */
@PublicEvolving
public interface PayloadDecoder<T> extends Serializable {
    /**
     * @return the record or a dead letter holding the raw payload and a one-line reason; null only
     *         where the format defines a payload that yields nothing (a tombstone on a compacted topic)
     */
    Decoded<T> decode(byte[] payload, Origin origin);

    /** Type information of the decoded records. */
    TypeInformation<T> valueType();

    /** A decoder that rejects larger payloads, before parsing them, with a dead letter. */
    PayloadDecoder<T> withMaxPayloadBytes(int maxPayloadBytes);

    /**
     * Decodes synthetic payloads of this decoder's own shape, so that the JIT has compiled the
     * path before the first real record; a source calls it once when it opens. Bounded in time;
     * the default does nothing.
     */
    default void warmUp() {}
}
