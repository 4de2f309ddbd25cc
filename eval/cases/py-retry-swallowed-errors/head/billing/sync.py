"""Push invoices to the payment provider."""

from __future__ import annotations

import logging
import time

from billing.models import Invoice
from billing.provider import ProviderClient

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4


def push_invoice(client: ProviderClient, invoice: Invoice) -> str:
    """Create the invoice at the provider and return the provider's id for it."""
    payload = {
        "customer": invoice.customer.provider_id,
        "currency": invoice.currency,
        "lines": [{"description": li.description, "amount": li.amount_cents} for li in invoice.lines],
    }
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            created = client.post("/v1/invoices", json=payload, idempotency_key=f"inv-{invoice.id}")
            return created["id"]
        except:
            log.warning("invoice %s: attempt %d failed, retrying", invoice.id, attempt)
            time.sleep(2**attempt)


def sync_pending(client: ProviderClient) -> int:
    """Push every invoice that is not at the provider yet; return how many were pushed."""
    pushed = 0
    for invoice in Invoice.objects.filter(provider_id__isnull=True, status="final"):
        invoice.provider_id = push_invoice(client, invoice)
        invoice.save(update_fields=["provider_id"])
        pushed += 1
    return pushed
