"""The store: in-memory data, written through to SQLite with --db, rolled back on an exception."""

from __future__ import annotations

from pathlib import Path

import pytest

from target_autopilot.sandbox import Sandbox
from target_autopilot.sandbox.classic.records import Contact, ContactList
from target_autopilot.sandbox.classic.store import Store, StoreClosedError

from .conftest import Api

ACCOUNT = "acct_test"


def _contact(n: int) -> Contact:
    return Contact(f"person_{n}", f"c{n}@example.com", {"FirstName": "C"}, {"Tier": n}, False, "t", "t")


def _state(store: Store) -> tuple[object, ...]:
    with store.transaction() as tx:
        lists = tx.lists(ACCOUNT)
        return (
            [(c.contact_id, c.email, c.fields, c.custom) for c in tx.all_contacts(ACCOUNT)],
            [(item.list_id, item.title, tx.member_emails(ACCOUNT, item.list_id)) for item in lists],
            tx.custom_fields(ACCOUNT),
            tx.contact_by_email(ACCOUNT, "c1@example.com"),
        )


@pytest.mark.parametrize("persisted", [False, True], ids=["memory", "sqlite"])
def test_a_transaction_that_raises_changes_nothing(tmp_path: Path, persisted: bool) -> None:
    store = Store(str(tmp_path / "s.db") if persisted else None)
    with store.transaction() as tx:
        tx.add_list(ACCOUNT, ContactList("contactlist_1", "One"))
        tx.save_contacts(ACCOUNT, [_contact(1), _contact(2)])
        tx.add_members(ACCOUNT, [("contactlist_1", "person_1"), ("contactlist_1", "person_2")])
        tx.add_custom_fields(ACCOUNT, {"Tier": "integer"})
    before = _state(store)

    def failing_change() -> None:
        with store.transaction() as tx:
            tx.add_list(ACCOUNT, ContactList("contactlist_2", "Two"))
            changed = tx.find_contact(ACCOUNT, "person_1")
            assert changed is not None
            changed.email = "renamed@example.com"
            tx.save_contacts(ACCOUNT, [changed, _contact(3)])
            tx.remove_member(ACCOUNT, "contactlist_1", "person_2")
            tx.add_member(ACCOUNT, "contactlist_2", "person_3")
            tx.delete_contact(ACCOUNT, "person_2")
            tx.add_custom_fields(ACCOUNT, {"Other": "string"})
            tx.clear()
            raise RuntimeError("a bug in a handler")

    with pytest.raises(RuntimeError, match="a bug"):
        failing_change()
    assert _state(store) == before
    store.close()
    if persisted:
        assert _state(Store(str(tmp_path / "s.db"))) == before


def test_every_kind_of_change_survives_a_restart(sandbox_factory, tmp_path: Path) -> None:
    sandbox: Sandbox = sandbox_factory(db=str(tmp_path / "sandbox.db"))
    api = Api(sandbox.base_url, sandbox.api_key)
    first, second = api.new_list("First"), api.new_list("Second")
    contacts = [{"Email": f"c{n}@example.com", "_autopilot_list": first} for n in range(5)]
    assert api.post("/contacts", json={"contacts": contacts}).status_code == 200
    api.upsert(Email="c1@example.com", _NewEmail="renamed@example.com", custom={"string--Tier": "gold"})
    assert api.delete("/contact/c2%40example.com").status_code == 200
    assert api.delete(f"/list/{first}/contact/c3%40example.com").status_code == 200
    assert api.post(f"/list/{first}/contact/c3%40example.com").status_code == 200  # now joins last
    assert api.post(f"/list/{second}/contact/c4%40example.com").status_code == 200
    assert api.post("/contact/c0%40example.com/unsubscribe").status_code == 200
    before = sandbox.dump()
    sandbox.restart()
    assert sandbox.dump() == before
    members = api.get(f"/list/{first}/contacts").json()["contacts"]
    assert [member["Email"] for member in members] == [
        "c0@example.com",
        "renamed@example.com",
        "c4@example.com",
        "c3@example.com",
    ]
    # Ids, order and the email index all came back: an upsert updates, it does not duplicate.
    assert api.upsert(Email="RENAMED@example.com") == members[1]["contact_id"]
    assert api.get("/account").json()["contactCount"] == 4


def test_pages_stay_in_order_when_most_rows_are_gone(tmp_path: Path) -> None:
    store = Store()
    with store.transaction() as tx:
        tx.add_list(ACCOUNT, ContactList("contactlist_1", "One"))
        tx.save_contacts(ACCOUNT, [_contact(n) for n in range(500)])
        tx.add_members(ACCOUNT, [("contactlist_1", f"person_{n}") for n in range(500)])
    for n in range(500):
        if n % 5:  # four in five go, in many transactions: the order indexes compact themselves
            with store.transaction() as tx:
                tx.delete_contact(ACCOUNT, f"person_{n}")
    kept = [f"person_{n}" for n in range(0, 500, 5)]
    with store.transaction() as tx:
        for read in (
            lambda bookmark: tx.contacts_after(ACCOUNT, bookmark, 30),
            lambda bookmark: tx.members_after(ACCOUNT, "contactlist_1", bookmark, 30),
        ):
            seen: list[str] = []
            bookmark = None
            while page := read(bookmark):
                seen += [contact.contact_id for contact in page]
                bookmark = page[-1].contact_id
            assert seen == kept
        assert tx.contacts_after(ACCOUNT, "person_1", 30) is None
        assert tx.count_members(ACCOUNT, "contactlist_1") == len(kept)


def test_a_closed_store_refuses_transactions() -> None:
    store = Store()
    store.close()
    with pytest.raises(StoreClosedError):
        store.transaction().__enter__()
