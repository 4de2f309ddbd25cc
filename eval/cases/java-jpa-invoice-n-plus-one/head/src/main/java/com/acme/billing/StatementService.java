package com.acme.billing;

import java.math.BigDecimal;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

@Service
public class StatementService {
    private final CustomerRepository customers;
    private final InvoiceRepository invoices;

    public StatementService(CustomerRepository customers, InvoiceRepository invoices) {
        this.customers = customers;
        this.invoices = invoices;
    }

    @Transactional(readOnly = true)
    public List<Statement> monthlyStatements(long accountId, YearMonth month) {
        List<Statement> out = new ArrayList<>();
        for (Customer c : customers.findAll()) {
            if (c.getAccountId() != accountId) {
                continue;
            }
            List<Invoice> monthInvoices = invoices.findByCustomerIdAndIssuedOnBetween(
                    c.getId(), month.atDay(1), month.atEndOfMonth());
            BigDecimal total = BigDecimal.ZERO;
            List<StatementLine> lines = new ArrayList<>();
            for (Invoice inv : monthInvoices) {
                for (InvoiceLine line : inv.getLines()) {
                    lines.add(new StatementLine(inv.getNumber(), line.getDescription(), line.getAmount()));
                    total = total.add(line.getAmount());
                }
            }
            out.add(new Statement(c.getId(), c.getName(), month, lines, total));
        }
        return out;
    }
}
