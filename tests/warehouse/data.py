"""The warehouse the tests export from: customers, segments as views, and a table of (customer, segment).

The rows are Python data; the tests compute what Autopilot should hold from them (the view conditions
are written a second time, in Python), independently of the tap and the target.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Customer:  # the columns of `customers`, in order
    customer_id: int
    email: str | None
    first_name: str
    last_name: str
    company: str | None
    loyalty_tier: str | None
    orders: int | None
    lifetime_value: Decimal | None
    newsletter: bool | None
    signup_date: date | None
    last_order_at: datetime | None
    updated_at: datetime | None = None  # None: set from customer_id (an hour apart, in November 2026)


UTC = timezone.utc
# fmt: off
CUSTOMERS = [
    Customer(1, "ada@example.com", "Ada", "Lovelace", "Analytical Engines", "Gold", 42, Decimal("2500.50"),
             True, date(2025, 3, 14), datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),
    Customer(2, " Zoe.Muller@Example.org ", "Zoë", "Müller", None, "Argent ✨", 7, Decimal("1200.00"), False,
             date(2026, 7, 1), datetime(2025, 12, 24, 18, 0, tzinfo=UTC)),
    Customer(3, "wang.fang@example.net", "王", "芳", "北京数据", None, None, Decimal("15.25"), None,
             date(2026, 9, 9), None),
    Customer(4, "jose@example.com", "José", "Ñúñez", "Café Olé", "Bronze", 1, None, True,
             None, datetime(2025, 1, 5, 23, 59, 59, tzinfo=UTC)),
    Customer(5, "not-an-address", "Bad", "Email", None, "Gold", 99, Decimal("5000"), True,
             date(2026, 8, 1), datetime(2026, 10, 1, tzinfo=UTC)),
    Customer(6, None, "No", "Email", None, None, 3, Decimal("1000"), False,
             date(2026, 6, 2), None),
    Customer(7, "grace@example.com", "Grace", "Hopper", "Navy", "Platinum", 120, Decimal("98765.43"), True,
             date(2020, 2, 29), datetime(2024, 6, 30, 12, 0, tzinfo=UTC)),
]
# fmt: on
# The views of schema `segments`, by stream name (as the tap names them: <schema>-<view>), with their
# condition in SQL and in Python.
VIEWS = {
    "high_value_customers": (
        "lifetime_value >= 1000",
        lambda c: c.lifetime_value is not None and c.lifetime_value >= 1000,
    ),
    "churn_risk": (
        "last_order_at < '2026-01-01'",
        lambda c: c.last_order_at is not None and c.last_order_at < datetime(2026, 1, 1, tzinfo=UTC),
    ),
    "new_signups": (
        "signup_date >= '2026-06-01'",
        lambda c: c.signup_date is not None and c.signup_date >= date(2026, 6, 1),
    ),
}
# One table, one row per (customer, segment): the `segment_property` configuration.
CUSTOMER_SEGMENTS = [(1, "VIP"), (1, "Newsletter"), (2, "Newsletter"), (3, "VIP"), (7, "Newsletter")]
# Target settings that name the lists of the views and map every typed column.
SEGMENT_TITLES = {
    "high_value_customers": "High value customers",
    "churn_risk": "Churn risk",
    "new_signups": "New sign-ups",
}
FIELD_MAPPING = {
    "Email": "email",
    "FirstName": "first_name",
    "LastName": "last_name",
    "Company": "company",
    "Loyalty Tier": "loyalty_tier",
    "Orders": "orders",
    "Lifetime Value": "lifetime_value",
    "Newsletter": "newsletter",
    "Signup Date": "signup_date",
    "Last Order At": "last_order_at",
}
COLUMNS = """
    customer_id integer PRIMARY KEY,
    email text,
    first_name text NOT NULL,
    last_name text NOT NULL,
    company text,
    loyalty_tier text,
    orders integer,
    lifetime_value numeric(12, 2),
    newsletter boolean,
    signup_date date,
    last_order_at timestamp with time zone,
    updated_at timestamp with time zone NOT NULL
"""


def literal(value: Any) -> str:
    """A value as an SQL literal (test data only: no user input ever reaches this)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, Decimal)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def updated_at(customer: Customer) -> datetime:
    return customer.updated_at or datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=customer.customer_id)


def insert_customers(customers: list[Customer]) -> str:
    values = [(*astuple(c)[:-1], updated_at(c)) for c in customers]
    rows = ",\n".join("(" + ", ".join(literal(v) for v in row) + ")" for row in values)
    names = ", ".join(Customer.__dataclass_fields__)
    return f"INSERT INTO customers ({names}) VALUES\n{rows};\n"


def reset_customers_sql() -> str:
    """Back to CUSTOMERS, after a test changed the table (the views follow)."""
    return "TRUNCATE customers;\n" + insert_customers(CUSTOMERS)


def setup_sql() -> str:
    """The whole warehouse: tables, rows, views."""
    views = "".join(
        f"CREATE VIEW segments.{name} AS SELECT * FROM public.customers WHERE {condition};\n"
        for name, (condition, _) in VIEWS.items()
    )
    pairs = ", ".join(f"({cid}, {literal(segment)})" for cid, segment in CUSTOMER_SEGMENTS)
    return (
        f"CREATE TABLE customers ({COLUMNS});\n"
        + insert_customers(CUSTOMERS)
        + "CREATE SCHEMA segments;\n"
        + views
        + "CREATE TABLE customer_segments AS SELECT c.*, s.segment FROM customers c "
        + f"JOIN (VALUES {pairs}) AS s(customer_id, segment) USING (customer_id);\n"
        + "ALTER TABLE customer_segments ADD PRIMARY KEY (customer_id, segment);\n"
    )


def address(customer: Customer) -> str | None:
    """The email Autopilot should hold for the customer, or None when the row must be rejected."""
    email = (customer.email or "").strip().lower()
    return email if email.count("@") == 1 and "." in email.partition("@")[2] else None


def members(customers: list[Customer]) -> list[str]:
    return sorted(email for c in customers if (email := address(c)))


def expected_views_lists(customers: list[Customer] = CUSTOMERS) -> dict[str, list[str]]:
    return {
        SEGMENT_TITLES[name]: members([c for c in customers if test(c)]) for name, (_, test) in VIEWS.items()
    }
