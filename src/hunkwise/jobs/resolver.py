"""Which slots a review of an organization runs with, decided once per process.

A fixed-mode process (``HUNKWISE_MODEL`` set) reviews every organization with its own global
configuration, resolved once when the process starts; otherwise each organization's stored BYOK
slots are rebuilt and SSRF-checked at every use. The resolver is given everything it needs (the
store, the secret box, the SSRF policy, the fixed configuration or none) and reads nothing else:
no environment, and no side effect on a read (it never creates a master key; the server's set-up
does, see :func:`hunkwise.store.secrets.load_secret_box`).
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import Engine

from hunkwise.catalog.loader import Catalog
from hunkwise.config.byok import build_org_slots, guarded_clients
from hunkwise.config.outbound import sdk_transports
from hunkwise.config.proxies import Network
from hunkwise.config.resolve import ResolvedConfig
from hunkwise.config.ssrf import SsrfPolicy
from hunkwise.gateway import ClientPool, Slot
from hunkwise.store.byok_slots import stored_slots
from hunkwise.store.secrets import SecretBox


class SlotResolver:
    """``slots_for(org)``: the slots in failover order; ``clients()``: how they connect."""

    def __init__(
        self,
        engine: Engine,
        *,
        box: SecretBox,
        policy: SsrfPolicy,
        fixed: ResolvedConfig | None,
        catalog: Catalog | None = None,
        network: Network | None = None,
    ) -> None:
        self.engine = engine
        self.network = network or Network()  # outbound proxies and CA bundle (docs/proxies.md)
        self.box = box
        self.policy = policy
        self.fixed = fixed
        self.catalog = catalog

    @property
    def mode(self) -> Literal["fixed", "byok"]:
        return "fixed" if self.fixed is not None else "byok"

    def slots_for(self, org: str) -> list[Slot]:
        """The slots a review for organization ``org`` runs with, in failover order.

        Fixed mode: the process's global slots, for every organization. Otherwise the
        organization's BYOK slots, rebuilt and SSRF-checked *now*. Returns ``[]`` when the
        organization is unknown or has no model configured (the caller acknowledges and ignores
        the event). Raises :class:`ConfigurationError` when a stored configuration is no longer
        usable (its host now resolves to a private address, a key cannot be decrypted or breaks
        today's input rules). Does blocking I/O (database, DNS): call it from a thread in async
        code.
        """
        if self.fixed is not None:
            return list(self.fixed.slots)
        stored = stored_slots(self.engine, org, box=self.box)
        if not stored:
            return []
        return build_org_slots(stored, policy=self.policy, catalog=self.catalog)

    def clients(self) -> ClientPool | None:
        """SDK clients for one job's router. BYOK: every connection re-checks the SSRF policy on
        the address it dials (:func:`hunkwise.config.byok.guarded_clients`); the caller closes the
        pool. Fixed mode: the gateway's own clients (the admin's configuration is trusted, like
        the CLI's): None, unless a proxy or CA bundle is configured for the network."""
        if self.fixed is None:
            return guarded_clients(self.policy, self.network)
        factory = sdk_transports(self.network)
        return ClientPool(transport_factory=factory) if factory is not None else None


__all__ = ["SlotResolver"]
