"""Tables for people, whatever the output: a wide terminal, a narrow one, or a pipe.

- A terminal wide enough: a rich table.
- A terminal too narrow for the table: one block per row, so that source names and URLs
  stay whole on their own line (copy and paste them) and the other fields wrap.
- Piped into a file or a program: tab-separated lines with a header line, neither padded
  to a width nor cut (`--format json` is there for programs that want types).
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from monitor.terminal import for_terminal, shown

if TYPE_CHECKING:  # rich loads only when a table is printed (`check --format json` never)
    from rich.console import Console

# A rich table spends a border and two spaces of padding per column, and one more border.
_PER_COLUMN = 3


@dataclass
class TextTable:
    """Columns and rows of plain text (never rich markup: scraped text is printed as is)."""

    columns: Sequence[str]
    whole: Collection[str] = ()  # columns never wrapped or cut: names and URLs
    rows: list[list[str]] = field(default_factory=list)

    def add(self, *values: str) -> None:
        """One row, a value per column."""
        # Cells are scraped text: no terminal controls, and one line each (a tab would
        # break the piped form's columns).
        cells = [for_terminal(v) for v in values]
        self.rows.append([" ".join(v.split()) if "\n" in v or "\t" in v else v for v in cells])

    def natural_width(self) -> int:
        """Characters the table takes with no cell wrapped."""
        widths = [
            max([len(name), *(len(row[i]) for row in self.rows)])
            for i, name in enumerate(self.columns)
        ]
        return sum(widths) + _PER_COLUMN * len(widths) + 1


def print_table(table: TextTable, console: Console | None = None) -> None:
    """Print a table the way the output calls for (see the module's docstring)."""
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console(highlight=False, soft_wrap=True)
    if not sys.stdout.isatty() and not console.is_terminal:
        click.echo("\t".join(table.columns))
        for row in table.rows:
            click.echo("\t".join(row))
        return
    if table.natural_width() <= console.width:
        rich_table = Table(*table.columns)
        for row in table.rows:
            rich_table.add_row(*(shown(v) for v in row))
        console.print(rich_table)
        return
    _print_blocks(table, console)


def _print_blocks(table: TextTable, console: Console) -> None:
    """One block per row: the whole columns first, each on its own line, then the rest."""
    whole = [i for i, name in enumerate(table.columns) if name in table.whole]
    rest = [i for i in range(len(table.columns)) if i not in whole]
    for number, row in enumerate(table.rows):
        if number:
            console.print()
        for position, i in enumerate(whole):
            # soft_wrap: the terminal folds a long URL, rich never cuts or breaks it
            console.print(shown(row[i]), style="bold" if position == 0 else None, soft_wrap=True)
        for i in rest:
            if row[i]:
                console.print(f"  {shown(table.columns[i])}: {shown(row[i])}", soft_wrap=False)
