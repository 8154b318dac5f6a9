"""The simulated users: names, e-mails, phones, titles, anonymous ids and the identify traits they send.

Names come from each user's country; phone numbers follow the country's numbering plan but are
written the many ways people type them; a few users are promoted during the period, so their
title changes in later identify calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from engagement_pipeline.demo.arrays import DAY_MS, digits_matrix, hex_matrix, iso_matrix
from engagement_pipeline.demo.catalogue import NEVER, USER_AGENT_WEIGHTS, USER_AGENTS
from engagement_pipeline.demo.companies import Accounts, postal_codes
from engagement_pipeline.demo.faults import FaultRates
from engagement_pipeline.demo.geography import CITIES, CITY_COUNT, CITY_START, COUNTRIES, COUNTRY_WEIGHTS, slug
from engagement_pipeline.demo.market import FOUNDER_TITLES, NAME_PREFIXES, NAME_SUFFIXES, PROMOTION, TITLES
from engagement_pipeline.demo.memberships import Memberships


@dataclass
class Users:
    n: int
    ids: pl.Series
    anon_ids: pl.Series  # '' for users that never were anonymous
    identity: pl.Series  # 2n: '"userId":"usr_.."' then '"anonymousId":"anon_.."'
    anon_link: pl.Series  # ',"anonymousId":"anon_.."' ('' when never anonymous)
    anonymous: np.ndarray
    multi_account: np.ndarray  # consultants: always say which account they are working in
    first_day: np.ndarray
    skew_ms: np.ndarray
    context: np.ndarray  # index into the client context table (user agent)
    traits_head: pl.Series  # 2n: camelCase then snake_case, up to the title value
    titles: pl.Series  # 2n: title before, then after a promotion
    promotion_day: np.ndarray
    traits_tail: pl.Series  # 2n: camelCase then snake_case, after the title
    truth: dict[str, list[Any]]


def _phone_numbers(rng: np.random.Generator, country: np.ndarray, city: np.ndarray) -> list[str]:
    """Phones in each country's own numbering plan, written the many ways people write them."""
    n = len(country)
    digit_rows = digits_matrix(rng.integers(0, 10**12, size=n), 12).tobytes().decode()
    mobile = (rng.random(n) < 0.45).tolist()
    pick = rng.integers(0, 8, size=n).tolist()
    style = rng.choice(6, size=n, p=[0.28, 0.15, 0.30, 0.10, 0.07, 0.10]).tolist()
    out = []
    for i in range(n):
        c = COUNTRIES[int(country[i])]
        area = CITIES[int(city[i])][1].area
        digits = digit_rows[12 * i : 12 * i + 12]
        if c.calling == "1" and digits[0] in "01":  # North American exchange codes never start with 0 or 1
            digits = "5" + digits[1:]
        head = c.mobile[pick[i] % len(c.mobile)] if mobile[i] and c.mobile != ("",) else area
        body = digits[: c.nsn_digits - len(head)]
        if mobile[i] and c.code == "BR":  # Brazilian mobiles: area code, then 9 and eight digits
            body = "9" + body
        if c.calling == "1":
            grouped = f"{body[:3]} {body[3:]}"
            national = [
                f"({head}) {body[:3]}-{body[3:]}",
                f"{head}-{body[:3]}-{body[3:]}",
                f"{head}.{body[:3]}.{body[3:]}",
            ]
        elif c.code == "FR":
            grouped = " ".join(body[k : k + 2] for k in range(0, len(body), 2))
            national = [f"0{head} {grouped}", f"0{head}{body}"]
        elif c.code == "BR":
            grouped = f"{body[:-4]}-{body[-4:]}"
            national = [f"({head}) {grouped}", f"0{head} {grouped}"]
        else:
            half = len(body) // 2
            grouped = f"{body[:half]} {body[half:]}"
            national = [f"{c.trunk}{head} {grouped}", f"({c.trunk}{head}) {grouped}"]
        s = style[i]
        if s == 0:
            out.append(f"+{c.calling} {head} {grouped}")
        elif s == 1:
            out.append(f"+{c.calling}{head}{body}")
        elif s == 2:
            out.append(national[pick[i] % len(national)])
        elif s == 3:
            out.append(f"+{c.calling}-{head}-{grouped.replace(' ', '-')}")
        elif s == 4:
            out.append(f"00{c.calling} {head} {grouped}" if c.calling != "1" else f"1-{head}-{body[:3]}-{body[3:]}")
        else:
            out.append(f"+{c.calling} ({c.trunk}){head} {grouped}" if c.trunk else f"+{c.calling} ({head}) {grouped}")
    return out


