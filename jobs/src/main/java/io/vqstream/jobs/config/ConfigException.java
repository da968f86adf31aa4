package io.vqstream.jobs.config;

import org.apache.flink.annotation.Internal;
/** A configuration file or flag is wrong; the message says which key and why. */
@Internal
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
