"""Escaping and the few HTML pieces every domain's pages use.

Every string from a model, a dataset or a user goes through `text` (element content and attribute
values alike) or `json_script` (JSON inside a <script> element) before it reaches a page.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any


def text(value: object) -> str:
    """`value` as HTML text, safe in element content and in quoted attribute values.

    A carriage return becomes a character reference, which the HTML parser keeps (a literal one it
    would turn into a newline), so a prompt reads back exactly as it was sent.
    """
    # Chained replace: several times faster than str.translate on the long prompts of a drill-down.
    return (str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#x27;").replace("\r", "&#13;"))


def pre(value: str, css: str = "") -> str:
    """`value` in a <pre>, whitespace kept exactly: the newline after <pre> is the one the parser drops,
    so a leading newline of `value` survives."""
    classes = f' class="{text(css)}"' if css else ""
    return f"<pre{classes}>\n{text(value)}</pre>"


def safe_json(data: Any) -> str:
    """`data` as JSON that is safe inside a <script> element: <, > and & are written as \\u003c,
    \\u003e and \\u0026, so no string inside can close the element or open a comment, whatever it
    holds. JSON.parse reads it back unchanged; pieces of it can be joined into larger JSON."""
    encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (encoded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def json_script(element_id: str, safe: str) -> str:
    """JSON made by `safe_json` in a <script type="application/json"> element (data, never run)."""
    return f'<script type="application/json" id="{text(element_id)}">{safe}</script>'


def number(value: float | None) -> str:
    """A stat's value for a table: 3 decimals below 100, 1 above; "n/a" when missing."""
    if value is None or math.isnan(value):
        return "n/a"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"


def interval(low: float | None, high: float | None) -> str:
    """"[low, high]", or "" when the interval is missing."""
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return ""
    return f"[{number(low)}, {number(high)}]"


def sort_key(value: float | None) -> str:
    """The data-v attribute the site's table sorter reads ("" sorts last)."""
    return "" if value is None or math.isnan(value) else repr(float(value))


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, css: str = "sortable") -> str:
    """A table whose headers are plain text and whose cells are HTML (already escaped) <td> elements
    or bare HTML (wrapped in <td>)."""
    head = "".join(f'<th scope="col" data-sort>{text(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f'<table class="{text(css)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def stat_cell(value: float | None, low: float | None, high: float | None, *, n: int | None = None,
              href: str = "", sort_by: float | None = None) -> str:
    """A <td> with a value, its 95% interval beneath and n in its tooltip, sortable by `sort_by`
    (default: the value)."""
    shown = text(number(value))
    if href:
        shown = f'<a href="{text(href)}">{shown}</a>'
    note = f' title="n={n}"' if n is not None else ""
    return (f'<td class="num" data-v="{sort_key(value if sort_by is None else sort_by)}"{note}>{shown}'
            f'<span class="ci">{text(interval(low, high))}</span></td>')


def link(href: str, label: str) -> str:
    return f'<a href="{text(href)}">{text(label)}</a>'
