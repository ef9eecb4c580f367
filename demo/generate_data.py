"""Write the demo segments (CSV files) next to this script.

The profiles are made up: common first and last names, fictional companies and addresses at the
reserved example.com / example.org / example.net domains. The output is deterministic (fixed seed),
so re-running this script reproduces the committed files byte for byte.

The data is shaped to exercise the target:
- some people are in more than one segment, a few written with a different letter case or with
  spaces around the address (the target trims and lower-cases emails, so they are one profile);
- a few rows have a missing or malformed email (they end up in the rejected-records file);
- a few cells are empty (company, loyalty tier, orders, lifetime value).

Usage: python demo/generate_data.py
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

SEED = 20240501
HERE = Path(__file__).resolve().parent
HEADER = [
    "Customer ID",
    "Email",
    "First Name",
    "Last Name",
    "Company",
    "Loyalty Tier",
    "Orders",
    "Lifetime Value",
]

FIRST_NAMES = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "Lucas", "Isabella", "Mateo",
    "Mia", "Levi", "Amelia", "Ezra", "Harper", "Leo", "Evelyn", "Hugo", "Chloe", "Omar",
    "Priya", "Kenji", "Fatima", "Mateus", "Ingrid", "Tomasz", "Aisha", "Diego", "Yuki", "Lars",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Johnson", "Garcia", "Miller", "Davis", "Martinez", "Lopez", "Wilson", "Anderson",
    "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark",
    "Lewis", "Walker", "Nakamura", "Kowalski", "Okafor", "Larsen", "Rossi", "Dubois", "Schmidt",
]  # fmt: skip
COMPANIES = [
    "Acme Widgets", "Globex Logistics", "Initech", "Umbrella Analytics", "Hooli Labs",
    "Stark Outdoor", "Wayne Foods", "Vandelay Imports", "Soylent Kitchens", "Pied Piper Media",
]  # fmt: skip
DOMAINS = ["example.com", "example.org", "example.net"]
TIERS = ["bronze", "silver", "gold", "platinum"]

# Rows whose email the target must reject, one or two per segment: (segment, email as written).
BAD_EMAILS = {
    "high_value_customers": ["", "maria.garcia@"],
    "churn_risk": ["not-an-email", "   ", "tom.baker@example"],
    "new_signups": ["ivan petrov@example.com", "jo@@example.org"],
}


@dataclass
class Person:
    customer_id: str
    email: str
    first_name: str
    last_name: str
    company: str
    tier: str
    orders: int
    lifetime_value: float

    def row(self, email: str | None = None) -> list[str]:
        return [
            self.customer_id,
            self.email if email is None else email,
            self.first_name,
            self.last_name,
            self.company,
            self.tier,
            str(self.orders) if self.orders >= 0 else "",
            f"{self.lifetime_value:.2f}" if self.lifetime_value >= 0 else "",
        ]


def make_people(rng: random.Random, count: int) -> list[Person]:
    people: list[Person] = []
    seen: set[str] = set()
    while len(people) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        style = rng.randrange(3)
        local = (
            f"{first}.{last}"
            if style == 0
            else f"{first[0]}{last}"
            if style == 1
            else f"{first}{rng.randrange(10, 99)}"
        ).lower()
        email = f"{local}@{rng.choice(DOMAINS)}"
        if email in seen:
            continue
        seen.add(email)
        orders = rng.randrange(1, 60)
        people.append(
            Person(
                customer_id=f"C{10001 + len(people)}",
                email=email,
                first_name=first,
                last_name=last,
                company=rng.choice(COMPANIES) if rng.random() > 0.08 else "",
                tier=rng.choice(TIERS) if rng.random() > 0.05 else "",
                orders=orders if rng.random() > 0.04 else -1,
                lifetime_value=round(orders * rng.uniform(20, 180), 2) if rng.random() > 0.04 else -1.0,
            )
        )
    return people


def vary_email(rng: random.Random, email: str) -> str:
    """The same address as another system might have written it."""
    local, domain = email.split("@")
    variant = rng.randrange(3)
    if variant == 0:
        return f"{local.title()}@{domain.upper()}"
    if variant == 1:
        return f"  {email} "
    return email.upper()


def write_segment(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)


def main() -> None:
    rng = random.Random(SEED)  # noqa: S311 - fake demo data, not security
    people = make_people(rng, 250)
    high_value = people[:110]
    # 30 high-value customers are also at risk of churning; 10 of the newest sign-ups too.
    churn = people[80:110] + people[110:175]
    signups = people[165:250]
    segments = {
        "high_value_customers": high_value,
        "churn_risk": churn,
        "new_signups": signups,
    }
    shared = {p.customer_id for p in high_value} & {p.customer_id for p in churn} | (
        {p.customer_id for p in churn} & {p.customer_id for p in signups}
    )
    next_id = 90001
    for name, members in segments.items():
        rows = [
            p.row(vary_email(rng, p.email)) if p.customer_id in shared and rng.random() < 0.4 else p.row()
            for p in members
        ]
        if name == "churn_risk":
            # Exported twice by the source system, once in capitals: still one membership.
            rows.append(churn[-1].row(churn[-1].email.upper()))
        for bad in BAD_EMAILS[name]:
            stranger = make_people(rng, 1)[0]
            stranger.customer_id = f"C{next_id}"
            next_id += 1
            rows.insert(rng.randrange(len(rows)), stranger.row(bad))
        write_segment(HERE / f"{name}.csv", rows)


if __name__ == "__main__":
    main()
