"""The release artefacts work as a user installs them: built, checked, installed, run.

Builds the sdist and wheel the way a release does (``python -m build``, isolated), runs ``twine
check``, looks inside the wheel for the data files the code loads at run time, then installs the
wheel into a fresh virtualenv (no editable install, no checkout on ``sys.path``, no extras: what
``pip install hunkwise`` gives) and runs an offline review of the sample diff with its console
script, checks that the server's and the workers' commands name the extra they need, then adds
the ``server`` extra. About 30 s with a warm pip cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import hunkwise
from hunkwise.server.routes.docs import ASSETS

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=600, check=False, **kwargs)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)])
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return out


def test_sdist_and_wheel_pass_twine_check(dist: Path) -> None:
    version = hunkwise.__version__
    files = sorted(p.name for p in dist.iterdir())
    assert files == [f"hunkwise-{version}-py3-none-any.whl", f"hunkwise-{version}.tar.gz"]
    checked = _run([sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())])
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_wheel_carries_the_data_the_code_loads(dist: Path) -> None:
    wheel = next(dist.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in [
        "hunkwise/catalog/data/catalog.toml",
        "hunkwise/store/migrations/env.py",
        "hunkwise/store/migrations/script.py.mako",
        "hunkwise/server/templates/base.html",
        "hunkwise/server/static/console.css",
        "hunkwise/server/static/models.js",
        "hunkwise/sim/server.py",
        "hunkwise/py.typed",
        f"hunkwise-{hunkwise.__version__}.dist-info/licenses/LICENSE",
    ]:
        assert needed in names, f"{needed} is missing from the wheel"
    source_migrations = {p.name for p in (ROOT / "src/hunkwise/store/migrations/versions").glob("*.py")}
    wheel_migrations = {
        Path(n).name
        for n in names
        if n.startswith("hunkwise/store/migrations/versions/") and n.endswith(".py")
    }
    assert source_migrations and source_migrations <= wheel_migrations
    top_level = {n.split("/")[0] for n in names}
    assert top_level == {"hunkwise", f"hunkwise-{hunkwise.__version__}.dist-info"}


def test_wheel_installed_in_a_fresh_virtualenv_reviews_offline(dist: Path, tmp_path: Path) -> None:
    """The core install (`pip install hunkwise`, no extras) reviews offline; the server's commands
    say which extra to add, in one line; with ``[server]`` added, the server's assets are there."""
    env_dir = tmp_path / "venv"
    # No pip inside (ensurepip costs seconds): this environment's pip installs into it with
    # --python, resolving the wheel's own dependencies as a user's pip would. --no-compile skips
    # byte-compiling every dependency up front; what the review imports compiles as it loads.
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    hunkwise_script = str(env_dir / "bin" / "hunkwise")
    wheel = next(dist.glob("*.whl"))
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-compile",
           "--disable-pip-version-check"]  # fmt: skip
    installed = _run([*pip, str(wheel)])
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    clean_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("HUNKWISE_", "PYTHON", "VIRTUAL_ENV"))
    }
    clean_env |= {"HUNKWISE_HOME": str(tmp_path / "home"), "HOME": str(tmp_path), "NO_COLOR": "1"}
    where = _run(
        [str(python), "-c", "import hunkwise; print(hunkwise.__file__)"], env=clean_env, cwd=tmp_path
    )
    assert str(env_dir) in where.stdout, "the import did not come from the fresh virtualenv"
    # A core install: none of the server's or the workers' distributions came along.
    absent = "import importlib.util as u; print([m for m in {mods!r} if u.find_spec(m)])"
    extras_only = ["fastapi", "jinja2", "dramatiq", "pika", "redis", "prometheus_client", "cryptography"]
    core = _run([str(python), "-c", absent.format(mods=extras_only)], env=clean_env, cwd=tmp_path)
    assert core.returncode == 0 and core.stdout.strip() == "[]", core.stdout + core.stderr
    review = _run(
        [hunkwise_script, "review", "--offline", "--diff", str(ROOT / "examples/sample.diff")],
        env=clean_env,
        cwd=tmp_path,
    )
    assert review.returncode == 0, review.stdout[-3000:] + review.stderr[-3000:]
    assert "Findings" in review.stdout and "simulator" in review.stdout.lower()
    # The usage ledger is part of the core: the offline run was recorded and can be read back.
    usage = _run([hunkwise_script, "usage", "--include-simulated"], env=clean_env, cwd=tmp_path)
    assert usage.returncode == 0 and "1 review run(s)" in usage.stdout, usage.stdout + usage.stderr
    for command, extra in (("serve", "server"), ("worker", "worker")):
        ran = _run([hunkwise_script, command], env=clean_env, cwd=tmp_path)
        assert ran.returncode == 2, (command, ran.returncode, ran.stderr[-3000:])
        lines = ran.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in ran.stderr, ran.stderr[-3000:]
        assert f"pip install 'hunkwise[{extra}]'" in lines[0], lines[0]

    # With the server extra: /docs and /redoc serve Swagger UI and ReDoc from an installed
    # dependency, not a CDN, and `serve` gets past its imports.
    with_server = _run([*pip, f"{wheel}[server]"])
    assert with_server.returncode == 0, with_server.stdout[-3000:] + with_server.stderr[-3000:]
    present = (
        "import json; from importlib import resources; from hunkwise.server.routes.docs import ASSETS\n"
        "static = resources.files('fastapi_offline') / 'static'\n"
        "print(json.dumps(sorted(n for n in ASSETS if (static / n).is_file())))"
    )
    docs = _run([str(python), "-c", present], env=clean_env, cwd=tmp_path)
    assert docs.returncode == 0, docs.stderr[-3000:]
    assert json.loads(docs.stdout) == sorted(ASSETS)
    # `serve` imports the server first, then checks its options: a bad --log-level proves the
    # imports went through, without starting a server.
    served = _run([hunkwise_script, "serve", "--log-level", "loud"], env=clean_env, cwd=tmp_path)
    assert served.returncode == 2 and "--log-level 'loud'" in served.stderr, served.stderr[-3000:]
