"""What the terminal shows: the same text as when piped, plus, on a terminal, colour (``NO_COLOR``
respected), lines fitted to its width, and a progress line while something slow runs.

Piped or redirected output is byte for byte the plain text, so CI logs, files and tests never
see an escape code.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.highlighter import RegexHighlighter
from rich.theme import Theme

__all__ = ["emit", "working"]


class _Words(RegexHighlighter):
    """The words a reader looks for first."""

    base_style = "topoform."
    highlights = [  # noqa: RUF012 - rich's own class attribute
        r"(?P<bad>\bMANDATORY\b|\bover budget\b|\binternal error\b)",
        r"(?P<warn>\bADVISORY\b|\bunpriced\b|^note:)",
        r"(?P<good>\bno mandatory violations\b|: valid \(|\bwithin budget\b)",
        r"(?P<where>^\S+\.ya?ml:\d+:)",
    ]


_THEME = Theme({"topoform.bad": "bold red", "topoform.warn": "yellow", "topoform.good": "green", "topoform.where": "cyan"})


def _terminal(stream: TextIO) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"


def emit(text: str, stream: TextIO | None = None, *, tty: bool | None = None, width: int | None = None) -> None:
    """Write ``text``: as it is when ``stream`` is not a terminal; coloured and wrapped to the
    terminal's width when it is (plain, still wrapped, under ``NO_COLOR``)."""
    out = stream or sys.stdout
    if not (tty if tty is not None else _terminal(out)):
        out.write(text)
        return
    console = Console(file=out, force_terminal=True, width=width, highlighter=_Words(), theme=_THEME, no_color="NO_COLOR" in os.environ, markup=False, emoji=False)
    console.print(text, end="")


@contextmanager
def working(message: str, stream: TextIO | None = None) -> Iterator[None]:
    """A progress line on the terminal (stderr) while something slow runs; nothing when piped."""
    err = stream or sys.stderr
    if not _terminal(err):
        yield
        return
    console = Console(file=err, force_terminal=True, no_color="NO_COLOR" in os.environ)
    with console.status(message):
        yield
