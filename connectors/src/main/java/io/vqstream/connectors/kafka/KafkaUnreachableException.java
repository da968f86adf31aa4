package io.vqstream.connectors.kafka;

/** Kafka did not answer; the message names the bootstrap servers and says why in one line. */
public class KafkaUnreachableException extends RuntimeException {
    public KafkaUnreachableException(String message, Throwable cause) {
        super(message, cause);
    }
}
