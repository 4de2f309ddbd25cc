"""Run part of the suite against the lowest versions pyproject.toml allows.

A lower bound in ``dependencies`` is a promise: "hunkwise works with this release". Nothing
tests it while every environment resolves to the newest releases, so this script builds a fresh
virtualenv in which every direct dependency of the core and of the runtime extras (server,
worker, postgres, redis) is pinned to its lower bound through a pip constraints file generated
from pyproject.toml, installs the project into it (the test tools stay unpinned), prints what it
got, and runs the suites that exercise those dependencies: gateway, review, cli, config, sim,
store, server and packaging's dependency declarations.

    python3 .ci/lowest_deps.py [--venv DIR] [--keep] [--pytest-args "..."]

Needs the package index (old releases are downloaded). docs/releasing.md says when to run it and
what it found last. Exit code: pytest's (or 1 when the install failed, with pip's explanation).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_EXTRAS = ("server", "worker", "postgres", "redis")
SUITES = [
    "tests/gateway",
    "tests/review",
    "tests/cli",
    "tests/config",
    "tests/sim",
    "tests/store",
    "tests/server",
    "tests/packaging/test_dependencies.py",
]
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*?)\s*(;.*)?$")


def lowest_pins(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """``name==lower`` (with the requirement's marker) for every direct runtime dependency that
    has a ``>=`` bound; the extras' self-references and the test tools are left out. A
    distribution with a floor in the core and a higher one in an extra (starlette: the simulator
    needs less than the server) is pinned to the higher one."""
    project = tomllib.loads(pyproject.read_text())["project"]
    specs = list(project["dependencies"])
    for extra in RUNTIME_EXTRAS:
        specs += project["optional-dependencies"].get(extra, [])
    pins: dict[str, tuple[str, str, str]] = {}
    for spec in specs:
        match = _REQUIREMENT.match(spec)
        if match is None:
            raise SystemExit(f"cannot read the requirement {spec!r} in pyproject.toml")
        name, _extras, versions, marker = match.groups()
        if name.lower() == "hunkwise":
            continue
        lower = re.search(r">=\s*([^,\s]+)", versions or "")
        if lower is None:
            continue
        key = re.sub(r"[-_.]+", "-", name).lower()
        version = lower.group(1)
        if key in pins and _release(pins[key][1]) >= _release(version):
            continue  # a part with a higher floor wins: it is what an install of every part needs
        pins[key] = (name, version, marker or "")
    return sorted(f"{n}=={v}" + (f" {m}" if m else "") for n, v, m in pins.values())


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version))


def _run(cmd: list[str], **kwargs: object) -> int:
    print("+", shlex.join(cmd), flush=True)
    return subprocess.run(cmd, check=False, **kwargs).returncode  # type: ignore[call-overload]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venv", type=Path, help="Where to build the virtualenv (default: a temporary one).")
    ap.add_argument("--keep", action="store_true", help="Keep the virtualenv afterwards.")
    ap.add_argument("--pytest-args", default="-q -x", help="Extra pytest arguments (default: -q -x).")
    args = ap.parse_args(argv)

    pins = lowest_pins()
    tmp = Path(tempfile.mkdtemp(prefix="hunkwise-lowest-"))
    env_dir = args.venv or tmp / "venv"
    constraints = tmp / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    print(f"constraints ({len(pins)} direct dependencies at their lower bound):")
    print("  " + "\n  ".join(pins))
    started = time.monotonic()
    try:
        if not (env_dir / "bin" / "python").exists():
            venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        python = str(env_dir / "bin" / "python")
        install = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        install += ["--prefer-binary", "-c", str(constraints), "-e", f"{ROOT}[dev]"]
        if _run(install) != 0:
            print("lowest-deps: the lower bounds cannot be installed together (pip says why above)")
            return 1
        installed = time.monotonic() - started
        subprocess.run([python, "-m", "pip", "list", "--disable-pip-version-check"], check=False)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        code = _run([python, "-m", "pytest", *shlex.split(args.pytest_args), *SUITES], cwd=ROOT, env=env)
        total = time.monotonic() - started
        verdict = "passed" if code == 0 else f"FAILED (pytest exit {code})"
        print(f"lowest-deps: {verdict}; install {installed:.0f} s, total {total:.0f} s")
        return code
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
            if args.venv is None:
                pass  # the temporary virtualenv went with tmp


if __name__ == "__main__":
    sys.exit(main())
