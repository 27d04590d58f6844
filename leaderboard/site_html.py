"""Small HTML pieces shared by the static site's pages: escaped tables, the page shell, number formats.

Every string that came from a store (labels, configs, model text) goes through `html.escape` here or is set with
`textContent` in the browser, so nothing a model wrote can become markup.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any, Iterable

CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1180px;color:#1d2430;
padding:0 16px}h1{font-size:1.4rem;margin-bottom:4px}h2{font-size:1.1rem;margin-top:28px}.sub,.note{color:#5b6575}
.note{font-size:.85rem}table{border-collapse:collapse;font-size:.9rem;margin:8px 0 16px}
th,td{padding:4px 8px;border-bottom:1px solid #e3e7ee;text-align:right;vertical-align:top}th{background:#f4f6fa}
td.l,th.l{text-align:left}code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem}
pre{background:#f6f8fa;padding:10px;overflow-x:auto;white-space:pre-wrap;word-break:break-word}
.ok{color:#1b7f3b}.bad{color:#b3261e}nav a{margin-right:14px}"""


def esc(value: Any) -> str:
    """Text for HTML content or a double-quoted attribute."""
    return html.escape(str(value), quote=True)


def num(v: Any, digits: int = 3) -> str:
    """A number for a table: '-' where unknown, exponents from 1e9, whole numbers from 100, else `digits`
    significant figures."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    x = float(v)
    if abs(x) >= 1e9:
        return f"{x:.3e}"
    if x.is_integer() or abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def interval(acc: float, lo: float, hi: float) -> str:
    return f"{acc:.3f} [{lo:.3f}, {hi:.3f}]"


def table(headers: list[str], rows: Iterable[Iterable[Any]], left: int = 1, raw: bool = False) -> str:
    """A table whose first `left` columns align left; cells escaped unless `raw` (already-built markup)."""
    cls = lambda i: ' class="l"' if i < left else ""  # noqa: E731 - a one-line alignment rule
    head = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{c if raw else esc(c)}</td>" for i, c in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def page(title: str, body: str, script: str = "", data: Any = None) -> str:
    """A whole page: inline CSS, the body, optional inline JSON data (`<script id="data">`) and inline script."""
    blob = "" if data is None else f'<script id="data" type="application/json">{inline_json(data)}</script>\n'
    js = f"<script>\n{script}\n</script>\n" if script else ""
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">\n<title>{esc(title)}</title>\n'
            f"<style>{CSS}</style></head><body>\n{body}\n{blob}{js}</body></html>\n")


def inline_json(data: Any) -> str:
    """JSON that cannot end the script element it sits in (`<` escaped), keys in a fixed order."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False, sort_keys=True, default=str).replace("<", "\\u003c")
