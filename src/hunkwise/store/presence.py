"""Worker presence: is the worker that owns this lease still alive?

A job's lease alone cannot tell a dead worker from a busy one, so a SIGKILLed worker's job would
wait until its lease runs out. PostgreSQL can tell: every ``hunkwise worker`` holds, for its whole
life, a session-level advisory lock ``pg_advisory_lock(NAMESPACE, key(owner))`` on one dedicated
connection (:class:`Presence`). When the process dies, the kernel closes that connection, the
server ends the session and the lock is gone, at once. A claimer that finds a live lease asks
:func:`gone`; when the owner's lock is free, the job is abandoned and may be taken over now.

Which owners take part: only owner strings that end in :data:`SUFFIX` (:func:`registered`). A
worker only uses such an owner after it holds its lock, so "lock free" can mean "dead". Owners
without the suffix (older workers during a rolling upgrade, the embedded pool) keep the lease-only
rule, and so does SQLite, where there are no locks to look at. Older claimers ignore the suffix
and keep the lease rule too: every mix of versions is safe, the newest pair is just faster.

Why ``pg_locks`` and not ``pg_try_advisory_lock`` for the check: the claimer then takes no lock
at all, so nothing can be left behind on a pooled connection (a session-level lock survives a
failed transaction and would travel with the connection back to the pool), and two claimers
checking the same dead owner at once never make each other look alive.

Errors only ever go one way:

- ``key`` is a 32-bit hash, so two owners can share a key. A dead worker whose key collides with
  a live one's looks alive: its job falls back to the lease. A worker that cannot take its key at
  start (the colliding owner holds it) picks a new owner string (see :func:`hold`).
- A worker whose presence connection dropped (a database restart, a network blip) looks dead until
  it takes the lock again (checked every :data:`CHECK_S`); a job taken over meanwhile is stopped
  by the lease-loss path (its next renewal or checkpoint is refused, and the lease is renewed
  right before posting), so it is run twice at worst, never posted twice.
- A worker whose machine vanished without closing its connection looks alive until the database
  server drops the session (TCP keepalive): the lease rule applies.
- Behind PgBouncer in transaction pooling mode a session lock does not belong to the worker:
  connect workers directly or with session pooling, or the check degrades as above.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from hunkwise.errors import ConfigurationError

log = logging.getLogger("hunkwise.presence")

NAMESPACE = 0x7072_6573  # "pres": the first key of every hunkwise worker presence lock
SUFFIX = "+presence"
CHECK_S = 3.0  # how often a worker verifies it still holds its lock (and re-takes it if not)
RECHECK_S = 5.0  # a claimer that found a registered owner alive looks again this soon

_LOCKS = """
    SELECT objid::int8 FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid::int8 = :ns
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


_HELD_HERE = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND objsubid = 2 AND classid::int8 = :ns AND objid::int8 = :u),"
    " pg_backend_pid()"
)


def registered(owner: str) -> str:
    """The owner string a worker uses once it holds its presence lock."""
    return owner if owner.endswith(SUFFIX) else owner + SUFFIX


def uses_presence(owner: str | None) -> bool:
    """Only owners registered for presence (``...+presence``) may lose their job to a free presence lock;
    others keep the lease-only rule.
    """
    return owner is not None and owner.endswith(SUFFIX)


def key(owner: str) -> int:
    """The second advisory-lock key of ``owner``: a signed 32-bit hash, the same in every process
    (Python's ``hash`` is salted per process, so it cannot be used)."""
    return int.from_bytes(hashlib.blake2b(owner.encode(), digest_size=4).digest(), "big", signed=True)


def checkable(session: Session, owner: str | None) -> bool:
    """Whether ``owner``'s liveness can be asked: a registered owner, on PostgreSQL."""
    return uses_presence(owner) and session.get_bind().dialect.name == "postgresql"


def gone_among(session: Session, owners: Iterable[str | None]) -> set[str]:
    """The registered owners among ``owners`` whose presence lock nobody holds: their workers are
    gone. Unregistered owners, and every owner on SQLite, are never reported."""
    candidates = {o for o in owners if o is not None and checkable(session, o)}
    if not candidates:
        return set()
    held = {int(k) for k in session.scalars(text(_LOCKS), {"ns": NAMESPACE})}
    return {o for o in candidates if key(o) & 0xFFFF_FFFF not in held}


