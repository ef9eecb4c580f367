"""What the Classic store keeps: a contact and a list."""

from __future__ import annotations

from dataclasses import dataclass

from target_autopilot.sandbox.classic.contacts import FieldValue


@dataclass
class Contact:
    """A stored contact. `fields` holds the standard fields except Email; `custom` maps name → value."""

    contact_id: str
    email: str
    fields: dict[str, str | int | float]
    custom: dict[str, FieldValue]
    unsubscribed: bool
    created_at: str
    updated_at: str

    def copy(self) -> Contact:
        """A copy that can be changed without changing this one."""
        return Contact(
            self.contact_id,
            self.email,
            dict(self.fields),
            dict(self.custom),
            self.unsubscribed,
            self.created_at,
            self.updated_at,
        )


@dataclass(frozen=True)
class ContactList:
    """A stored list."""

    list_id: str
    title: str
