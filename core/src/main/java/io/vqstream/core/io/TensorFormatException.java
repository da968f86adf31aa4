package io.vqstream.core.io;

import org.apache.flink.annotation.Internal;
/** A tensor file is malformed, truncated, or holds a tensor of the wrong dtype or shape. */
@Internal
public class TensorFormatException extends RuntimeException {
    public TensorFormatException(String message) {
        super(message);
    }

    public TensorFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
