"""Review jobs: an embedded durable queue (database rows + an in-process worker pool), a
distributed one (Dramatiq workers, :mod:`hunkwise.jobs.distributed`), and the review job itself,
which both run.

- :mod:`hunkwise.jobs.queue`: the :class:`JobQueue` interface and :class:`DatabaseQueue`.
- :mod:`hunkwise.jobs.worker`: :class:`WorkerPool` (claim, lease heartbeat, retry with backoff).
- :mod:`hunkwise.jobs.review_job`: fetch -> review -> record usage -> post, idempotently.
- :mod:`hunkwise.jobs.posting`: a report -> the summary and inline comments to post.
"""
