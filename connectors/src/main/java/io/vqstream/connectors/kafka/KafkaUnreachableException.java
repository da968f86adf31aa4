package io.vqstream.connectors.kafka;

import org.apache.flink.annotation.Internal;
/** Kafka did not answer; the message names the bootstrap servers and says why in one line. */
@Internal
public class KafkaUnreachableException extends RuntimeException {
    public KafkaUnreachableException(String message, Throwable cause) {
        super(message, cause);
    }
}
