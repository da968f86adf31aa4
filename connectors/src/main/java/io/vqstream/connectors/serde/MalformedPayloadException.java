package io.vqstream.connectors.serde;

/** A payload does not follow its documented format; the message is the one-line dead-letter reason. */
public class MalformedPayloadException extends RuntimeException {
    public MalformedPayloadException(String reason) {
        super(reason);
    }
}
