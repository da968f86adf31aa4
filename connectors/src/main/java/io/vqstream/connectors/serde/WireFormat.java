package io.vqstream.connectors.serde;

import org.apache.flink.annotation.PublicEvolving;
/** The two encodings of the vector, code and audio chunk payloads (layouts in each codec's Javadoc). */
@PublicEvolving
public enum WireFormat {
    /** One UTF-8 JSON object per Kafka record. */
    JSON,
    /** A compact little-endian layout that starts with a format version byte (1). */
    BINARY
}
