package io.vqstream.operators.batch;

import io.vqstream.core.backend.Backends;
import io.vqstream.core.backend.ComputeBackend;
import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.quantize.QuantizerOutput;
import io.vqstream.core.quantize.VectorQuantize;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.metrics.QuantizerMetrics;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.VectorRecord;
import java.util.List;
import java.util.function.BiConsumer;
import org.apache.flink.annotation.Internal;
import org.apache.flink.streaming.api.operators.Output;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * The backend path both codebook scopes share: one micro-batch of records → the tokens of its
 * unmasked records → one call into the quantizer on the chosen backend (timed) → code records in
 * input order through {@link CodeEmitter}. The operators keep what differs between the scopes:
 * where records wait (keyed state or one in-memory batch) and where the codebook lives and learns
 * (keyed state, or one copy per subtask combined by the coordinator).
 */
@Internal
public final class BatchCoder {
    private final Quantizer quantizer;
    private final ComputeBackend backend;
    private final ForwardOptions eval;
    private final int topk;
    private final QuantizerMetrics metrics;
    private final CodeEmitter emitter;

    private BatchCoder(Quantizer quantizer, ComputeBackend backend, int topk, boolean emitQuantized, boolean emitError,
                       QuantizerMetrics metrics) {
        this.quantizer = quantizer;
        this.backend = backend;
        this.eval = ForwardOptions.builder().backend(backend).build();
        this.topk = topk;
        this.metrics = metrics;
        this.emitter = new CodeEmitter(quantizer.codesPerToken(), quantizer.dim(), emitQuantized, emitError, metrics);
    }

    /**
     * The coder of an operator that opens: picks the backend ({@code backendName}, or the
     * process default when null) and warms its kernels for batches of up to {@code batchSize}
     * records before the first record arrives ({@link KernelWarmUp}).
     */
    public static BatchCoder open(Quantizer quantizer, String backendName, int batchSize, int topk, boolean emitQuantized,
                                  boolean emitError, QuantizerMetrics metrics) throws InterruptedException {
        ComputeBackend backend = backendName == null ? Backends.getDefault() : Backends.byName(backendName);
        KernelWarmUp.warm(quantizer, batchSize, backend, KernelWarmUp.budgetMillis());
        return new BatchCoder(quantizer, backend, topk, emitQuantized, emitError, metrics);
    }

    public ComputeBackend backend() {
        return backend;
    }

    /** The (n, 1, dim) tokens of the records that take part (mask true), or null when none does. */
    public Tensor tokens(List<VectorRecord> records) {
        List<VectorRecord> real = MicroBatch.unmasked(records);
        return real.isEmpty() ? null : MicroBatch.tokens(real, quantizer.dim(), quantizer.type());
    }

    /**
     * The {@code output.topk} nearest codes of {@code x} under {@code params}, with their
     * distances; null when not configured. Both scopes call it with the codebook that selects the
     * batch's codes, before any EMA step.
     */
    public QuantizerOutput topk(Params params, Tensor x) {
        if (topk <= 0 || x == null || !(quantizer instanceof VectorQuantize vq)) {
            return null;
        }
        return vq.nearestCodes(params, x, topk, backend);
    }

    /** One timed forward call; {@code options} null means evaluation on this coder's backend. */
    public QuantizerOutput forward(Params params, Tensor x, ForwardOptions options) {
        long t0 = System.nanoTime();
        QuantizerOutput out = quantizer.forwardTokens(params, x, options == null ? eval : options);
        metrics.backendTimeUs.update((System.nanoTime() - t0) / 1000);
        return out;
    }

    /** Codes {@code records} with the frozen codebook {@code params} (version {@code version}) and emits them. */
    public void codeAndEmit(Output<StreamRecord<CodeRecord>> output, List<VectorRecord> records, Params params, long version,
                            BiConsumer<VectorRecord, String> deadLetters) {
        if (records.isEmpty()) {
            return;
        }
        Tensor x = tokens(records);
        QuantizerOutput out = x == null ? null : forward(params, x, null);
        emit(output, records, 0, out, version, x == null ? null : topk(params, x), deadLetters);
    }

    /** {@link CodeEmitter#emit}: the code records of {@code records[from..]} from one call's output. */
    public void emit(Output<StreamRecord<CodeRecord>> output, List<VectorRecord> records, int from, QuantizerOutput out, long version,
                     QuantizerOutput top, BiConsumer<VectorRecord, String> deadLetters) {
        emitter.emit(output, records, from, out, version, top, deadLetters);
    }

    /** Gives back the backend's per-thread resources (ND4J workspaces) with the task. */
    public void close() {
        backend.releaseThreadResources();
    }
}
