package io.vqstream.core.config;

import org.apache.flink.annotation.PublicEvolving;

/** A configuration value of the wrong type or out of its bound; the one-line message names the key (or flag) and the bound. */
@PublicEvolving
public final class OptionValueException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String key;

    public OptionValueException(String key, String message) {
        super(message);
        this.key = key;
    }

    /** The configuration key whose value was refused. */
    public String key() {
        return key;
    }
}
