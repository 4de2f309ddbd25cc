"""What ``pip install hunkwise`` costs on disk, against ``hunkwise[server,worker]``.

Builds the wheel from this checkout, installs it into fresh virtualenvs (core alone, then with the
server and worker extras, then with every runtime extra), and prints for each: the size of the
installed packages (site-packages, without pip and setuptools, which every virtualenv has), the
number of distributions installed besides those two, and the install time.

On demand only (not in ``make bench``): it needs the package index, and its time is the
network's. Record the figures in BENCHMARKS.md ("Install size").

    .venv/bin/python bench/install_size.py [--json] [--source CHECKOUT] [--core-only]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "hunkwise (core)": "",
    "hunkwise[server,worker]": "[server,worker]",
    "hunkwise[server,worker,postgres,redis]": "[server,worker,postgres,redis]",
}
BASELINE = {"pip", "setuptools"}


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def build_wheel(out: Path, source: Path = ROOT) -> Path:
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        sys.exit(f"building the wheel failed:\n{built.stdout[-2000:]}{built.stderr[-2000:]}")
    return next(out.glob("hunkwise-*.whl"))


def measure(wheel: Path, extras: str, where: Path) -> dict[str, float | int]:
    venv.EnvBuilder(with_pip=True).create(where)
    python = where / "bin" / "python"
    site = next((where / "lib").glob("python3*/site-packages"))
    before = _tree_bytes(site)
    started = time.perf_counter()
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"{wheel}{extras}"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if installed.returncode != 0:
        sys.exit(f"pip install {wheel.name}{extras} failed:\n{installed.stderr[-2000:]}")
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    names = {d["name"].lower() for d in json.loads(listed.stdout)} - BASELINE
    return {
        "size_mb": round((_tree_bytes(site) - before) / 1e6, 1),
        "distributions": len(names),
        "install_s": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")
    ap.add_argument(
        "--source", type=Path, default=ROOT, help="The checkout to build (default: this one; say, main's)."
    )
    ap.add_argument("--core-only", action="store_true", help="Only the plain `pip install hunkwise`.")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp, "dist"), args.source)
        variants = list(VARIANTS.items())[: 1 if args.core_only else None]
        results = {
            name: measure(wheel, extras, Path(tmp, f"venv{number}"))
            for number, (name, extras) in enumerate(variants)
        }
    if args.json:
        print(json.dumps(results))
        return 0
    print(f"{'install':<42}{'size MB':>9}{'distributions':>15}{'install s':>11}")
    for name, r in results.items():
        print(f"{name:<42}{r['size_mb']:>9.1f}{r['distributions']:>15}{r['install_s']:>11.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
