"""Review jobs in the database: enqueue, claim with a lease, checkpoint, complete, fail.

The claim is atomic on both backends with one code path: on PostgreSQL the candidate row is read
``FOR UPDATE SKIP LOCKED`` (concurrent workers pick different rows without waiting); on SQLite
the write transaction starts with ``BEGIN IMMEDIATE`` (SQLAlchemy renders no ``FOR UPDATE``
there), so claimers are serialized by the database lock. Every state change after the claim is an
``UPDATE ... WHERE lease_owner = :me AND status = 'running'``: a worker whose lease expired and
was taken over cannot overwrite the new owner's outcome.

A running job is free to take in two cases: its lease expired (its worker died or stalled), or,
on PostgreSQL, its lease is live but the worker holding it is gone, which
:mod:`hunkwise.store.presence` tells by the worker's session-level advisory lock. The second case
lets a SIGKILLed ``hunkwise worker``'s job be taken over as soon as its database session ends,
not a whole lease later. It applies only to owners registered for presence (``...+presence``);
other owners (the embedded pool, workers of older versions during a rolling upgrade) and SQLite
keep the lease-only rule. A job whose lease expired on its last allowed attempt is failed
("interrupted ...") instead of run again; presence alone never fails a job (a free presence lock
may be a live worker whose presence connection dropped), so on the last attempt the lease decides.

Named like :mod:`hunkwise.server.routes.jobs` (the HTTP routes) and :mod:`hunkwise.cli.jobs` (the
command) on purpose: a store module is named after the rows it keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hunkwise.store import presence
from hunkwise.store.db import Db, use_session
from hunkwise.store.tables import ReviewJob, utcnow

STATUSES = ("queued", "running", "done", "failed")


@dataclass(frozen=True, slots=True)
class Job:
    """A snapshot of one job row (plain data, safe to hand across threads)."""

    id: int
    org: str
    kind: str
    payload: dict[str, Any]
    dedupe_key: str
    status: str
    attempts: int
    max_attempts: int
    next_run_at: datetime
    error: str | None
    result: dict[str, Any] | None
    checkpoint: dict[str, Any] | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    reason: str | None = None  # why it ended without a review (budget_exhausted, review_ceiling)
    priority: int = 10  # hunkwise.config.scheduling.PRIORITIES; claimed highest first
    deferred_until: datetime | None = None  # waiting for a Coding Plan window's reset
    defer_reason: str | None = None

    @classmethod
    def of(cls, row: ReviewJob) -> Job:
        """A detached copy of a row, so a job can be read after its session closed (rows expire with it)."""
        return cls(**{name: getattr(row, name) for name in cls.__slots__})  # type: ignore[attr-defined]


def enqueue(
    db: Db,
    *,
    org: str,
    kind: str,
    payload: dict[str, Any],
    dedupe_key: str,
    max_attempts: int = 5,
    now: datetime | None = None,
    priority: int = 10,
) -> tuple[Job, bool]:
    """Add a job, or return the existing job with the same ``dedupe_key`` (``created`` False).
    ``priority``: who asked (:data:`hunkwise.config.scheduling.PRIORITIES`)."""
    now = now or utcnow()
    with use_session(db, write=True) as session:
        existing = session.scalar(select(ReviewJob).where(ReviewJob.dedupe_key == dedupe_key))
        if existing is not None:
            return Job.of(existing), False
        row = ReviewJob(
            org=org,
            kind=kind,
            payload=payload,
            dedupe_key=dedupe_key,
            status="queued",
            attempts=0,
            max_attempts=max_attempts,
            priority=priority,
            next_run_at=now,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            winner = session.scalar(select(ReviewJob).where(ReviewJob.dedupe_key == dedupe_key))
            if winner is None:
                raise
            return Job.of(winner), False
        return Job.of(row), True


def _abandoned_owners(session: Session, now: datetime) -> set[str]:
    """Registered owners of running jobs with a live lease whose worker is gone (PostgreSQL only;
    one ``pg_locks`` read for all of them)."""
    if session.get_bind().dialect.name != "postgresql":
        return set()
    owners = session.scalars(
        select(ReviewJob.lease_owner)
        .distinct()
        .where(
            (ReviewJob.status == "running")
            & (ReviewJob.lease_expires_at >= now)
            & ReviewJob.lease_owner.endswith(presence.SUFFIX, autoescape=True)
        )
    )
    return presence.gone_among(session, owners)


def _take(row: ReviewJob, owner: str, lease_s: float, now: datetime) -> None:
    """Start an attempt under ``owner``'s lease (the one way :func:`claim` and
    :func:`claim_by_id` take a row). A deferral ends when the job runs."""
    row.status = "running"
    row.deferred_until = None
    row.defer_reason = None
    row.attempts += 1
    row.lease_owner = owner
    row.lease_expires_at = now + timedelta(seconds=lease_s)
    row.updated_at = now


def _interrupted(row: ReviewJob, now: datetime) -> None:
    """Fail a job whose worker died during its last allowed attempt."""
    row.status = "failed"
    row.error = f"interrupted: the worker stopped during attempt {row.attempts} of {row.max_attempts}" + (
        f"; last error: {row.error}" if row.error else ""
    )
    row.lease_owner = None
    row.lease_expires_at = None
    row.updated_at = now


# The claim order: who asked first (a person's review before a backfill), then the longest due.
CLAIM_ORDER = (ReviewJob.priority.desc(), ReviewJob.next_run_at, ReviewJob.id)


def claim(
    db: Db, owner: str, *, lease_s: float, now: datetime | None = None, interrupted: list[int] | None = None
) -> Job | None:
    """Take the next due job, highest priority first (:data:`CLAIM_ORDER`): a queued job whose
    time has come, or a running job whose worker died (its lease expired, or its presence lock is
    gone). A dead worker's job that has used all its attempts is failed instead, so a job that
    kills its worker every time cannot loop forever. The ids of jobs failed that way are appended
    to ``interrupted`` (their merge status must not stay pending:
    :class:`hunkwise.jobs.review_job.StatusHooks`)."""
    now = now or utcnow()
    with use_session(db, write=True) as session:
        due = or_(
            (ReviewJob.status == "queued") & (ReviewJob.next_run_at <= now),
            (ReviewJob.status == "running") & (ReviewJob.lease_expires_at < now),
        )
        abandoned = _abandoned_owners(session, now)
        if abandoned:
            # Presence alone never fails a job (see claim_by_id): on its last attempt an
            # abandoned job waits for its lease, like any other.
            due = or_(
                due,
                (ReviewJob.status == "running")
                & ReviewJob.lease_owner.in_(abandoned)
                & (ReviewJob.attempts < ReviewJob.max_attempts),
            )
        while True:
            row = session.scalar(
                select(ReviewJob).where(due).order_by(*CLAIM_ORDER).limit(1).with_for_update(skip_locked=True)
            )
            if row is None:
                return None
            if row.status == "running" and row.attempts >= row.max_attempts:
                _interrupted(row, now)
                session.flush()
                if interrupted is not None:
                    interrupted.append(row.id)
                continue
            _take(row, owner, lease_s, now)
            session.flush()
            return Job.of(row)


def _owned(job_id: int, owner: str) -> Any:
    return (ReviewJob.id == job_id) & (ReviewJob.lease_owner == owner) & (ReviewJob.status == "running")


def renew(db: Db, job_id: int, owner: str, *, lease_s: float, now: datetime | None = None) -> bool:
    """Extend our lease; False when the job is no longer ours (taken over or finished)."""
    now = now or utcnow()
    values = {"lease_expires_at": now + timedelta(seconds=lease_s), "updated_at": now}
    return _update(db, job_id, owner, values)


def save_checkpoint(db: Db, job_id: int, owner: str, checkpoint: dict[str, Any]) -> bool:
    """Persist progress (e.g. the finished report) so a retry resumes instead of starting over."""
    return _update(db, job_id, owner, {"checkpoint": checkpoint, "updated_at": utcnow()})


def complete(db: Db, job_id: int, owner: str, result: dict[str, Any]) -> bool:
    """Mark a job done with its result, but only while ``owner`` still holds the lease: a worker that lost the
    job to a takeover must not overwrite the new owner's outcome (False then).
    """
    values = {
        "status": "done",
        "result": result,
        "error": None,
        "reason": None,
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": utcnow(),
    }
    return _update(db, job_id, owner, values)


def fail(
    db: Db,
    job_id: int,
    owner: str,
    error: str,
    *,
    retry_at: datetime | None = None,
    reason: str | None = None,
) -> str | None:
    """Record a failed attempt: back to ``queued`` at ``retry_at`` while attempts remain, else
    ``failed`` for good. The error is kept either way, and ``reason``, a machine-readable word
    for why (``budget_exhausted``), replaces the last one. Returns the new status (``None`` when
    the job was not ours any more)."""
    with use_session(db, write=True) as session:
        row = session.scalar(select(ReviewJob).where(_owned(job_id, owner)).with_for_update())
        if row is None:
            return None
        now = utcnow()
        row.error = error[:4000]
        row.reason = reason
        row.lease_owner = None
        row.lease_expires_at = None
        row.updated_at = now
        if retry_at is not None and row.attempts < row.max_attempts:
            row.status = "queued"
            row.next_run_at = retry_at
        else:
            row.status = "failed"
        session.flush()
        return row.status


def release(db: Db, job_id: int, owner: str) -> bool:
    """Give a claimed job back untouched (a graceful shutdown): queued again, attempt refunded."""
    with use_session(db, write=True) as session:
        row = session.scalar(select(ReviewJob).where(_owned(job_id, owner)).with_for_update())
        if row is None:
            return False
        _give_back(row, utcnow())
        return True


def defer(db: Db, job_id: int, owner: str, until: datetime, reason: str) -> bool:
    """Give a claimed job back to wait until ``until`` (a Coding Plan window's reset): queued,
    attempt refunded (waiting is no failure), ``deferred_until`` and its reason kept for the API
    and the console. False when the job was not ours any more."""
    with use_session(db, write=True) as session:
        row = session.scalar(select(ReviewJob).where(_owned(job_id, owner)).with_for_update())
        if row is None:
            return False
        _give_back(row, until)
        row.deferred_until, row.defer_reason = until, reason[:2000]
        row.updated_at = utcnow()
        return True


def _give_back(row: ReviewJob, run_at: datetime) -> None:
    """Queued again to run at ``run_at``, unowned, the attempt refunded (not a failure)."""
    row.status = "queued"
    row.attempts = max(0, row.attempts - 1)
    row.lease_owner = None
    row.lease_expires_at = None
    row.next_run_at = row.updated_at = run_at


def run_now(db: Db, job_id: int, *, priority: int) -> Job | None:
    """A person asked for a queued job now: it takes ``priority`` (a person's, never deferred)
    and is due at once. None unless the job is queued."""
    now = utcnow()
    with use_session(db, write=True) as session:
        row = session.scalar(select(ReviewJob).where(ReviewJob.id == job_id).with_for_update())
        if row is None or row.status != "queued":
            return None
        row.priority = max(row.priority, priority)
        row.next_run_at = row.updated_at = now
        row.deferred_until = None
        row.defer_reason = None
        session.flush()
        return Job.of(row)


def _update(db: Db, job_id: int, owner: str, values: dict[str, Any]) -> bool:
    with use_session(db, write=True) as session:
        result = session.execute(update(ReviewJob).where(_owned(job_id, owner)).values(**values))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def get_job(db: Db, job_id: int) -> Job | None:
    """One job by id, detached from the session, for the routes and the CLI that show or retry it."""
    with use_session(db) as session:
        row = session.get(ReviewJob, job_id)
        return Job.of(row) if row is not None else None


def list_jobs(
    db: Db, *, org: str | None = None, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[Job]:
    """Newest first; ``org``/``status`` filter when given."""
    query = select(ReviewJob).order_by(ReviewJob.created_at.desc(), ReviewJob.id.desc())
    if org is not None:
        query = query.where(ReviewJob.org == org)
    if status is not None:
        query = query.where(ReviewJob.status == status)
    with use_session(db) as session:
        return [Job.of(r) for r in session.scalars(query.limit(limit).offset(offset))]


def retry(db: Db, job_id: int) -> bool:
    """Queue a failed job again with fresh attempts (a webhook redelivered after the cause was
    fixed). The old error stays until the new run replaces it. The checkpoint stays too: a job
    that failed at the post resumes there instead of calling (and charging for) the models again,
    its usage already recorded under the job's key. False unless the job had failed."""
    now = utcnow()
    with use_session(db, write=True) as session:
        result = session.execute(
            update(ReviewJob)
            .where((ReviewJob.id == job_id) & (ReviewJob.status == "failed"))
            .values(status="queued", attempts=0, next_run_at=now, updated_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


# --- the distributed engine (``hunkwise.jobs.distributed``): a broker message names one job ----


@dataclass(frozen=True, slots=True)
class ClaimById:
    """What claiming one named job found.

    - ``claimed``: ``job`` is ours now (attempt counted, lease taken);
    - ``busy``: another live worker holds the lease; ask again in ``wait_s`` (the rest of the lease,
      or :data:`~hunkwise.store.presence.RECHECK_S` when the owner's presence can be checked);
    - ``not_due``: a retry scheduled for later; ask again in ``wait_s``;
    - ``finished``: done or failed already (a duplicate message): nothing to do;
    - ``gave_up``: the previous holder died on the last allowed attempt; the job is failed now;
    - ``missing``: no such row (deleted).

    ``abandoned_by`` names the dead worker whose live lease was overridden (``claimed`` or
    ``gave_up`` by presence, see :mod:`hunkwise.store.presence`), else ``None``.
    ``instead_of`` (with ``claimed``): the named job was runnable, but ``job`` (another, of higher
    priority and due) was claimed in its place; the named job stays queued and needs a message.
    """

    state: str
    job: Job | None = None
    wait_s: float = 0.0
    abandoned_by: str | None = None
    instead_of: int | None = None


def claim_by_id(db: Db, job_id: int, owner: str, *, lease_s: float, now: datetime | None = None) -> ClaimById:
    """Claim the job a broker message names, under the same lease and presence rules as
    :func:`claim`.

    Messages are delivered at least once, so a message may name a job that is finished, not yet
    due, or running under a live lease elsewhere; each case is reported instead of raised, and
    the row is locked (``FOR UPDATE``) so two workers holding copies of one message cannot both
    win."""
    now = now or utcnow()
    with use_session(db, write=True) as session:
        row = session.scalar(select(ReviewJob).where(ReviewJob.id == job_id).with_for_update())
        if row is None:
            return ClaimById("missing")
        if row.status in ("done", "failed"):
            return ClaimById("finished", Job.of(row))
        if row.status == "queued" and row.next_run_at > now:
            return ClaimById("not_due", Job.of(row), (row.next_run_at - now).total_seconds())
        abandoned_by = None
        if row.status == "running":
            expires = row.lease_expires_at
            if expires is not None and expires >= now:
                wait_s = (expires - now).total_seconds()
                if not presence.gone(session, row.lease_owner):
                    if presence.checkable(session, row.lease_owner):
                        wait_s = min(wait_s, presence.RECHECK_S)  # it may die any moment
                    return ClaimById("busy", Job.of(row), wait_s)
                if row.attempts >= row.max_attempts:
                    # A missing presence lock may be a live worker whose presence connection
                    # dropped: enough to run the job again (at worst twice, never posted twice),
                    # not to fail it for good. Its last attempt is judged by the lease.
                    return ClaimById("busy", Job.of(row), wait_s)
                abandoned_by = row.lease_owner
            if row.attempts >= row.max_attempts:
                _interrupted(row, now)
                session.flush()
                return ClaimById("gave_up", Job.of(row), abandoned_by=abandoned_by)
        if row.status == "queued":
            better = session.scalar(
                select(ReviewJob)
                .where(
                    (ReviewJob.status == "queued")
                    & (ReviewJob.next_run_at <= now)
                    & (ReviewJob.priority > row.priority)
                )
                .order_by(*CLAIM_ORDER)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if better is not None:
                # Priority across the broker: a message is a turn to run a job, and a person's
                # review waiting behind a backfill's message takes this turn.
                _take(better, owner, lease_s, now)
                session.flush()
                return ClaimById("claimed", Job.of(better), instead_of=row.id)
        _take(row, owner, lease_s, now)
        session.flush()
        return ClaimById("claimed", Job.of(row), abandoned_by=abandoned_by)


def count_by_status(db: Db) -> dict[str, int]:
    """Jobs per status (every status present, zeros included): the metrics gauge."""
    from sqlalchemy import func

    counts = dict.fromkeys(STATUSES, 0)
    with use_session(db) as session:
        for status, n in session.execute(select(ReviewJob.status, func.count()).group_by(ReviewJob.status)):
            counts[status] = int(n)
    return counts


def stranded(db: Db, *, idle_s: float, limit: int = 500, now: datetime | None = None) -> list[int]:
    """Ids of jobs that should be running but may have no broker message: queued and due for
    ``idle_s`` already, running with a lease expired ``idle_s`` ago, or running for a worker that
    is gone (presence) and not renewed for ``idle_s``. The distributed sweeper publishes them
    again (a duplicate message is harmless: claims are atomic)."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=idle_s)
    stale = ((ReviewJob.status == "queued") & (ReviewJob.next_run_at <= cutoff)) | (
        (ReviewJob.status == "running") & (ReviewJob.lease_expires_at < cutoff)
    )
    with use_session(db) as session:
        abandoned = _abandoned_owners(session, now)
        if abandoned:
            stale = stale | (
                (ReviewJob.status == "running")
                & ReviewJob.lease_owner.in_(abandoned)
                & (ReviewJob.updated_at < cutoff)
            )
        query = select(ReviewJob.id).where(stale).order_by(ReviewJob.id).limit(limit)
        return list(session.scalars(query))


def job_by_dedupe_key(db: Db, dedupe_key: str) -> Job | None:
    """The job with ``dedupe_key`` (one per pull request head), if there is one: a webhook that
    cannot tell a push from a vote (Azure DevOps' "pull request updated") asks whether the head
    it names was already queued."""
    with use_session(db) as session:
        row = session.scalar(select(ReviewJob).where(ReviewJob.dedupe_key == dedupe_key))
        return Job.of(row) if row is not None else None
