package io.vqstream.core.io;

/** A tensor file is malformed, truncated, or holds a tensor of the wrong dtype or shape. */
public class TensorFormatException extends RuntimeException {
    public TensorFormatException(String message) {
        super(message);
    }

    public TensorFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
