package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
/**
 * Audio input that cannot be decoded: a broken, truncated or unsupported WAV file, or a PCM
 * payload that does not fit its declared layout. The message is one line that names the
 * source and says what is wrong.
 */
@Internal
public class AudioFormatException extends RuntimeException {
    public AudioFormatException(String message) {
        super(message);
    }

    public AudioFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
