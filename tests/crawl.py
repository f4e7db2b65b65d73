"""Walking the app by its links: every page a person can reach, a couple of each kind."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlsplit

# Links that end a session or download a file rather than show a page.
SKIP = re.compile(r"/auth/logout|/export|\.csv|\.xlsx|\.json|/bank-file|/download|/static/")


def links(html: str) -> set[str]:
    found = set()
    for href in re.findall(r'href="([^"]+)"', html):
        href = unescape(href)
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not href.startswith("/") or SKIP.search(href):
            continue
        found.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def shape(url: str) -> str:
    """/staff/cohorts/3?state=active -> /staff/cohorts/N?state: pages of one kind."""
    path, _sep, query = url.partition("?")
    keys = sorted(part.partition("=")[0] for part in query.split("&") if part)
    return re.sub(r"\d+", "N", path) + "?" + "&".join(keys)


def crawl(client, start: list[str], language: str, limit: int = 80) -> dict[str, str]:
    """Every page reachable by links from `start`, up to two of each kind."""
    seen: dict[str, str] = {}
    shapes: dict[str, int] = {}
    queue = list(start)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen or shapes.get(shape(url), 0) >= 2:
            continue
        shapes[shape(url)] = shapes.get(shape(url), 0) + 1
        response = client.get(url, headers={"Accept-Language": language})
        assert response.status_code in (200, 302, 404), (url, response.status_code)
        if response.status_code != 200 or response.mimetype != "text/html":
            seen[url] = ""
            continue
        seen[url] = response.text
        queue += sorted(links(response.text) - set(seen))
    return seen
