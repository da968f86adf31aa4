package io.vqstream.connectors.serde;

import org.apache.flink.annotation.PublicEvolving;
/**
 * Where a payload came from: its Kafka record key, offset and timestamp. A payload without
 * {@code seq} takes the offset, one without {@code ts} the timestamp; outside Kafka, pass
 * {@link #NONE} and such payloads are rejected.
 *
 * @param key       the Kafka record key, or null
 * @param offset    the Kafka offset, or −1 when unknown
 * @param timestamp the Kafka record timestamp in epoch milliseconds, or −1 when unknown
 */
@PublicEvolving
public record Origin(byte[] key, long offset, long timestamp) {
    /** No Kafka record behind the payload. */
    public static final Origin NONE = new Origin(null, -1, -1);
}
