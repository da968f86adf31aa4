package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
/** A chunk declares a sample rate other than the one its stream started with. */
@Internal
public class SampleRateMismatchException extends AudioFormatException {
    private final int streamRate;
    private final int chunkRate;

    public SampleRateMismatchException(long seq, int streamRate, int chunkRate) {
        super("chunk seq " + seq + ": sample rate " + chunkRate + " Hz differs from the stream's " + streamRate
                + " Hz set by its first chunk");
        this.streamRate = streamRate;
        this.chunkRate = chunkRate;
    }

    public int streamRate() {
        return streamRate;
    }

    public int chunkRate() {
        return chunkRate;
    }
}
