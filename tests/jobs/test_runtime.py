"""The composition root of a serving or working process: what it decides once, and what a read
through it never does."""

from __future__ import annotations

from pathlib import Path

from hunkwise.config.settings import Settings
from hunkwise.config.spec import SlotEntry, SlotSpec
from hunkwise.gateway.types import Secret
from hunkwise.jobs.runtime import Runtime
from hunkwise.store.byok_slots import save_byok
from hunkwise.store.secrets import key_file_path
from simkeys import DEV_KEY

LOCAL = SlotSpec(provider="openai_compatible", base_url="http://127.0.0.1:9/v1", model="qwen-local")


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {"HUNKWISE_HOME": str(home), "HUNKWISE_ALLOW_PRIVATE_BASE_URLS": "127.0.0.1", **extra}


def test_a_read_never_creates_a_master_key_the_server_set_up_does(tmp_path: Path) -> None:
    """Reading an organization's slots (a worker, the resolver) creates no key file; a fresh home
    used to get one from the first read, a key nobody could decrypt anything with. A worker started
    before the server picks up the key the server's start-up generates."""
    home = tmp_path / "home"
    worker = Runtime.for_worker(Settings.from_env(_env(home)))
    try:
        save_byok(worker.engine, "acme", {"main": SlotEntry(LOCAL)}, box=worker.box, policy=worker.policy)
        (slot,) = worker.slots.slots_for("acme")  # a local server: no key stored, none needed
        assert slot.model == "qwen-local"
        assert not key_file_path(home).exists()

        server = Runtime.for_server(Settings.from_env(_env(home)))  # the set-up path
        assert key_file_path(home).exists()
        keyed = SlotEntry(LOCAL, Secret(DEV_KEY))
        save_byok(server.engine, "acme", {"main": keyed}, box=server.box, policy=server.policy)
        (slot,) = worker.slots.slots_for("acme")
        assert slot.api_key.reveal() == DEV_KEY
        server.engine.dispose()
    finally:
        worker.engine.dispose()


def test_the_fixed_configuration_is_resolved_once_per_process(tmp_path: Path) -> None:
    """Fixed mode's global slots are resolved when the process starts, not again for every job:
    a config file broken afterwards does not reach the jobs of a running worker."""
    home, user_file = tmp_path / "home", tmp_path / "config.toml"
    user_file.write_text("[main]\nmax_concurrent = 3\n")
    env = _env(home, HUNKWISE_MODEL="glm-5.1", ZAI_API_KEY=DEV_KEY, HUNKWISE_CONFIG=str(user_file))
    runtime = Runtime.for_worker(Settings.from_env(env))
    try:
        first = runtime.slots.slots_for("acme")
        user_file.write_text("[main]\nmax_concurrent = \n")  # not TOML any more
        again = runtime.slots.slots_for("globex")
    finally:
        runtime.engine.dispose()
    assert runtime.slots.mode == "fixed" and runtime.clients() is None
    assert [s.max_concurrent for s in first] == [3] and again == first
    assert again[0] is first[0]  # the same slots, not rebuilt
