package io.vqstream.connectors.serde;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Strict streaming JSON for the payload formats: standard JSON only (no NaN/Infinity tokens,
 * comments, single quotes or leading zeros), duplicate fields and trailing content rejected,
 * numbers read from their text (so a float written by {@code Float.toString} reads back exactly).
 */
final class StrictJson {
    static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            // Jackson's bundled FastDoubleParser instead of FloatingDecimal: the same correctly rounded
            // values, without the big-integer slow path that took half of a Kafka source thread's time
            .enable(StreamReadFeature.USE_FAST_DOUBLE_PARSER)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .disable(JsonReadFeature.ALLOW_LEADING_ZEROS_FOR_NUMBERS)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(32).build())
            .build();

    /** Longest key, in UTF-8 bytes (keys travel through Flink's modified-UTF-8 string writers). */
    static final int MAX_KEY_BYTES = 4096;
    /** Longest attribute name or value, in UTF-8 bytes. */
    static final int MAX_ATTRIBUTE_BYTES = 16384;

    private StrictJson() {}

    static JsonParser openObject(byte[] payload) throws IOException {
        // Jackson would also detect UTF-16/32; the formats are UTF-8 only
        for (int i = 0; i < Math.min(4, payload.length); i++) {
            if (payload[i] == 0 || (payload[i] & 0xFE) == 0xFE) {
                throw new MalformedPayloadException("payload is not UTF-8 JSON (byte 0x"
                        + Integer.toHexString(payload[i] & 0xFF) + " at offset " + i + ")");
            }
        }
        JsonParser p = FACTORY.createParser(payload);
        JsonToken t = p.nextToken();
        if (t != JsonToken.START_OBJECT) {
            throw new MalformedPayloadException("payload is " + describe(t) + ", expected a JSON object");
        }
        return p;
    }

    /** After the root object's END_OBJECT: nothing but whitespace may follow. */
    static void expectEnd(JsonParser p) throws IOException {
        JsonToken t = p.nextToken();
        if (t != null) {
            throw new MalformedPayloadException("trailing content after the JSON object: " + describe(t));
        }
    }

    /** A one-line reason for a Jackson parse error. */
    static String brokenJson(JsonProcessingException e) {
        String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
        return "broken JSON: " + withoutParserHints(oneLine(e.getOriginalMessage())) + where;
    }

    /** Jackson's advice on how to relax the parser and its source excerpts are noise in a reason. */
    static String withoutParserHints(String msg) {
        return msg.replaceAll("\\s*[:(]?\\s*(?:or )?enable `?(?:JsonReadFeature|JsonParser\\.Feature)\\.[A-Z_]+`?(?: to allow)?\\)?", "")
                .replaceAll("\\(start marker at \\[Source: [^;]*; line: (\\d+), column: (\\d+)\\]\\)", "(opened at line $1, column $2)")
                .replaceAll("\\s*\\[Source: [^\\]]*\\]", "")
                .replaceAll("\\s*;\\s*$", "")
                .trim();
    }

    static String describe(JsonToken t) {
        if (t == null) {
            return "empty";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT -> "an integer";
            case VALUE_NUMBER_FLOAT -> "a decimal number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.toString();
        };
    }

    /** The current value as a string; rejects every other token. */
    static String string(JsonParser p, String field) throws IOException {
        if (p.currentToken() != JsonToken.VALUE_STRING) {
            throw new MalformedPayloadException(field + " is " + describe(p.currentToken()) + ", expected a string");
        }
        return p.getText();
    }

    /** A non-empty key of at most {@link #MAX_KEY_BYTES} UTF-8 bytes. */
    static String key(JsonParser p) throws IOException {
        if (p.currentToken() == JsonToken.VALUE_NULL) {
            throw new MalformedPayloadException("key is null");
        }
        return checkKey(string(p, "key"));
    }

    static String checkKey(String key) {
        if (key.isEmpty()) {
            throw new MalformedPayloadException("key is empty");
        }
        int bytes = Utf8.length(key);
        if (bytes > MAX_KEY_BYTES) {
            throw new MalformedPayloadException("key of " + bytes + " UTF-8 bytes exceeds the limit of " + MAX_KEY_BYTES);
        }
        return key;
    }

    /** An integer within 64 bits. */
    static long int64(JsonParser p, String field) throws IOException {
        JsonToken t = p.currentToken();
        if (t != JsonToken.VALUE_NUMBER_INT) {
            throw new MalformedPayloadException(field + " is " + describe(t) + ", expected an integer");
        }
        if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            throw new MalformedPayloadException(field + " " + clip(p.getText()) + " does not fit in 64 bits");
        }
        return p.getLongValue();
    }

    /** An integer within 32 bits. */
    static int int32(JsonParser p, String field) throws IOException {
        long v = int64(p, field);
        if (v != (int) v) {
            throw new MalformedPayloadException(field + " " + v + " does not fit in 32 bits");
        }
        return (int) v;
    }

    /** A finite float32 from a JSON number (integer or decimal). */
    static float float32(JsonParser p, String field) throws IOException {
        return float32(p, field, -1);
    }

    /** {@link #float32(JsonParser, String)} of element {@code index} of array {@code field} (named only in an error). */
    private static float float32(JsonParser p, String field, int index) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_STRING) {
            throw new MalformedPayloadException(name(field, index) + " is the string \"" + clip(p.getText()) + "\", expected a number");
        }
        if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
            throw new MalformedPayloadException(name(field, index) + " is " + describe(t) + ", expected a number");
        }
        float v = p.getFloatValue();
        if (!Float.isFinite(v)) {
            throw new MalformedPayloadException(name(field, index) + " " + clip(p.getText()) + " overflows float32");
        }
        return v;
    }

    private static String name(String field, int index) {
        return index < 0 ? field : field + "[" + index + "]";
    }

    /** A non-empty array of finite float32 numbers. */
    static float[] floatArray(JsonParser p, String field) throws IOException {
        JsonToken t = p.currentToken();
        if (t != JsonToken.START_ARRAY) {
            throw new MalformedPayloadException(field + " is " + describe(t) + ", expected an array of numbers");
        }
        float[] buf = new float[64];
        int n = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (n == buf.length) {
                buf = Arrays.copyOf(buf, n * 2);
            }
            buf[n] = float32(p, field, n);
            n++;
        }
        if (n == 0) {
            throw new MalformedPayloadException(field + " is empty");
        }
        return n == buf.length ? buf : Arrays.copyOf(buf, n);
    }

    /** A non-empty array of 64-bit integers. */
    static long[] longArray(JsonParser p, String field) throws IOException {
        JsonToken t = p.currentToken();
        if (t != JsonToken.START_ARRAY) {
            throw new MalformedPayloadException(field + " is " + describe(t) + ", expected an array of integers");
        }
        long[] buf = new long[16];
        int n = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (n == buf.length) {
                buf = Arrays.copyOf(buf, n * 2);
            }
            buf[n] = int64(p, field + "[" + n + "]");
            n++;
        }
        if (n == 0) {
            throw new MalformedPayloadException(field + " is empty");
        }
        return n == buf.length ? buf : Arrays.copyOf(buf, n);
    }

    /** An object of string values, or null (= none). */
    static Map<String, String> stringMap(JsonParser p, String field) throws IOException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.VALUE_NULL) {
            return Map.of();
        }
        if (t != JsonToken.START_OBJECT) {
            throw new MalformedPayloadException(field + " is " + describe(t) + ", expected an object of strings");
        }
        Map<String, String> m = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            String value = string(p, field + "." + clip(name));
            if (Utf8.length(name) > MAX_ATTRIBUTE_BYTES || Utf8.length(value) > MAX_ATTRIBUTE_BYTES) {
                throw new MalformedPayloadException(field + "." + clip(name) + " exceeds " + MAX_ATTRIBUTE_BYTES + " UTF-8 bytes");
            }
            m.put(name, value);
        }
        return m.isEmpty() ? Map.of() : java.util.Collections.unmodifiableMap(m);
    }

    /** Text shortened to 40 characters, control characters escaped, for reasons. */
    static String clip(String s) {
        String c = s.length() > 40 ? s.substring(0, 40) + "..." : s;
        return oneLine(c);
    }

    static String oneLine(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            if (ch < 0x20 || ch == 0x7f) {
                b.append(String.format("\\u%04x", (int) ch));
            } else {
                b.append(ch);
            }
        }
        return b.toString();
    }

    /** Writes JSON with a generator and returns the UTF-8 bytes. */
    static byte[] write(JsonWriter body) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (JsonGenerator g = FACTORY.createGenerator(bytes)) {
            body.write(g);
        } catch (IOException e) {
            throw new IllegalStateException("writing JSON to memory failed", e);
        }
        return bytes.toByteArray();
    }

    @FunctionalInterface
    interface JsonWriter {
        void write(JsonGenerator g) throws IOException;
    }

    static void writeFloats(JsonGenerator g, String field, float[] values) throws IOException {
        g.writeArrayFieldStart(field);
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new IllegalArgumentException(field + "[" + i + "] is " + values[i] + ": JSON carries finite numbers only");
            }
            g.writeNumber(values[i]);
        }
        g.writeEndArray();
    }

    static void writeStringMap(JsonGenerator g, String field, Map<String, String> m) throws IOException {
        if (m.isEmpty()) {
            return;
        }
        g.writeObjectFieldStart(field);
        for (Map.Entry<String, String> e : m.entrySet()) {
            g.writeStringField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
    }
}
