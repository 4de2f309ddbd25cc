package com.acme.session;

import java.text.SimpleDateFormat;
import java.util.Date;

public class SessionPolicy {
    private static final SimpleDateFormat AUDIT_FORMAT = new SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss.SSSZ");

    private final long idleTimeoutMs;

    public SessionPolicy(int idleTimeoutDays) {
        if (idleTimeoutDays < 1) {
            throw new IllegalArgumentException("session.idle-timeout-days must be at least 1");
        }
        this.idleTimeoutMs = idleTimeoutDays * 24 * 60 * 60 * 1000;
    }

    public boolean isExpired(Session s, long nowMs) {
        return nowMs - s.lastSeenMs() > idleTimeoutMs;
    }

    public String auditTimestamp(Session s) {
        return AUDIT_FORMAT.format(new Date(s.lastSeenMs()));
    }
}
