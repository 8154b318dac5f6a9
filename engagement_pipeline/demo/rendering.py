"""Segment messages rendered as JSON lines, one column per piece of the line.

`day.simulate_day` decides who does what on a day; the `render_*` functions here turn those events
(tracks, page views, identify and group calls) into Segment JSON lines with polars' string
concatenation: numpy builds the fixed-width parts (ids, timestamps), `_envelope` adds Segment's
timestamps (device clock skew, delivery delay, late events) and each row also carries the day it
is received, so that late events can be routed to a later folder. `in_chunks` renders big days a
slice at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from engagement_pipeline.core.vocab import MessageType
from engagement_pipeline.demo.arrays import DAY_MS, digits_matrix, gather, iso_matrix, uuid4_matrix, with_literals
from engagement_pipeline.demo.catalogue import (
    APP_HOST,
    APP_PAGES,
    EVENT_CODE,
    EVENT_NAMES,
    GROUP,
    IDENTIFY,
    PAGE,
    PLANS,
    SITE_HOST,
    SITE_PAGES,
    STATUSES,
    TRACK,
    USER_AGENTS,
)
from engagement_pipeline.demo.world import World


@dataclass
class _Envelope:
    head: pl.Series  # '{"type":"<type>","messageId":"<uuid>",'
    original: pl.Series  # ',"originalTimestamp":"<iso>"'
    timestamp: pl.Series  # ',"timestamp":"<iso>"' (used on server-side rows only)
    sent_received: pl.Series  # ',"sentAt":"<iso>","receivedAt":"<iso>"}\n'
    recv_ms: np.ndarray
    context: pl.Series  # '"library":..,"userAgent":..}' (closes the context object)


def _envelope(
    world: World,
    rng: np.random.Generator,
    kind: str,
    t_ms: np.ndarray,
    user: np.ndarray,
    server: np.ndarray,
    late: np.ndarray,
) -> _Envelope:
    """Segment's timestamps: originalTimestamp and sentAt carry the device's clock skew, receivedAt is true.

    `user` is the device's owner, also for anonymous calls (same browser, same clock, same user agent).
    """
    n = len(t_ms)
    delay = rng.exponential(1500.0, size=n)
    batched = rng.random(n) < 0.01  # offline tabs flush a queue minutes later
    delay = np.where(batched, rng.uniform(60_000, 600_000, size=n), delay)
    delay = np.where(late, rng.uniform(DAY_MS, 3 * DAY_MS, size=n), delay).astype(np.int64)
    latency = rng.integers(20, 400, size=n)
    skew = np.where(server, 0, world.users.skew_ms[user])
    sent = t_ms + delay
    recv = sent + latency
    ctx_index = np.where(server, len(USER_AGENTS), world.users.context[user])
    return _Envelope(
        head=with_literals(f'{{"type":"{kind}","messageId":"', uuid4_matrix(rng, n), '",'),
        original=with_literals(',"originalTimestamp":"', iso_matrix(t_ms + skew), '"'),
        timestamp=with_literals(',"timestamp":"', iso_matrix(t_ms), '"'),
        sent_received=with_literals(
            ',"sentAt":"', iso_matrix(sent + skew), '","receivedAt":"', iso_matrix(recv), '"}\n'
        ),
        recv_ms=recv,
        context=gather(world.client_contexts, ctx_index),
    )


def _time_pieces() -> list[pl.Expr]:
    return [pl.col("original"), pl.when(pl.col("server")).then(pl.col("timestamp")), pl.col("sent_received")]


def _frame(
    world: World, env: _Envelope, kind: int, late: np.ndarray, columns: dict[str, Any], line: pl.Expr
) -> pl.DataFrame:
    data = pl.DataFrame(
        {
            "head": env.head,
            "original": env.original,
            "timestamp": env.timestamp,
            "sent_received": env.sent_received,
            "context": env.context,
            **columns,
        }
    )
    rd = (env.recv_ms - world.start_ms) // DAY_MS
    return pl.DataFrame(
        {
            "rd": pl.Series(rd, dtype=pl.Int32),
            "recv_ms": pl.Series(env.recv_ms, dtype=pl.Int64),
            "line": data.select(line.alias("line")).to_series(),
            "kind": pl.Series(np.full(len(rd), kind), dtype=pl.UInt8),
            "late": pl.Series(late, dtype=pl.Boolean),
            "dup": pl.Series(np.zeros(len(rd), dtype=bool), dtype=pl.Boolean),
        }
    )


_PROP_CHOICES: dict[str, tuple[str, ...]] = {
    "Logged In": tuple(f'{{"method":"{m}"}}' for m in ("password", "google", "sso", "magic_link")),
    "Dashboard Viewed": tuple(f'{{"dashboard":"{m}"}}' for m in ("Overview", "My work", "Team", "Recent")),
    "Document Edited": tuple(f'","source":"{s}"}}' for s in ("web", "web", "desktop", "mobile")),
    "Document Created": tuple(f'","template":"{s}"}}' for s in ("blank", "meeting-notes", "roadmap", "spec", "retro")),
    "File Uploaded": tuple(f'","file_type":"{s}","size_kb":' for s in ("pdf", "png", "docx", "xlsx", "csv")),
    "Comment Added": tuple(f'","source":"{s}"}}' for s in ("web", "web", "desktop", "mobile")),
    "Document Shared": tuple(f'","share_type":"{s}"}}' for s in ("link", "email", "workspace")),
    "Report Exported": tuple(f'{{"format":"{s}"}}' for s in ("pdf", "csv", "docx")),
    "Teammate Invited": tuple(f'{{"role":"{s}"}}' for s in ("editor", "editor", "viewer", "admin")),
    "Integration Connected": tuple(
        f'{{"integration":"{s}"}}' for s in ("Slack", "Google Drive", "Jira", "GitHub", "Salesforce", "Zoom")
    ),
}
_HAS_DOCUMENT = np.array(
    [
        name in ("Document Edited", "Document Created", "File Uploaded", "Comment Added", "Document Shared")
        for name in EVENT_NAMES
    ]
)
_PROP_OFFSET = np.cumsum([0] + [len(_PROP_CHOICES[name]) for name in EVENT_NAMES])[:-1]
_PROP_COUNT = np.array([len(_PROP_CHOICES[name]) for name in EVENT_NAMES])
# Per (event, choice): what precedes the document id (or the whole properties object), and what follows it.
_EVENT_PRE = pl.Series(
    [
        f',"event":"{name}","properties":' + ('{"document_id":"doc_' if has_doc else choice)
        for name, has_doc in zip(EVENT_NAMES, _HAS_DOCUMENT)
        for choice in _PROP_CHOICES[name]
    ],
    dtype=pl.String,
)
_EVENT_POST = pl.Series(
    [choice if has_doc else "" for name, has_doc in zip(EVENT_NAMES, _HAS_DOCUMENT) for choice in _PROP_CHOICES[name]],
    dtype=pl.String,
)


def render_tracks(
    world: World,
    rng: np.random.Generator,
    t_ms: np.ndarray,
    user: np.ndarray,
    account: np.ndarray,
    code: np.ndarray,
    anon: np.ndarray,
) -> pl.DataFrame:
    n = len(t_ms)
    server = ~anon & (rng.random(n) < 0.05)
    late = ~anon & (rng.random(n) < world.faults.late_share)
    env = _envelope(world, rng, MessageType.TRACK, t_ms, user, server, late)
    has_group = ~anon & ((rng.random(n) < 0.85) | world.users.multi_account[user])
    doc = np.floor(400 * rng.random(n) ** 2).astype(np.int64)  # a few documents get most of the work
    choice = _PROP_OFFSET[code] + rng.integers(0, 1 << 20, size=n) % _PROP_COUNT[code]
    size_kb = rng.integers(12, 40_000, size=n)
    columns = {
        "server": server,
        "has_doc": _HAS_DOCUMENT[code],
        "is_file": code == EVENT_CODE["File Uploaded"],
        "identity": gather(world.users.identity, user + np.where(anon, world.users.n, 0)),
        "pre": gather(_EVENT_PRE, choice),
        "doc": with_literals(digits_matrix(account + 1, 5), "-", digits_matrix(doc, 3)),
        "post": gather(_EVENT_POST, choice),
        "size": pl.Series(size_kb, dtype=pl.Int64).cast(pl.String) + "}",
        "context_open": gather(world.accounts.context_open, np.where(has_group, account, world.accounts.n)),
    }
    line = pl.concat_str(
        [
            pl.col("head"),
            pl.col("identity"),
            pl.col("pre"),
            pl.when(pl.col("has_doc")).then(pl.col("doc")),
            pl.col("post"),
            pl.when(pl.col("is_file")).then(pl.col("size")),
            pl.col("context_open"),
            pl.col("context"),
            *_time_pieces(),
        ],
        ignore_nulls=True,
    )
    return _frame(world, env, TRACK, late, columns, line)


_APP_PAGE_P = np.array([p for _, _, p in APP_PAGES]) / sum(p for _, _, p in APP_PAGES)
_SITE_PAGE_P = np.array([p for _, _, p in SITE_PAGES]) / sum(p for _, _, p in SITE_PAGES)
_PAGE_BODIES = pl.Series(
    [
        f',"name":"{name}","properties":{{"path":"{path}","url":"{APP_HOST}{path}","title":"{name} | Inkwell"}}'
        for name, path, _ in APP_PAGES
    ]
    + [
        f',"name":"{name}","properties":{{"path":"{path}","url":"{SITE_HOST}{path}","title":"{name} | Inkwell"}}'
        for name, path, _ in SITE_PAGES
    ],
    dtype=pl.String,
)


def render_pages(
    world: World, rng: np.random.Generator, t_ms: np.ndarray, user: np.ndarray, account: np.ndarray, anon: np.ndarray
) -> pl.DataFrame:
    """Page views: app pages for users, marketing-site pages for anonymous visitors."""
    n = len(t_ms)
    page = np.where(
        anon,
        len(APP_PAGES) + rng.choice(len(SITE_PAGES), size=n, p=_SITE_PAGE_P),
        rng.choice(len(APP_PAGES), size=n, p=_APP_PAGE_P),
    )
    server = np.zeros(n, dtype=bool)
    env = _envelope(world, rng, MessageType.PAGE, t_ms, user, server, server)
    has_group = ~anon & ((rng.random(n) < 0.85) | world.users.multi_account[user])
    columns = {
        "server": server,
        "identity": gather(world.users.identity, user + np.where(anon, world.users.n, 0)),
        "body": gather(_PAGE_BODIES, page),
        "context_open": gather(world.accounts.context_open, np.where(has_group, account, world.accounts.n)),
    }
    line = pl.concat_str(
        [
            pl.col("head"),
            pl.col("identity"),
            pl.col("body"),
            pl.col("context_open"),
            pl.col("context"),
            *_time_pieces(),
        ],
        ignore_nulls=True,
    )
    return _frame(world, env, PAGE, server, columns, line)


def render_identifies(
    world: World, rng: np.random.Generator, d: int, t_ms: np.ndarray, user: np.ndarray, link_anon: np.ndarray
) -> pl.DataFrame:
    n = len(t_ms)
    server = rng.random(n) < 0.05
    late = np.zeros(n, dtype=bool)
    env = _envelope(world, rng, MessageType.IDENTIFY, t_ms, user, server, late)
    style = user + np.where(rng.random(n) < 0.2, world.users.n, 0)  # snake_case traits in ~20% of calls
    promoted = d >= world.users.promotion_day[user]
    columns = {
        "server": server,
        "link": link_anon,
        "identity": gather(world.users.identity, user),
        "anon_link": gather(world.users.anon_link, user),
        "traits_head": gather(world.users.traits_head, style),
        "title": gather(world.users.titles, user + np.where(promoted, world.users.n, 0)),
        "traits_tail": gather(world.users.traits_tail, style),
    }
    line = pl.concat_str(
        [
            pl.col("head"),
            pl.col("identity"),
            pl.when(pl.col("link")).then(pl.col("anon_link")),
            pl.lit(',"traits":{'),
            pl.col("traits_head"),
            pl.col("title"),
            pl.col("traits_tail"),
            pl.lit(',"context":{'),
            pl.col("context"),
            *_time_pieces(),
        ],
        ignore_nulls=True,
    )
    return _frame(world, env, IDENTIFY, late, columns, line)


def render_groups(
    world: World,
    rng: np.random.Generator,
    t_ms: np.ndarray,
    user: np.ndarray,
    account: np.ndarray,
    plan: np.ndarray,
    status: np.ndarray,
    server: np.ndarray,
) -> pl.DataFrame:
    n = len(t_ms)
    late = np.zeros(n, dtype=bool)
    env = _envelope(world, rng, MessageType.GROUP, t_ms, user, server, late)
    as_number = rng.random(n) < 0.5  # Segment sends employees as a string, other sources as a number
    columns = {
        "server": server,
        "identity": gather(world.users.identity, user),
        "group_head": gather(world.accounts.group_head, account),
        "employees": gather(world.accounts.group_employees, account + np.where(as_number, world.accounts.n, 0)),
        "plan": gather(PLANS, plan[account]),
        "status": gather(STATUSES, status[account]),
        "group_tail": gather(world.accounts.group_tail, account),
    }
    line = pl.concat_str(
        [
            pl.col("head"),
            pl.col("identity"),
            pl.col("group_head"),
            pl.col("employees"),
            pl.lit('"plan":"'),
            pl.col("plan"),
            pl.lit('","status":"'),
            pl.col("status"),
            pl.lit('",'),
            pl.col("group_tail"),
            pl.lit(',"context":{'),
            pl.col("context"),
            *_time_pieces(),
        ],
        ignore_nulls=True,
    )
    return _frame(world, env, GROUP, late, columns, line)


_RENDER_CHUNK = 250_000  # rows rendered at once: bounds the intermediate string columns on big days


def in_chunks(
    render: Callable[..., pl.DataFrame], world: World, rng: np.random.Generator, *columns: np.ndarray
) -> list[pl.DataFrame]:
    n = len(columns[0])
    return [
        render(world, rng, *(c[lo : lo + _RENDER_CHUNK] for c in columns)) for lo in range(0, max(n, 1), _RENDER_CHUNK)
    ]


def render_spec_tracks(
    world: World, rng: np.random.Generator, t_ms: np.ndarray, user: np.ndarray, account: np.ndarray, body: pl.Series
) -> pl.DataFrame:
    """Server-side track calls with their account in `context.groupId`; `body` is each call's
    `,"event":..,"properties":{..}` (the B2B SaaS spec's lifecycle events, `demo/lifecycle.py`)."""
    n = len(t_ms)
    server = np.ones(n, dtype=bool)
    late = np.zeros(n, dtype=bool)
    env = _envelope(world, rng, MessageType.TRACK, t_ms, user, server, late)
    columns = {
        "server": server,
        "identity": gather(world.users.identity, user),
        "body": body,
        "context_open": gather(world.accounts.context_open, account),
    }
    line = pl.concat_str(
        [
            pl.col("head"),
            pl.col("identity"),
            pl.col("body"),
            pl.col("context_open"),
            pl.col("context"),
            *_time_pieces(),
        ],
        ignore_nulls=True,
    )
    return _frame(world, env, TRACK, late, columns, line)
