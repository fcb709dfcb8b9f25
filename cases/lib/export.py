"""CSV downloads of the registers and statistics tables.

Cells that a spreadsheet would take for a formula (starting ``=``, ``+``,
``-``, ``@``, tab or carriage return) are prefixed with ``'`` (OWASP "CSV
injection"): case references are typed by people and opened by others.
"""

import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.http import HttpResponse

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """A value as CSV text: dates in ISO 8601, booleans as ``yes``/``no``, empty for none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_text(columns: Sequence[tuple[str, Any]], rows: Iterable[Mapping[str, Any]]) -> str:
    """A header of column labels, then one line per row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(label) for _, label in columns])
    for row in rows:
        writer.writerow([cell(row.get(key)) for key, _ in columns])
    return out.getvalue()


def csv_response(filename: str, columns: Sequence[tuple[str, Any]], rows: Iterable[Mapping[str, Any]]) -> HttpResponse:
    """A CSV download (UTF-8 with a byte-order mark, which spreadsheet programs need to read accents)."""
    response = HttpResponse("\ufeff" + csv_text(columns, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
