package io.vqstream.core.quantize;

import org.apache.flink.annotation.Internal;
/** The reference module's {@code training} flag: gates losses, EMA updates, kmeans init, dead codes. */
@Internal
public enum Mode {
    TRAIN, EVAL
}
