"""``hunkwise secrets rotate`` then ``hunkwise secrets prune`` through the CLI: rotation keeps the
old key in the key file (running servers keep working), prune drops it after moving every row."""

from __future__ import annotations

from typer.testing import CliRunner

from hunkwise.cli.app import app


def test_secrets_rotate_then_prune_cli() -> None:
    from hunkwise.config.settings import Settings
    from hunkwise.config.spec import SlotEntry, SlotSpec
    from hunkwise.config.ssrf import SsrfPolicy
    from hunkwise.gateway.types import Secret
    from hunkwise.jobs.resolver import SlotResolver
    from hunkwise.store.byok_slots import save_byok
    from hunkwise.store.db import database_url, open_store
    from hunkwise.store.secrets import SecretBox, load_secret_box

    def slots_for(box: SecretBox) -> list:  # type: ignore[type-arg]
        return SlotResolver(engine, box=box, policy=SsrfPolicy(), fixed=None).slots_for("acme")

    engine = open_store(database_url(Settings.from_env()))
    try:
        box = load_secret_box(Settings.from_env(), create=True)
        spec = SlotEntry(SlotSpec(card="glm-5.1"), Secret("rotate-prune-key-0000"))
        save_byok(engine, "acme", {"main": spec}, box=box, policy=SsrfPolicy())
        result = CliRunner().invoke(app, ["secrets", "rotate"])
        assert result.exit_code == 0, result.output
        assert "secrets prune" in result.output
        rotated = load_secret_box(Settings.from_env())
        assert [k.key_id for k in rotated.keys][1:] == [box.primary.key_id]
        # the running server's box (loaded before the rotation) still reads the rows
        assert slots_for(box)[0].api_key.reveal() == "rotate-prune-key-0000"
        # a key sealed by a server that had not reloaded yet
        save_byok(engine, "acme", {"main": spec}, box=SecretBox(box.keys[-1:]), policy=SsrfPolicy())
        result = CliRunner().invoke(app, ["secrets", "prune"])
        assert result.exit_code == 0, result.output
        assert "re-encrypted 1 stored key(s)" in result.output
        pruned = load_secret_box(Settings.from_env())
        assert [k.key_id for k in pruned.keys] == [rotated.primary.key_id]
        assert slots_for(pruned)[0].api_key.reveal() == "rotate-prune-key-0000"
    finally:
        engine.dispose()
