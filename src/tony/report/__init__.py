"""The results site: a static folder (`build_site`) and a local server for it (`SiteServer`).

Domains contribute pages through one interface, a `PageSource` registered as kind "report";
`tony.report.html` and `tony.report.svg` are the escaping helpers and plots they build them with.
"""

from tony.report.pages import Page, PageSource, PageTask
from tony.report.serve import SiteServer
from tony.report.site import DEFAULT_SITE_DIR, BuiltSite, build_site

__all__ = ["DEFAULT_SITE_DIR", "BuiltSite", "Page", "PageSource", "PageTask", "SiteServer", "build_site"]
