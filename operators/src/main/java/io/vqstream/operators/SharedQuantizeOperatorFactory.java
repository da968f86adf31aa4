package io.vqstream.operators;

import org.apache.flink.annotation.Internal;

import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.ControlMessage;
import io.vqstream.operators.record.VectorRecord;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.operators.coordination.OperatorCoordinator;
import org.apache.flink.runtime.operators.coordination.OperatorEventDispatcher;
import org.apache.flink.runtime.operators.coordination.OperatorEventGateway;
import org.apache.flink.streaming.api.operators.AbstractStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.ChainingStrategy;
import org.apache.flink.streaming.api.operators.CoordinatedOperatorFactory;
import org.apache.flink.streaming.api.operators.OneInputStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.StreamOperator;
import org.apache.flink.streaming.api.operators.StreamOperatorParameters;

/**
 * Creates {@link SharedQuantizeOperator} (one input, or two with a control stream) together with
 * the coordinator that combines the rounds of a learning shared codebook.
 */
@Internal
public final class SharedQuantizeOperatorFactory extends AbstractStreamOperatorFactory<CodeRecord>
        implements CoordinatedOperatorFactory<CodeRecord>, OneInputStreamOperatorFactory<VectorRecord, CodeRecord>,
        TwoInputStreamOperatorFactory<VectorRecord, ControlMessage, CodeRecord> {
    private static final long serialVersionUID = 1L;

    private final QuantizeOperatorConfig config;
    private final boolean withControl;

    public SharedQuantizeOperatorFactory(QuantizeOperatorConfig config, boolean withControl) {
        this.config = config;
        this.withControl = withControl;
        setChainingStrategy(ChainingStrategy.ALWAYS);
    }

    public QuantizeOperatorConfig config() {
        return config;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T extends StreamOperator<CodeRecord>> T createStreamOperator(StreamOperatorParameters<CodeRecord> parameters) {
        OperatorID id = parameters.getStreamConfig().getOperatorID();
        OperatorEventDispatcher dispatcher = parameters.getOperatorEventDispatcher();
        OperatorEventGateway gateway = dispatcher.getOperatorEventGateway(id);
        SharedQuantizeOperator op = withControl
                ? new SharedQuantizeOperator.WithControl(parameters, config, gateway)
                : new SharedQuantizeOperator(parameters, config, gateway);
        dispatcher.registerEventHandler(id, op);
        return (T) op;
    }

    @Override
    public OperatorCoordinator.Provider getCoordinatorProvider(String operatorName, OperatorID operatorID) {
        return new SharedLearningCoordinator.Provider(operatorID, config);
    }

    @Override
    public Class<? extends StreamOperator<?>> getStreamOperatorClass(ClassLoader classLoader) {
        return withControl ? SharedQuantizeOperator.WithControl.class : SharedQuantizeOperator.class;
    }
}
