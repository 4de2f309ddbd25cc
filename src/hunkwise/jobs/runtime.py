"""The composition root of a process that serves or runs review jobs: built once, passed on.

``hunkwise serve`` builds a :class:`Runtime` with :meth:`Runtime.for_server` and hands it to the
app (``app.state.runtime``; the routes read it through typed dependencies) and to the job
service; ``hunkwise worker`` builds one with :meth:`Runtime.for_worker` and hands it to the
worker process. Everything below receives what it needs from here (an engine, a box, a policy, a
resolver) and reads no environment and no ``app.state`` of its own.

The two differ only where the processes differ: the server is the set-up path, so it creates
the master key file when there is none; a worker only reads it. The server's embedded workers
keep per-key limits in memory; a worker uses the cluster backend (``HUNKWISE_LIMITS_URL``) so
limits and circuits hold across workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hunkwise.config.byok import fixed_config
from hunkwise.config.resolve import ResolvedConfig
from hunkwise.config.review_settings import (
    DEFAULT_MAX_COST_USD,
    DEFAULT_SOURCE,
    server_config_files,
    server_cost_ceiling,
    server_monthly_budget,
    server_spill,
)
from hunkwise.config.scheduling import DEFAULT_SPILL, Spill
from hunkwise.config.schema import COST_OFF, MaxCost
from hunkwise.config.settings import Settings
from hunkwise.config.ssrf import SsrfPolicy
from hunkwise.gateway import ClientPool, QuotaMonitor
from hunkwise.jobs.resolver import SlotResolver
from hunkwise.store.secrets import SecretBox, load_secret_box, upgrade_legacy_rows

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from hunkwise.config.review_settings import MonthlyBudget
    from hunkwise.gateway import LimitsBackend


@dataclass(frozen=True)
class Runtime:
    """What a serving or working process holds for its whole life, each made once."""

    settings: Settings
    engine: Engine
    box: SecretBox
    policy: SsrfPolicy
    limits: LimitsBackend  # per-key concurrency and circuits for every job of this process
    fixed: ResolvedConfig | None  # fixed mode's global configuration, resolved once; None: BYOK
    slots: SlotResolver
    # Z.AI's quota monitor for Coding Plan keys, one per process so its cache and rate limit are
    # shared by every request that asks (advisory: it never fails anything).
    quota_monitor: QuotaMonitor = field(default_factory=lambda: QuotaMonitor(enabled=False))
    # The spend limits of organizations without their own (the environment, else the server's
    # config file, else the defaults; hunkwise.config.review_settings), read once: the per-review
    # cost ceiling, and the monthly budget with where it came from.
    max_cost: MaxCost = DEFAULT_MAX_COST_USD
    monthly_budget: tuple[MaxCost, str] = field(default=(COST_OFF, DEFAULT_SOURCE))
    # The spill policy of organizations without their own, read the same way and as often.
    spill: Spill = DEFAULT_SPILL

    @classmethod
    def for_server(
        cls, settings: Settings, *, engine: Engine | None = None, policy: SsrfPolicy | None = None
    ) -> Runtime:
        """The server's: the fixed configuration is resolved and the store opened (migrated)
        first, so a typo or a bad database URL fails before a port opens; the master key file
        is created when missing and stored keys in the pre-scrypt ``pw1`` format are re-sealed
        (the one set-up path: upgrading hunkwise needs no command of its own)."""
        from hunkwise.gateway import LocalBackend

        runtime = cls._build(settings, engine=engine, policy=policy, create_key=True, limits=LocalBackend())
        upgrade_legacy_rows(runtime.engine, runtime.box)
        return runtime

    @classmethod
    def for_worker(cls, settings: Settings) -> Runtime:
        """A ``hunkwise worker``'s: it reads the master key (an empty box follows the key file
        until the server creates it), and its limits backend is the cluster's."""
        from hunkwise.config.gateway_wiring import limits_backend

        return cls._build(
            settings, engine=None, policy=None, create_key=False, limits=limits_backend(settings)
        )

    @classmethod
    def _build(
        cls,
        settings: Settings,
        *,
        engine: Engine | None,
        policy: SsrfPolicy | None,
        create_key: bool,
        limits: LimitsBackend,
    ) -> Runtime:
        from hunkwise.store.db import database_url, open_store

        fixed = fixed_config(settings)
        engine = engine if engine is not None else open_store(database_url(settings))
        box = load_secret_box(settings, create=create_key)
        policy = policy if policy is not None else SsrfPolicy(allowed_hosts=settings.allow_private_base_urls)
        slots = SlotResolver(engine, box=box, policy=policy, fixed=fixed, network=settings.network)
        files = server_config_files(settings)
        return cls(
            settings, engine, box, policy, limits, fixed, slots, _quota_monitor(settings, policy, fixed),
            max_cost=server_cost_ceiling(settings, files),
            monthly_budget=server_monthly_budget(settings, files),
            spill=server_spill(settings, files),
        )  # fmt: skip

    def budget_for(self, org: str) -> MonthlyBudget:
        """The monthly budget ``org``'s reviews run under (blocking: the database)."""
        from hunkwise.store.orgs import monthly_budget_for_org

        return monthly_budget_for_org(self.engine, org, self.monthly_budget)

    def clients(self) -> ClientPool | None:
        """SDK clients for one job's router, as :meth:`SlotResolver.clients` decides them."""
        return self.slots.clients()

    async def aclose(self) -> None:
        """Release what the runtime holds open besides the engine (its owner disposes that)."""
        await self.limits.aclose()
        await self.quota_monitor.aclose()


def _quota_monitor(settings: Settings, policy: SsrfPolicy, fixed: ResolvedConfig | None) -> QuotaMonitor:
    """The monitor connects like the slots it reads for: through the SSRF guard for organizations'
    keys (BYOK), directly for the admin's fixed configuration (trusted, as on the CLI); both
    through the configured proxy, trusting the configured CA bundle (docs/proxies.md)."""
    from hunkwise.config.outbound import sdk_transports

    factory = sdk_transports(settings.network, policy if fixed is None else None)
    return QuotaMonitor(enabled=settings.quota_monitor, transport_factory=factory)


__all__ = ["Runtime"]
