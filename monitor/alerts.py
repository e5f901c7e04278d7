"""Tell people when a run files new story items: a webhook and any Apprise URL.

One notification per run, not per item: a poll that files twelve articles
should ring once. Alerts are a side effect of a run that already succeeded, so
nothing here raises: each destination is tried on its own, a failure is logged
and returned as a failed :class:`DeliveryResult`, and the run goes on.

Destination URLs often carry secrets (bot tokens, passwords), so logs and
results name a destination by scheme and host only.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from monitor.config import AlertSettings
from monitor.markup import http_href, md_link, md_text
from monitor.records import Outcome, Status

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What happened at one destination; ``detail`` says why when it failed."""

    destination: str  # redacted: scheme://host[:port]
    kind: str  # webhook | apprise
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class AlertMessage:
    title: str
    body: str
    items: tuple[Outcome, ...]


def redact(url: str) -> str:
    """``scheme://host[:port]`` only: paths and credentials may hold tokens."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}" if parts.scheme else "(invalid url)"


def alertable(items: Sequence[Outcome]) -> tuple[Outcome, ...]:
    """New on-story items only: filed for real (not a dry run)."""
    return tuple(o for o in items if o.status is Status.FILED and not o.dry_run)


def build_message(items: Sequence[Outcome], *, run_name: str) -> AlertMessage:
    n = len(items)
    title = f"newsmon: {n} new on-story item{'s' if n != 1 else ''} ({run_name})"
    lines = []
    for o in items:
        score = f" [{o.score:.2f}]" if o.score is not None else ""
        title_line = " ".join(f"{o.title or o.url} ({o.site or '?'}){score}".split())
        lines.append(f"• {title_line}\n  {' '.join(o.url.split())}")
    return AlertMessage(title=title, body="\n".join(lines), items=tuple(items))


def render_body(message: AlertMessage, fmt: str) -> str:
    """The body in the destination's own format (``text``, ``markdown`` or ``html``).

    Titles come from other people's pages: in Markdown and HTML they are
    escaped so a title cannot add a link, an image or a mention, and only
    http(s) URLs become links. Apprise is then told the body is already in
    the destination's format, so it converts nothing.
    """
    if fmt not in ("markdown", "html"):
        return message.body
    lines = []
    for o in message.items:
        score = f" [{o.score:.2f}]" if o.score is not None else ""
        label = o.title or o.url
        href = http_href(o.url)
        if fmt == "markdown":
            lines.append(f"- {md_link(label, o.url)} ({md_text(o.site or '?')}){md_text(score)}")
        else:
            text = html.escape(" ".join(label.split()))
            linked = f'<a href="{html.escape(href)}">{text}</a>' if href else text
            lines.append(f"<li>{linked} ({html.escape(o.site or '?')}){html.escape(score)}</li>")
    if fmt == "html":
        return "<ul>" + "".join(lines) + "</ul>"
    return "\n".join(lines)


def webhook_payload(message: AlertMessage, *, run_name: str) -> dict[str, Any]:
    """The JSON body: ``text`` for chat hooks that show one string, ``items`` for code."""
    return {
        "run": run_name,
        "title": message.title,
        "text": f"{message.title}\n{message.body}",
        "count": len(message.items),
        "items": [
            {
                "title": o.title,
                "site": o.site,
                "url": o.url,
                "canonical_url": o.canonical_url,
                "language": o.language,
                "score": o.score,
            }
            for o in message.items
        ],
    }


def send_webhook(
    url: str, payload: dict[str, Any], *, timeout_s: float, transport: httpx.BaseTransport | None
) -> DeliveryResult:
    where = redact(url)
    try:
        with httpx.Client(timeout=timeout_s, transport=transport) as client:
            response = client.post(url, json=payload)
            response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        detail = f"HTTP {exc.response.status_code}"
    except (httpx.HTTPError, ValueError) as exc:  # ValueError: malformed URL
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0]
    else:
        return DeliveryResult(where, "webhook", True)
    log.warning("alert webhook %s failed: %s", where, detail)
    return DeliveryResult(where, "webhook", False, detail)


def send_apprise(url: str, message: AlertMessage, *, timeout_s: float) -> DeliveryResult:
    """One Apprise URL; Apprise reports failure as False and logs details itself."""
    import apprise

    where = redact(url)
    try:
        asset = apprise.AppriseAsset(async_mode=False)
        notifier = apprise.Apprise(asset=asset)
        if not notifier.add(url):
            detail = "not a valid Apprise URL"
        else:
            fmt = "text"
            for server in notifier:
                # Apprise plugins take socket timeouts as attributes.
                server.socket_connect_timeout = timeout_s
                server.socket_read_timeout = timeout_s
                fmt = str(getattr(server.notify_format, "value", server.notify_format))
            sent = notifier.notify(
                title=message.title, body=render_body(message, fmt), body_format=fmt
            )
            detail = "" if sent else "delivery failed"
    except Exception as exc:  # a plugin bug must not fail the run
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0]
    if not detail:
        return DeliveryResult(where, "apprise", True)
    log.warning("alert apprise %s failed: %s", where, detail)
    return DeliveryResult(where, "apprise", False, detail)


def notify(
    settings: AlertSettings,
    items: Sequence[Outcome],
    *,
    run_name: str,
    transport: httpx.BaseTransport | None = None,
) -> list[DeliveryResult]:
    """Send one notification for this run's new on-story items to every destination.

    Returns nothing when alerts are off or nothing new was filed. Never raises.
    ``transport`` lets tests route the webhook through :class:`httpx.MockTransport`.
    """
    if not settings.enabled:
        return []
    new = alertable(items)
    if not new:
        return []
    message = build_message(new, run_name=run_name)
    results: list[DeliveryResult] = []
    if settings.webhook_url:
        payload = webhook_payload(message, run_name=run_name)
        results.append(
            send_webhook(
                settings.webhook_url, payload, timeout_s=settings.timeout_s, transport=transport
            )
        )
    for url in settings.apprise_urls:
        results.append(send_apprise(url, message, timeout_s=settings.timeout_s))
    if results:
        ok = sum(r.ok for r in results)
        log.info(
            "alert for %s: %d item(s), %d/%d destination(s) ok",
            run_name,
            len(new),
            ok,
            len(results),
        )
    return results
