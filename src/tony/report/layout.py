"""The page shell: head, navigation and footer around a page's body."""

from __future__ import annotations

from dataclasses import dataclass

from tony.report.html import text
from tony.report.pages import Page, root_of

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "base-uri 'none'; form-action 'none'"
)
"""Only the site's own script and style run: an inline script that slipped through escaping would not."""


@dataclass(frozen=True)
class NavEntry:
    path: str
    title: str


def render(page: Page, nav: list[NavEntry], footer: str) -> str:
    """The whole HTML document of `page`, its links relative to where it lies."""
    root = root_of(page.path)
    links = [f'<a href="{root}index.html">Results</a>']
    for entry in nav:
        current = ' aria-current="page"' if entry.path == page.path else ""
        links.append(f'<a href="{root}{text(entry.path)}"{current}>{text(entry.title)}</a>')
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{text(page.title)} - tony</title>"
        f'<link rel="stylesheet" href="{root}static/site.css">'
        f'<script src="{root}static/site.js" defer></script></head>'
        f'<body><nav class="top">{"".join(links)}</nav><main>{page.body}</main>'
        f'<footer>{text(footer)}</footer></body></html>\n'
    )
