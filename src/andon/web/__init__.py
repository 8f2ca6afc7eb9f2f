"""The web inbox: where owners see the actions Andon asks of them and answer them.

Server-rendered HTML (Jinja2 templates and vendored CSS/JS in this package, nothing from a CDN)
over the same store and the same auth dependency as the JSON API. Good means: an operator at a
1280 px screen sees, for every open intervention, which asset, what to do, by when (in the
site's local time, "now" deadlines highlighted), who owns it and why, and answers it with one
click — Acted, Deferred, or Dismissed with a reason — while every page and every post checks
the caller's permission, and every post its CSRF token.
"""

from andon.web.pages import WebInbox

__all__ = ["WebInbox"]
