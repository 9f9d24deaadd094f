"""Text for CSV cells that a spreadsheet opens: never a formula.

A product named "=HYPERLINK(...)" (shops name their own products, and CSV import or the REST
API take any text) must reach an accountant's spreadsheet as text, not run as a formula
(OWASP "CSV injection"). The .xlsx export writes string cells instead (catalog/order_sheet.py).
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """`value`, with a leading apostrophe when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value