def build_users(
    rng: np.random.Generator,
    acc: Accounts,
    mem: Memberships,
    primary: np.ndarray,
    start_ms: int,
    days: int,
    faults: FaultRates,
) -> Users:
    n = int(primary.sum())
    home = mem.account[primary]  # primary memberships are users 0..n-1 in order
    first_day = np.full(n, NEVER, dtype=np.int64)
    np.minimum.at(first_day, mem.user, mem.join_day)
    first_sec = np.full(n, 86_400.0)
    on_first = mem.join_day == first_day[mem.user]
    np.minimum.at(first_sec, mem.user[on_first], mem.join_sec[on_first])

    acc_country = acc.country[home]
    abroad = rng.random(n) < 0.15
    country = np.where(abroad, rng.choice(len(COUNTRIES), size=n, p=COUNTRY_WEIGHTS), acc_country)
    same_city = (country == acc_country) & (rng.random(n) < 0.7)
    city = np.where(
        same_city, acc.city[home], CITY_START[country] + (rng.random(n) * CITY_COUNT[country]).astype(np.int64)
    )
    postal = [acc.postal[int(a)] for a in home]
    elsewhere = np.flatnonzero(~same_city)
    for k, code in zip(elsewhere, postal_codes(rng, [CITIES[int(city[i])][1].postal for i in elsewhere])):
        postal[k] = code
    phones = _phone_numbers(rng, country, city)

    first_pick = rng.integers(0, 1 << 30, size=n).tolist()
    last_pick = rng.integers(0, 1 << 30, size=n).tolist()
    prefix = rng.random(n) < 0.03
    suffix = rng.random(n) < 0.03
    prefix_pick = rng.integers(0, len(NAME_PREFIXES), size=n).tolist()
    suffix_pick = rng.integers(0, len(NAME_SUFFIXES), size=n).tolist()
    title_pick = rng.integers(0, 1 << 30, size=n).tolist()
    is_admin = mem.admin[primary]
    is_new_admin = is_admin & (acc.created_day[home] >= 0)
    consultant = np.zeros(n, dtype=bool)
    consultant[mem.user[~primary]] = True
    promoted = rng.random(n) < 0.05
    promotion_day = np.where(promoted, rng.integers(0, days, size=n), NEVER)
    unsubscribed = rng.random(n) < 0.04

    anonymous = (first_day >= 0) & (rng.random(n) < faults.anonymous_share)
    anon_hex = hex_matrix(rng.integers(0, 256, size=(n, 8), dtype=np.uint8))
    anon_ids = ["anon_" + bytes(row).decode() if a else "" for row, a in zip(anon_hex, anonymous)]
    user_ids = [f"usr_{i + 1:06d}" for i in range(n)]
    skewed = rng.random(n) < 0.10
    skew = np.sign(rng.random(n) - 0.5) * np.exp(rng.uniform(math.log(120_000), math.log(5 * 3_600_000), size=n))
    skew_ms = np.where(skewed, skew, 0).astype(np.int64)
    context = rng.choice(len(USER_AGENTS), size=n, p=USER_AGENT_WEIGHTS)

    created_ms = start_ms + first_day * DAY_MS + (first_sec * 1000).astype(np.int64)
    early = first_day < 0  # joined before the period: the time of day is not simulated
    created_ms = np.where(
        early, start_ms + first_day * DAY_MS + rng.integers(8 * 3_600_000, 18 * 3_600_000, size=n), created_ms
    )
    created_iso = [bytes(row).decode() for row in iso_matrix(created_ms)]

    emails: list[str] = []
    taken: dict[str, int] = {}
    heads_camel, heads_snake, tails_camel, tails_snake, titles0, titles1 = [], [], [], [], [], []
    truth: dict[str, list[Any]] = {k: [] for k in ("first_name", "last_name", "email", "title", "country", "phone")}
    for i in range(n):
        c = COUNTRIES[int(country[i])]
        first = c.first_names[first_pick[i] % len(c.first_names)]
        last = c.last_names[last_pick[i] % len(c.last_names)]
        local = f"{slug(first, '')}.{slug(last, '')}"
        domain = acc.domains[int(home[i])]
        key = f"{local}@{domain}"
        taken[key] = taken.get(key, 0) + 1
        email = key if taken[key] == 1 else f"{local}{taken[key]}@{domain}"
        emails.append(email)
        shown_first = f"{NAME_PREFIXES[prefix_pick[i]]} {first}" if prefix[i] else first
        shown_last = f"{last} {NAME_SUFFIXES[suffix_pick[i]]}" if suffix[i] else last
        if consultant[i]:
            title = "Consultant"
        elif is_new_admin[i]:
            title = FOUNDER_TITLES[title_pick[i] % len(FOUNDER_TITLES)]
        else:
            title = TITLES[title_pick[i] % len(TITLES)]
        titles0.append(title)
        titles1.append(PROMOTION.get(title, title))
        _, city_obj = CITIES[int(city[i])]
        address = (
            f'"address":{{"city":"{city_obj.name}","state":"{city_obj.state}","country":"{c.code}",'
            f'"postalCode":"{postal[i]}"}}'
        )
        unsub = ',"unsubscribed":true' if unsubscribed[i] else ""
        heads_camel.append(
            f'"email":"{email}","firstName":"{shown_first}","lastName":"{shown_last}","phone":"{phones[i]}","title":"'
        )
        heads_snake.append(
            f'"email":"{email}","first_name":"{shown_first}","last_name":"{shown_last}","phone":"{phones[i]}","title":"'
        )
        tails_camel.append(f'","createdAt":"{created_iso[i]}",{address}{unsub}}}')
        tails_snake.append(f'","created_at":"{created_iso[i]}",{address}{unsub}}}')
        truth["first_name"].append(first)
        truth["last_name"].append(last)
        truth["email"].append(email)
        truth["title"].append(title)
        truth["country"].append(c.code)
        truth["phone"].append(phones[i])
    return Users(
        n=n,
        ids=pl.Series(user_ids, dtype=pl.String),
        anon_ids=pl.Series(anon_ids, dtype=pl.String),
        identity=pl.Series(
            [f'"userId":"{u}"' for u in user_ids] + [f'"anonymousId":"{a}"' for a in anon_ids], dtype=pl.String
        ),
        anon_link=pl.Series([f',"anonymousId":"{a}"' if a else "" for a in anon_ids], dtype=pl.String),
        anonymous=anonymous,
        multi_account=consultant,
        first_day=first_day,
        skew_ms=skew_ms,
        context=context,
        traits_head=pl.Series(heads_camel + heads_snake, dtype=pl.String),
        titles=pl.Series(titles0 + titles1, dtype=pl.String),
        promotion_day=promotion_day,
        traits_tail=pl.Series(tails_camel + tails_snake, dtype=pl.String),
        truth=truth,
    )
