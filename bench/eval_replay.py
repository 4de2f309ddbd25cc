"""``hunkwise eval`` recorded against a live endpoint, then replayed: identical figures, zero requests.

Starts the simulator on a loopback port as "the provider" (reached through base URL + key, as a
real one is), runs ``hunkwise eval DATASET -c everything.toml -c medium-up.toml --record DIR``
as a child process and counts the requests the provider received; then **stops the provider**,
removes the key from the environment and runs the same command with ``--replay DIR``. Any
request the replay tried to send would fail (nothing listens any more) and make a case
incomplete; the script checks that none did, that the provider's counter did not move, and that
every figure but latency is identical. Prints both runs' figures, wall time and peak RSS.

The dataset is the first argument, else ``eval/cases`` when it exists, else the test set
``tests/eval/data``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HUNKWISE = Path(sys.executable).with_name("hunkwise")
KEY = "bench-eval-replay-key-0001"
COMPARED = (
    "precision",
    "recall",
    "f1",
    "true_positives",
    "false_positives",
    "false_negatives",
    "findings",
    "clean_false_positives",
    "tokens",
    "cost_usd",
    "calls",
    "failovers",
    "incomplete_cases",
)


def _run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[dict, float, str]:
    started = time.perf_counter()
    proc = subprocess.run(
        [str(HUNKWISE), *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"`hunkwise {' '.join(args)}` exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout), wall, proc.stderr


def main() -> None:
    from hunkwise.sim import KeyConfig, SimConfig, SimulatorServer

    dataset = ROOT / "eval" / "cases"
    dataset = dataset if dataset.is_dir() else ROOT / "tests" / "eval" / "data"
    dataset = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else dataset
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("HUNKWISE_", "ZAI_", "OPENAI_"))}
        base_env["HUNKWISE_HOME"] = str(work / "home")
        server = SimulatorServer(SimConfig(keys=(KeyConfig(key=KEY, kind="developer"),)))
        server.start()
        for name, review in (("everything", ""), ("medium-up", '[review]\nmin_severity = "medium"\n')):
            (work / f"{name}.toml").write_text(
                f'[main]\ncard = "glm-5.1"\nplan = "developer"\nbase_url = "{server.zai_developer_url}"\n'
                f'api_key_env = "BENCH_KEY"\n\n{review}'
            )
        args = ["eval", str(dataset), "-c", "everything.toml", "-c", "medium-up.toml", "--json", "--quiet"]
        live, live_wall, _ = _run([*args, "--record", "answers"], {**base_env, "BENCH_KEY": KEY}, work)
        sent = int(server.key_stats(KEY)["requests"])
        server.stop()  # nothing listens any more: a request from the replay could not be answered
        replay, replay_wall, _ = _run([*args, "--replay", "answers"], base_env, work)
        recordings = len(list((work / "answers").glob("*.json")))
        leaked = sum(KEY in p.read_text() for p in (work / "answers").glob("*.json"))
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"dataset: {dataset} ({live['cases']} cases), 2 configurations")
    print(f"record: {live_wall:.2f} s wall, {sent} requests to the provider, {recordings} recording files")
    print(f"replay: {replay_wall:.2f} s wall, provider stopped, key unset")
    identical = True
    for a, b in zip(live["configs"], replay["configs"], strict=True):
        same = all(a[k] == b[k] for k in COMPARED)
        identical &= same
        print(
            f"  {a['name']:<12} P {a['precision']} R {a['recall']} F1 {a['f1']} | replay P {b['precision']} "
            f"R {b['recall']} F1 {b['f1']} | tokens {a['tokens']} cost ${a['cost_usd']} | "
            f"incomplete {b['incomplete_cases']} | identical: {same}"
        )
    print(f"recordings holding the key: {leaked}")
    print(f"peak RSS (largest child): {rss_mb:.0f} MB")
    if not identical or leaked:
        sys.exit("replay differs from the recorded run, or a recording holds the key")


if __name__ == "__main__":
    main()
