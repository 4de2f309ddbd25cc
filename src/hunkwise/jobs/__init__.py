"""Review jobs: an embedded durable queue (database rows + an in-process worker pool), a
distributed one (Dramatiq workers, :mod:`hunkwise.jobs.distributed`), and the review job itself,
which both run.

- :mod:`hunkwise.jobs.queue`: the :class:`JobQueue` interface and :class:`DatabaseQueue`.
- :mod:`hunkwise.jobs.engine`: the one job engine both run (lease heartbeat, outcome, hooks).
- :mod:`hunkwise.jobs.retry`: the one retry decision (by error family) and the job backoff.
- :mod:`hunkwise.jobs.pool`: :class:`WorkerPool`, the embedded pool's polling loop.
- :mod:`hunkwise.jobs.review_job`: fetch -> review -> record usage -> post, idempotently.
- :mod:`hunkwise.jobs.posting`: a report -> the summary and inline comments to post.
"""
