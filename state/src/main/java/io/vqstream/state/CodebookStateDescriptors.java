package io.vqstream.state;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/**
 * The keyed state under which operators, savepoint bootstrap and export find each key's codebook
 * and its bookkeeping. Renaming either state breaks every savepoint taken before.
 */
@Internal
public final class CodebookStateDescriptors {
    /** State name of the per-key {@link CodebookState}. */
    public static final String CODEBOOK_STATE = "vq-codebook";
    /** State name of the per-key {@link KeyMeta}. */
    public static final String META_STATE = "vq-meta";

    private CodebookStateDescriptors() {}

    public static ValueStateDescriptor<CodebookState> codebook() {
        return new ValueStateDescriptor<>(CODEBOOK_STATE, new CodebookStateSerializer());
    }

    public static ValueStateDescriptor<KeyMeta> meta() {
        return new ValueStateDescriptor<>(META_STATE, TypeInformation.of(KeyMeta.class));
    }
}
