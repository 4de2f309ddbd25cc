"""Check that every link of a site answers."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

log = logging.getLogger(__name__)


@dataclass
class Report:
    stats: dict[int, int] = field(default_factory=dict)
    broken: list[str] = field(default_factory=list)


def check_links(urls: list[str], timeout: float = 10.0, workers: int = 16) -> Report:
    report = Report()
    session = requests.Session()

    def check(url: str) -> None:
        resp = session.head(url, timeout=timeout, allow_redirects=True)
        code = resp.status_code
        report.stats[code] = report.stats.get(code, 0) + 1
        if resp.status_code >= 400:
            report.broken.append(url)
            log.warning("broken link %s (%s)", url, resp.status_code)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for url in urls:
            pool.submit(check, url)
    return report
