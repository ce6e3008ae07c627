"""MkDocs hook: the CLI reference is written from the parser itself, so it cannot rot.

A page containing ``<!-- cli:help -->`` gets, in its place, ``affectlab --help`` and the
help of every subcommand, as printed by :func:`experiments.cli.build_parser`.
"""

from __future__ import annotations

import argparse

MARK = "<!-- cli:help -->"


def cli_reference() -> str:
    """Markdown: the help of ``affectlab`` and of each of its subcommands."""
    from experiments.cli import build_parser

    parser = build_parser()
    parts = ["```text", parser.format_help().rstrip(), "```"]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        parts += ["", f"### `affectlab {name}`", "", "```text", p.format_help().rstrip(), "```"]
    return "\n".join(parts)


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Replace the CLI marker with the parser's help."""
    return markdown.replace(MARK, cli_reference()) if MARK in markdown else markdown
