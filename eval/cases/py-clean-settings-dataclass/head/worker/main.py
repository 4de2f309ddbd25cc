"""Worker entry point."""

from __future__ import annotations

import sys

from worker.config import ConfigError, load_settings
from worker.runtime import Worker


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"worker: configuration error: {exc}", file=sys.stderr)
        return 2
    worker = Worker(
        broker_url=settings.broker_url,
        concurrency=settings.concurrency,
        prefetch=settings.prefetch,
        task_timeout_s=settings.task_timeout_s,
    )
    worker.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
