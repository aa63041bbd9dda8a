"""Formula neutralisation for every CSV and XLSX export (issue 12; OWASP
"CSV injection"): a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return is written with a leading ``'`` so that spreadsheet
programs show it as text instead of evaluating it. Numbers stay numbers.
Every exporter writes its rows through these helpers."""
from __future__ import annotations

import csv

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """The value to write in a spreadsheet cell: text that could start a formula gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_row(row) -> list:
    return [neutralise(v) for v in row]


class SafeCSVWriter:
    """csv.writer whose rows are neutralised (same writerow/writerows)."""

    def __init__(self, fh, *args, **kwargs):
        self._writer = csv.writer(fh, *args, **kwargs)

    def writerow(self, row):
        return self._writer.writerow(neutralise_row(row))

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def csv_writer(fh, *args, **kwargs) -> SafeCSVWriter:
    return SafeCSVWriter(fh, *args, **kwargs)


def neutralise_workbook(wb) -> None:
    """Neutralise every text cell of an openpyxl Workbook (not write-only) in place, before saving.
    openpyxl stores any text starting with '=' as a formula; after this none is."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
                    cell.value = "'" + value
                    cell.data_type = "s"


def neutralise_dataframe(df):
    """A copy of a (Geo)DataFrame whose text columns are neutralised (CSV exports written by GDAL)."""
    from pandas.api.types import is_string_dtype

    out = df.copy()
    for name in out.columns:
        column = out[name]
        if name != getattr(out, "_geometry_column_name", None) and (column.dtype == object or is_string_dtype(column.dtype)):
            out[name] = out[name].map(neutralise)
    return out
