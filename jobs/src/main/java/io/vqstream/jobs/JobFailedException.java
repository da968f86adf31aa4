package io.vqstream.jobs;

/**
 * A job that ran and failed (exit 1): the message names the root cause (not Flink's
 * {@code Job restarted} or {@code Recovery is suppressed} wrappers) and what the job left behind.
 */
final class JobFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    JobFailedException(String message) {
        super(message);
    }

    JobFailedException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The innermost cause of a failure as one line: {@code SimpleName: first line of its message}. */
    static String rootCause(Throwable e) {
        Throwable t = e;
        java.util.Set<Throwable> seen = new java.util.HashSet<>();
        while (t.getCause() != null && seen.add(t)) {
            t = t.getCause();
        }
        String msg = t.getMessage() == null ? "" : t.getMessage().lines().findFirst().orElse("");
        return t.getClass().getSimpleName() + (msg.isEmpty() ? "" : ": " + msg);
    }
}
