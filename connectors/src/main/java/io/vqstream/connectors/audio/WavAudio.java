package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
/**
 * A decoded WAV file, mixed down to mono.
 *
 * @param source          the file name or label used in messages
 * @param sampleRate      samples per second
 * @param channels        channel count in the file (before mixdown)
 * @param encoding        how samples were stored
 * @param extensible      true if the file used WAVE_FORMAT_EXTENSIBLE (format tag 0xFFFE)
 * @param samples         mono samples, the average of all channels, full scale in [-1, 1);
 *                        the array belongs to this result and is not copied
 * @param declaredFrames  frames the data chunk header declares
 * @param truncated       true if the file ended before the declared data did; {@code samples}
 *                        then holds the whole frames that were present
 */
@Internal
public record WavAudio(
        String source,
        int sampleRate,
        int channels,
        SampleEncoding encoding,
        boolean extensible,
        float[] samples,
        long declaredFrames,
        boolean truncated) {

    /** Number of mono frames read. */
    public int frames() {
        return samples.length;
    }

    /** Length in seconds of what was read. */
    public double durationSeconds() {
        return samples.length / (double) sampleRate;
    }
}
