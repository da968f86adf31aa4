package io.vqstream.jobs.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The few calls of Flink's REST API that the cluster commands need, as plain HTTP and JSON. */
final class ClusterRest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    ClusterRest(String host, int port) {
        this.base = "http://" + host + ":" + port;
    }

    String base() {
        return base;
    }

    JsonNode get(String path) throws IOException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
    }

    JsonNode post(String path, Object body) throws IOException {
        return send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))));
    }

    /** Whether the REST endpoint answers at all. */
    boolean up() {
        try {
            get("/config");
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private JsonNode send(HttpRequest.Builder b) throws IOException {
        HttpResponse<String> r;
        try {
            r = http.send(b.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (r.statusCode() / 100 != 2) {
            throw new IOException("HTTP " + r.statusCode() + " from " + r.uri() + ": " + r.body());
        }
        return r.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(r.body());
    }
}
