package io.vqstream.bench.report;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;

/** A benchmark result as one line of JSON (maps and lists nest; insertion order kept). */
public final class JsonLine {
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonLine() {}

    public static String of(Map<String, Object> fields) {
        try {
            return JSON.writeValueAsString(fields);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not writable as JSON: " + fields, e);
        }
    }

    /** Prints the line on stdout and flushes (results are read while a long run goes on). */
    public static void print(Map<String, Object> fields) {
        System.out.println(of(fields));
        System.out.flush();
    }
}
