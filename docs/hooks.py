"""MkDocs hooks: the CLI reference is written from the parser itself, and the wall-time
table from ``experiments/wall_times.csv``, so neither can rot.

A page containing ``<!-- cli:help -->`` gets, in its place, ``affectlab --help`` and the
help of every subcommand, as printed by :func:`experiments.cli.build_parser`; one
containing ``<!-- wall-times -->`` gets :func:`experiments.estimate.wall_time_markdown`.
"""

from __future__ import annotations

import argparse

MARK = "<!-- cli:help -->"
TIMES = "<!-- wall-times -->"


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
    """Replace the CLI marker with the parser's help, the wall-times marker with the table."""
    if MARK in markdown:
        markdown = markdown.replace(MARK, cli_reference())
    if TIMES in markdown:
        from experiments.estimate import wall_time_markdown

        markdown = markdown.replace(TIMES, wall_time_markdown())
    return markdown
