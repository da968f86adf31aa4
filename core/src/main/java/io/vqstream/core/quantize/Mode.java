package io.vqstream.core.quantize;

/** The reference module's {@code training} flag: gates losses, EMA updates, kmeans init, dead codes. */
public enum Mode {
    TRAIN, EVAL
}
