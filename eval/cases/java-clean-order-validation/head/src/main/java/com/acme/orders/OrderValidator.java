package com.acme.orders;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

public final class OrderValidator {
    static final int MAX_LINES = 200;
    static final int MAX_QUANTITY = 10_000;

    public record Problem(String field, String message) {}

    public List<Problem> validate(OrderRequest req) {
        List<Problem> problems = new ArrayList<>();
        if (req.customerId() == null || req.customerId().isBlank()) {
            problems.add(new Problem("customerId", "is required"));
        }
        List<OrderRequest.Line> lines = req.lines() == null ? List.of() : req.lines();
        if (lines.isEmpty()) {
            problems.add(new Problem("lines", "must contain at least one line"));
        } else if (lines.size() > MAX_LINES) {
            problems.add(new Problem("lines", "must contain at most " + MAX_LINES + " lines"));
        }
        Set<String> skus = new HashSet<>();
        for (int i = 0; i < lines.size(); i++) {
            OrderRequest.Line line = lines.get(i);
            String at = "lines[" + i + "]";
            if (line == null) {
                problems.add(new Problem(at, "must not be null"));
                continue;
            }
            if (line.sku() == null || line.sku().isBlank()) {
                problems.add(new Problem(at + ".sku", "is required"));
            } else if (!skus.add(line.sku())) {
                problems.add(new Problem(at + ".sku", "duplicates an earlier line; merge the quantities"));
            }
            if (line.quantity() < 1 || line.quantity() > MAX_QUANTITY) {
                problems.add(new Problem(at + ".quantity", "must be between 1 and " + MAX_QUANTITY));
            }
            if (line.unitPrice() == null || line.unitPrice().compareTo(BigDecimal.ZERO) < 0) {
                problems.add(new Problem(at + ".unitPrice", "must be zero or more"));
            }
        }
        return problems;
    }
}
