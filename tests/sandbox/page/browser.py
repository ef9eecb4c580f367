"""Headless Chromium, driven from the command line: a page's DOM after it ran, and screenshots."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
BINARIES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """The browser's path, if one is installed."""
    return next((path for path in map(shutil.which, BINARIES) if path), None)


class Chromium:
    """One browser binary; each call is a fresh headless run with its own profile directory."""

    def __init__(self, binary: str) -> None:
        self.binary = binary

    def _run(self, *args: str) -> str:
        with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
            done = subprocess.run(
                [self.binary, *FLAGS, f"--user-data-dir={profile}", *args],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    def dom(self, url: str) -> Page:
        """The page's DOM as Chromium rendered it."""
        return Page(self._run("--dump-dom", url))

    def screenshot(self, url: str, path: Path) -> None:
        """A PNG of the page at 1280x1000."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._run(f"--screenshot={path}", "--window-size=1280,1000", "--hide-scrollbars", url)


class Page(HTMLParser):
    """What a user sees in a rendered page: its title, links (text → href), and table rows by class."""

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.dom = dom
        self.title = ""
        self.links: list[tuple[str, str]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._href: str | None = None
        self._table = ""
        self._cell: list[str] | None = None
        self._text: list[str] = []
        self._in_h1 = False
        self.feed(dom)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a":
            self._href, self._text = values.get("href") or "", []
        elif tag == "table":
            self._table = values.get("class") or ""
            self.tables.setdefault(self._table, [])
        elif tag == "tr":
            self.tables.setdefault(self._table, []).append([])
        elif tag == "td":
            self._cell = []
        self._in_h1 = self._in_h1 or tag == "h1"

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append(("".join(self._text), self._href))
            self._href = None
        elif tag == "td" and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._in_h1:
            self.title += data

    def link(self, text: str) -> str:
        """The href of the first link showing exactly this text."""
        return next(href for shown, href in self.links if shown == text)

    def rows(self, css: str) -> list[list[str]]:
        """The data rows (header row left out) of the first table with this class."""
        return [row for row in self.tables[css] if row]
