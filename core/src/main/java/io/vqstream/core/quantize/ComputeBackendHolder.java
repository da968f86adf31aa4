package io.vqstream.core.quantize;

import io.vqstream.core.backend.Backends;
import io.vqstream.core.backend.ComputeBackend;

/** The backend used by calls that take no {@link ForwardOptions} (decoding). */
final class ComputeBackendHolder {
    private ComputeBackendHolder() {}

    static ComputeBackend get() {
        return Backends.getDefault();
    }
}
