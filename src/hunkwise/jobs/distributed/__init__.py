"""The distributed job engine: review jobs carried by a task queue (Dramatiq on RabbitMQ or Redis)
to ``hunkwise worker`` processes on any number of machines.

The database row stays the source of truth (status, attempts, lease, checkpoint, error); a broker
message carries only the job id and means "look at this job". Delivery is at least once, so every
message handler starts with an atomic claim of the named row and treats a finished, busy or
not-yet-due job as a normal case, never an error.

- :mod:`.broker`: the queue URL -> a Dramatiq broker, the actor, publishing, queue depth.
- :mod:`.runner`: one message -> claim, run the review job with a lease heartbeat, record the
  outcome, schedule the retry or dead-letter the job; hand back on shutdown.
- :mod:`.process`: the ``hunkwise worker`` process (Dramatiq worker threads, SIGTERM, sweeper,
  health/metrics HTTP endpoint).
- :mod:`.service`: the server side: enqueue through the broker instead of the embedded pool.
"""

from hunkwise.jobs.distributed.broker import QUEUE_NAME_ENV, QUEUE_URL_ENV, QueueSettings

__all__ = ["QUEUE_NAME_ENV", "QUEUE_URL_ENV", "QueueSettings"]
