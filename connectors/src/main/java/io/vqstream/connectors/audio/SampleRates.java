package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
/**
 * The sample rates this package accepts anywhere: 1 kHz to 384 kHz. Outside that range a
 * rate is taken to be a corrupt header or a unit mistake (kHz for Hz), not audio.
 */
@Internal
public final class SampleRates {
    public static final int MIN = 1_000;
    public static final int MAX = 384_000;

    private SampleRates() {}

    public static boolean isValid(long rate) {
        return rate >= MIN && rate <= MAX;
    }

    /** "{what} {rate} Hz is outside 1000..384000 Hz". */
    static String outOfRange(String what, long rate) {
        return what + " " + rate + " Hz is outside " + MIN + ".." + MAX + " Hz";
    }
}
