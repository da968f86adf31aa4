package io.vqstream.state;

import org.apache.flink.api.common.state.ValueStateDescriptor;

/** The keyed state under which operators, savepoint bootstrap and export find each key's codebook. */
public final class CodebookStateDescriptors {
    /** State name of the per-key {@link CodebookState}. */
    public static final String CODEBOOK_STATE = "vq-codebook";

    private CodebookStateDescriptors() {}

    public static ValueStateDescriptor<CodebookState> codebook() {
        return new ValueStateDescriptor<>(CODEBOOK_STATE, new CodebookStateSerializer());
    }
}
