package io.vqstream.connectors.audio;

import org.apache.flink.annotation.Internal;
/** What {@link Framer#flush()} does with samples that no complete frame covers. */
@Internal
public enum TailPolicy {
    /** Drop them: only complete frames are ever emitted (torch.stft with {@code center=False}). */
    DROP,
    /**
     * Emit the fewest zero-padded frames, on the usual hop grid, that make every sample belong to
     * at least one frame.
     */
    ZERO_PAD
}
