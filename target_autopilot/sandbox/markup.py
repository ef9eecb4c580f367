"""HTML building blocks of the sandbox's pages: escaping, links, tables, search, paging, layout."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TypeVar
from urllib.parse import quote, urlencode

PAGE_SIZE = 50
T = TypeVar("T")


def esc(value: object) -> str:
    """Text for HTML."""
    return html.escape(str(value))


def link(href: str, text: object) -> str:
    """An <a> to a path of the sandbox."""
    return f'<a href="{esc(href)}">{esc(text)}</a>'


def segment(value: str) -> str:
    """A value as one path segment."""
    return quote(value, safe="")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], empty: str, css: str = "") -> str:
    """A table of cells that are already HTML; `empty` when there are no rows."""
    head = "".join(f"<th>{esc(header)}</th>" for header in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(headers)}">{esc(empty)}</td></tr>'
    return f'<table class="{css}"><tr>{head}</tr>{body}</table>'


def search_form(query: str) -> str:
    """A GET form searching by email."""
    return (
        '<form method="get"><label>Email contains <input name="q" type="search" '
        f'value="{esc(query)}"></label> <button type="submit">Search</button></form>'
    )


def page_of(items: Sequence[T], number: int, query: str) -> tuple[Sequence[T], str]:
    """Page `number` (from 1) of the items, and links to the pages around it."""
    pages = max(1, -(-len(items) // PAGE_SIZE))
    number = min(max(number, 1), pages)
    shown = items[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]

    def to(target: int, text: str) -> str:
        params = {"page": target, **({"q": query} if query else {})}
        return f'<a rel="{text.lower()}" href="?{esc(urlencode(params))}">{text}</a>'

    around = [to(number - 1, "Previous")] if number > 1 else []
    around += [f"page {number} of {pages} ({len(items)} in all)"]
    around += [to(number + 1, "Next")] if number < pages else []
    return shown, f'<p class="pager">{" · ".join(around)}</p>'


def some_of(texts: Sequence[str], shown: int = 20) -> str:
    """How many, then the first `shown` of them: "3: a, b, c"; "0" for none."""
    if not texts:
        return "0"
    more = len(texts) - shown
    return f"{len(texts)}: {esc(', '.join(texts[:shown]))}" + (f" and {more} more" if more > 0 else "")


def layout(title: str, body: str, *, refresh: bool = False) -> str:
    """A whole page."""
    meta = '<meta http-equiv="refresh" content="5">' if refresh else ""
    return (
        f'<!doctype html><html><head><meta charset="utf-8">{meta}<title>{esc(title)}</title>'
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left;vertical-align:top}"
        "nav{margin-bottom:1em}</style></head>"
        '<body><nav><a href="/_sandbox/">Autopilot sandbox</a></nav>'
        f"<h1>{esc(title)}</h1>{body}</body></html>"
    )
