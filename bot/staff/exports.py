"""CSV for staff to open in a spreadsheet: a cell that a spreadsheet would run as a formula is kept as text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from fastapi.responses import Response

__all__ = ["csv_response", "spreadsheet_safe"]

# Excel and LibreOffice run a cell starting with any of these as a formula (OWASP's "CSV injection"):
# an actor, a reference or a detail typed by someone could otherwise carry one into an admin's spreadsheet.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_safe(value: object) -> str:
    """The value as text, with a leading apostrophe (which spreadsheets take as 'this is text') if needed."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_response(header: Sequence[str], rows: Iterable[Sequence[object]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
