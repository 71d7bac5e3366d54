"""MkDocs hook: the options reference is generated from attnart's own argparse parsers at
build time, so the documentation cannot drift from the commands."""

from __future__ import annotations

import re

MARKER = "<!-- attnart: reference -->"


def reference() -> str:
    from generator.cli import _parser

    parser = _parser()
    parts = [f"```text\n{parser.format_help()}```\n"]
    for name, command in parser.commands.items():
        parts.append(f"## attnart {name}\n\n```text\n{command.format_help()}```\n")
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    if MARKER not in markdown:
        return markdown
    # argparse wraps to the terminal's width: a fixed one keeps the page the same everywhere
    return markdown.replace(MARKER, re.sub(r"[ \t]+\n", "\n", reference()))


def on_startup(command, dirty, **kwargs) -> None:
    import os

    os.environ["COLUMNS"] = "100"
