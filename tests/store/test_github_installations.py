"""GitHub App installations in the store (store/github_installations.py), on SQLite and
PostgreSQL: saved and updated by webhook, suspended, repositories added and removed, turned off
per repository, and the gate a pull request passes (or the reason it does not)."""

from __future__ import annotations

from sqlalchemy import Engine

from hunkwise.store import github_installations as store

BIG_ID = 2**40 + 7  # installation ids outgrow 32 bits: the column is a BIGINT


def save(engine: Engine, installation_id: int = BIG_ID, **kw: object) -> store.InstallationView:
    fields: dict[str, object] = {
        "org": "acme",
        "account_login": "Acme",
        "account_type": "Organization",
        "repository_selection": "selected",
        "repositories": ["Acme/API", "acme/web"],
    }
    fields.update(kw)
    return store.save_installation(engine, installation_id, **fields)  # type: ignore[arg-type]


def test_save_update_and_list(engine: Engine) -> None:
    view = save(engine, suspended=False)
    assert view.id == BIG_ID and view.org == "acme" and view.suspended is False
    assert [(r.full_name, r.enabled) for r in view.repositories] == [("acme/api", True), ("acme/web", True)]
    # new_permissions_accepted: the selection changes, suspension kept, known repositories kept
    store.set_suspended(engine, BIG_ID, True)
    again = save(engine, repository_selection="all", repositories=["ACME/api", "acme/docs"], suspended=None)
    assert again.suspended is True and again.repository_selection == "all"
    assert [r.full_name for r in again.repositories] == ["acme/api", "acme/docs", "acme/web"]
    assert [i.id for i in store.installations_of(engine, "acme")] == [BIG_ID]
    assert store.installations_of(engine, "other") == []


def test_repositories_change_and_turn_off(engine: Engine) -> None:
    save(engine)
    assert store.change_repositories(engine, BIG_ID, added=["acme/docs"], removed=["ACME/WEB"]) is True
    assert store.change_repositories(engine, 999, added=["acme/x"]) is False  # unknown: untouched
    names = [r.full_name for r in store.get_installation(engine, BIG_ID).repositories]  # type: ignore[union-attr]
    assert names == ["acme/api", "acme/docs"]
    assert store.set_repository_enabled(engine, "acme", "Acme/Api", False) == store.RepositoryView(
        "acme/api", False
    )
    assert store.set_repository_enabled(engine, "other", "acme/api", True) is None  # another org's
    assert store.set_repository_enabled(engine, "acme", "acme/nope", True) is None


def test_review_gate_reasons(engine: Engine) -> None:
    assert "not known" in (store.review_gate(engine, BIG_ID, "Acme", "Acme/api") or "")
    save(engine)
    assert store.review_gate(engine, BIG_ID, "Acme", "Acme/API") is None
    assert "not the installation's account" in (store.review_gate(engine, BIG_ID, "evil", "evil/api") or "")
    store.set_repository_enabled(engine, "acme", "acme/api", False)
    assert "turned off" in (store.review_gate(engine, BIG_ID, "acme", "acme/api") or "")
    # a repository the installation had not listed (new on an "all" installation): added, enabled
    assert store.review_gate(engine, BIG_ID, "acme", "acme/new") is None
    assert "acme/new" in [r.full_name for r in store.get_installation(engine, BIG_ID).repositories]  # type: ignore[union-attr]
    store.set_suspended(engine, BIG_ID, True)
    assert "suspended" in (store.review_gate(engine, BIG_ID, "acme", "acme/web") or "")
    assert store.installation_for_org(engine, "acme") is None  # a suspended one is not used


def test_installation_for_org_and_delete(engine: Engine) -> None:
    save(engine)
    assert store.installation_for_org(engine, "acme") == BIG_ID
    assert store.delete_installation(engine, BIG_ID) is True
    assert store.delete_installation(engine, BIG_ID) is False
    assert (
        store.get_installation(engine, BIG_ID) is None and store.installation_for_org(engine, "acme") is None
    )
