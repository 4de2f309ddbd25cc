package com.acme.orders;

import java.util.List;
import java.util.Map;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

@RestController
public class OrderController {
    private final OrderService service;
    private final OrderValidator validator = new OrderValidator();

    public OrderController(OrderService service) {
        this.service = service;
    }

    @PostMapping("/orders")
    public ResponseEntity<?> create(@RequestBody OrderRequest req) {
        List<OrderValidator.Problem> problems = validator.validate(req);
        if (!problems.isEmpty()) {
            return ResponseEntity.badRequest().body(Map.of("errors", problems));
        }
        return ResponseEntity.ok(service.place(req));
    }
}
