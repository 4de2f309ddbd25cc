"""Review jobs: an embedded durable queue (database rows + an in-process worker pool), a
distributed one (Dramatiq workers, :mod:`patchwise.jobs.distributed`), and the review job itself,
which both run.

- :mod:`patchwise.jobs.queue`: the :class:`JobQueue` interface and :class:`DatabaseQueue`.
- :mod:`patchwise.jobs.worker`: :class:`WorkerPool` (claim, lease heartbeat, retry with backoff).
- :mod:`patchwise.jobs.review_job`: fetch -> review -> record usage -> post, idempotently.
- :mod:`patchwise.jobs.posting`: a report -> the summary and inline comments to post.
"""
