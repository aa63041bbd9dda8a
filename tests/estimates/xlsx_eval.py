"""Evaluate the formulas of an RAB workbook the way a spreadsheet would (the
few functions the exports use: ROUND, ROUNDDOWN, SUM over a column range,
+ − × ÷ and cell references), so a test can check that Excel's results are
the API's numbers without a spreadsheet application."""
from __future__ import annotations

import math
import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CELL = re.compile(r"(?:'?([A-Za-z ]+)'?!)?\$?([A-Z]{1,2})\$?(\d+)")


def _round(x, n, mode=ROUND_HALF_UP):
    q = Decimal(1).scaleb(-int(n))
    return float(Decimal(repr(float(x))).quantize(q, rounding=mode))


class Evaluator:
    def __init__(self, wb):
        self.wb = wb
        self.cache = {}

    def value(self, sheet: str, ref: str):
        key = (sheet, ref)
        if key not in self.cache:
            v = self.wb[sheet][ref].value
            self.cache[key] = self.formula(sheet, v[1:]) if isinstance(v, str) and v.startswith("=") else v
        return self.cache[key]

    def formula(self, sheet: str, text: str):
        def rng(m):
            col, a, b = m.group(1), int(m.group(2)), int(m.group(4))
            return repr(sum(float(self.value(sheet, f"{col}{r}") or 0) for r in range(a, b + 1)))

        expr = re.sub(r"SUM\(([A-Z]{1,2})(\d+):([A-Z]{1,2})(\d+)\)", rng, text)
        expr = expr.replace("ROUNDDOWN(", "_rdown(").replace("ROUND(", "_round(")

        def cell(m):
            return repr(float(self.value(m.group(1) or sheet, f"{m.group(2)}{m.group(3)}") or 0))

        expr = CELL.sub(cell, expr)
        return eval(expr, {"__builtins__": {}}, {"_round": _round, "_rdown": lambda x, n: _round(x, n, ROUND_DOWN), "math": math})
