"""Escaping helpers: text, <pre>, JSON inside <script>, number formatting."""

from __future__ import annotations

import json
import math

from tony.report.html import interval, json_script, number, pre, safe_json, stat_cell, table, text

HOSTILE = '"><img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>\'&'


def test_text_escapes_markup_and_both_quotes():
    escaped = text(HOSTILE)
    assert "<" not in escaped and ">" not in escaped and '"' not in escaped and "'" not in escaped
    assert escaped.count("&amp;") == 1  # the one literal &, not the ones escaping made


def test_text_keeps_a_carriage_return_as_a_reference():
    assert text("a\r\nb") == "a&#13;\nb"


def test_pre_survives_a_leading_newline():
    # The parser drops one newline right after <pre>: pre() writes that one itself.
    assert pre("\nx<y") == "<pre>\n\nx&lt;y</pre>"
    assert pre("z", "prompt").startswith('<pre class="prompt">\n')


def test_safe_json_cannot_close_its_script_and_reads_back_unchanged():
    data = {"completion": "</script><script>window.__pwned=1</script><!-- &", "line": "\u2028"}
    encoded = safe_json(data)
    assert "<" not in encoded and ">" not in encoded and "&" not in encoded and "\u2028" not in encoded
    assert json.loads(encoded) == data
    element = json_script("records", encoded)
    assert element.startswith('<script type="application/json" id="records">')
    assert element.count("</script") == 1


def test_json_script_escapes_its_id():
    assert 'id="a&quot;&gt;"' in json_script('a">', "{}")


def test_numbers_and_intervals():
    assert number(0.12345) == "0.123" and number(1234.56) == "1234.6"
    assert number(None) == "n/a" and number(math.nan) == "n/a"
    assert interval(0.1, 0.2) == "[0.100, 0.200]" and interval(math.nan, 1.0) == ""


def test_stat_cell_sorts_by_value_and_escapes_its_link():
    cell = stat_cell(0.5, 0.4, 0.6, n=12, href='run".html')
    assert 'data-v="0.5"' in cell and 'title="n=12"' in cell and 'href="run&quot;.html"' in cell
    assert 'data-v=""' in stat_cell(math.nan, math.nan, math.nan)


def test_table_escapes_headers_and_keeps_cells():
    html = table(["<b>"], [["<td>x</td>"], ["y"]])
    assert "&lt;b&gt;" in html and "<td>x</td>" in html and "<td>y</td>" in html
