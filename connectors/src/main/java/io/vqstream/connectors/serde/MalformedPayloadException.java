package io.vqstream.connectors.serde;

import org.apache.flink.annotation.PublicEvolving;
/** A payload does not follow its documented format; the message is the one-line dead-letter reason. */
@PublicEvolving
public class MalformedPayloadException extends RuntimeException {
    public MalformedPayloadException(String reason) {
        super(reason);
    }
}