def gone(session: Session, owner: str | None) -> bool:
    """Whether the worker holding ``owner``'s lease is known to be gone (False when unknowable)."""
    return bool(gone_among(session, [owner]))


class Presence:
    """This worker's presence lock, on a dedicated connection outside the engine's pool.

    The connection is autocommit (it never sits idle in a transaction) and has TCP keepalives, so
    a dead database is noticed. A background thread checks every ``check_s`` that the session
    still holds the lock and takes it again after a reconnect."""

    def __init__(self, engine: Engine, owner: str, *, check_s: float = CHECK_S) -> None:
        self.owner = registered(owner)
        self.key = key(self.owner)
        self.check_s = check_s
        self.application_name = f"hunkwise-presence {self.owner}"[:63]
        self._engine = create_engine(
            engine.url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={
                "application_name": self.application_name,
                "connect_timeout": 10,
                "keepalives": 1,
                "keepalives_idle": 10,
                "keepalives_interval": 5,
                "keepalives_count": 3,
            },
        )
        self._conn: Connection | None = None
        self._held = False
        self._pid: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        """Whether this worker still holds its presence lock: a worker that lost it (its session dropped) must
        stop claiming, or it could be taken over while it runs.
        """
        return self._held

    @property
    def backend_pid(self) -> int | None:
        """The server process holding the lock (what ``pg_terminate_backend`` ends)."""
        return self._pid if self._held else None

    def acquire(self) -> bool:
        """Take the lock (connecting if needed); True when this session holds it now. Raises when
        the database is unreachable; False when another session holds the key."""
        if self._conn is None:
            self._conn = self._engine.connect()
        row = self._conn.execute(_HELD_HERE, {"ns": NAMESPACE, "u": self.key & 0xFFFF_FFFF}).one()
        held, self._pid = bool(row[0]), int(row[1])
        if not held:
            held = bool(
                self._conn.scalar(
                    text("SELECT pg_try_advisory_lock(:ns, :k)"), {"ns": NAMESPACE, "k": self.key}
                )
            )
        self._held = held
        return held

    def start(self) -> None:
        """Keep the lock for the life of the process (a daemon thread; :meth:`close` ends it)."""
        self._thread = threading.Thread(target=self._watch, name="hunkwise-presence", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        reported = False
        while not self._stop.wait(self.check_s):
            was_held = self._held
            problem = "another session holds its key (the old session not ended yet?)"
            try:
                taken, reconnected = self._take()
            except Exception as exc:
                taken, reconnected = False, True
                problem = f"the database connection failed ({type(exc).__name__})"
            if taken:
                if reconnected or not was_held:
                    log.warning("presence of worker %s: lock taken again on a new session", self.owner)
                reported = False
                continue
            if was_held or not reported:
                log.warning(
                    "presence of worker %s lost: %s; its jobs may be taken over (each stops at its "
                    "next lease renewal); retrying every %.0f s",
                    self.owner,
                    problem,
                    self.check_s,
                )
                reported = True

    def _take(self) -> tuple[bool, bool]:
        """:meth:`acquire`, on a new connection when the old one is dead: (held, reconnected)."""
        try:
            return self.acquire(), False
        except Exception:
            self._drop()
        try:
            return self.acquire(), True
        except Exception:
            self._drop()
            raise

    def _drop(self) -> None:
        self._held = False
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except Exception:
                pass

    def close(self) -> None:
        """Stop watching and end the session: the lock goes with it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.check_s + 15)
        self._drop()
        self._engine.dispose()


def hold(
    engine: Engine, make_owner: Callable[[], str], *, check_s: float = CHECK_S, tries: int = 5
) -> Presence:
    """Take a presence lock for a fresh owner string (``make_owner()``), picking another owner when
    the key is held already (a hash collision with a live worker), and start watching it."""
    for _ in range(tries):
        presence = Presence(engine, make_owner(), check_s=check_s)
        try:
            if presence.acquire():
                presence.start()
                return presence
        except Exception:
            presence.close()
            raise
        presence.close()
    raise ConfigurationError(
        f"no free worker presence lock after {tries} tries: another application in this database "
        f"takes PostgreSQL advisory locks in namespace {NAMESPACE:#x}; give it its own database",
        setting="HUNKWISE_DATABASE_URL",
    )
