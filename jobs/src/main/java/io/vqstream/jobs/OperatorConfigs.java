package io.vqstream.jobs;

import io.vqstream.core.io.TensorFormatException;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.jobs.config.ConfigException;
import io.vqstream.jobs.config.JobConfig;
import io.vqstream.operators.CodebookSource;
import io.vqstream.operators.QuantizeOperatorConfig;
import java.nio.file.Files;

/** Turns a job configuration into the quantize operator's configuration. */
final class OperatorConfigs {
    private OperatorConfigs() {}

    static QuantizeOperatorConfig quantize(JobConfig c) {
        return quantize(c, true);
    }

    /**
     * @param codebooksRead whether the job reads the operator's codebooks stream (a codebook
     *                      topic, {@code --codebooks-out}, an in-job decoder); without a reader
     *                      the operator makes no snapshots
     */
    static QuantizeOperatorConfig quantize(JobConfig c, boolean codebooksRead) {
        Quantizer q = c.createQuantizer();
        QuantizeOperatorConfig.Builder b = QuantizeOperatorConfig.builder(c.quantizerType, c.quantizerArgs)
                .learn(c.learn)
                .batchSize(c.batchSize)
                .maxDelay(c.maxDelay)
                .source(c.source)
                .scope(c.scope)
                .roundTimeout(c.roundTimeout)
                .seed(c.seed)
                .publishEvery(c.publishEvery)
                .codebookSnapshots(codebooksRead)
                .emitQuantized(c.emitQuantized)
                .emitError(c.emitError)
                .accumulate(c.accumulate)
                .topk(c.topk)
                .backend(c.backend != null ? c.backend : System.getProperty(io.vqstream.core.backend.Backends.PROPERTY));
        if (c.initMinVectors > 0) {
            b.initMinVectors(c.initMinVectors);
        }
        if (c.codebookFile != null) {
            if (!Files.isRegularFile(c.codebookFile)) {
                throw new ConfigException("codebook.file not found: " + c.codebookFile);
            }
            try {
                b.sharedParams(CodebookFiles.load(q, c.codebookFile, c.seed));
            } catch (TensorFormatException e) {
                throw new ConfigException("codebook.file: " + e.getMessage(), e);
            }
        }
        if (c.source == CodebookSource.PER_KEY) {
            if (c.codebookDir == null || !Files.isDirectory(c.codebookDir)) {
                throw new ConfigException("codebook.source per-key needs codebook.dir, an existing directory (got " + c.codebookDir + ")");
            }
            b.perKeyDir(c.codebookDir.toAbsolutePath().toString());
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage(), e);
        }
    }
}
