package io.vqstream.operators;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vqstream.operators.record.VectorRecord;
import java.nio.charset.StandardCharsets;

/** A faithful JSON rendering of a rejected record for its dead letter (NaN/Inf as strings). */
final class RecordJson {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RecordJson() {}

    static byte[] of(VectorRecord r) {
        ObjectNode o = JSON.createObjectNode();
        o.put("key", r.key());
        o.put("seq", r.seq());
        o.put("ts", r.eventTime());
        if (r.vector() != null) {
            ArrayNode a = o.putArray("vector");
            for (float v : r.vector()) {
                if (Float.isFinite(v)) {
                    a.add(v);
                } else {
                    a.add(Float.toString(v));
                }
            }
        }
        if (!r.attributes().isEmpty()) {
            ObjectNode at = o.putObject("attributes");
            r.attributes().forEach(at::put);
        }
        return o.toString().getBytes(StandardCharsets.UTF_8);
    }
}
