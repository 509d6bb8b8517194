"""Filling a DataTable with columns sized to their content, measured here rather than by the table.

DataTable measures auto-width columns against the console's width at the moment it gets idle; in a real
terminal that can happen before the console knows its size, and the columns then stay as narrow as their
labels ("clip.m"). The tables here are small (a row per source or job), so measuring the plain text of
every cell on each refresh is cheap and always right.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable


def plain_width(cell: str) -> int:
    """Terminal cells taken by ``cell`` once its Rich markup is rendered."""
    return max((cell_len(line) for line in Text.from_markup(cell).plain.splitlines()), default=0)


def fill_table(table: DataTable, columns: Sequence[str], rows: Sequence[Sequence[str]], keys: Sequence[str]) -> None:
    """Replace ``table``'s columns and rows; each column is as wide as its widest cell or its label.

    The cursor stays on the row with the same key when it still exists (else on the same position).
    """
    current = table.cursor_row
    selected = None
    if table.row_count and 0 <= current < table.row_count:
        selected = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    widths = [max([cell_len(label), *(plain_width(row[i]) for row in rows)]) for i, label in enumerate(columns)]
    table.clear(columns=True)
    for label, width in zip(columns, widths, strict=True):
        table.add_column(label, width=width, key=label)
    for row, key in zip(rows, keys, strict=True):
        table.add_row(*row, key=key)
    if rows:
        target = list(keys).index(selected) if selected in keys else min(max(current, 0), len(rows) - 1)
        table.move_cursor(row=target)
