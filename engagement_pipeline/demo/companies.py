"""The simulated accounts: firmographics, trajectory, plan and status over the period, group traits.

A share of the accounts (`BEST_FIT_SHARE`) is best-fit: they sit in one segment (an industry and
an employee band chosen by the seed), and they are the only accounts in it, so that an ICP
analysis can recover the segment; they also grow, convert and stay more often. Each account has
at most one billing transition (conversion, upgrade, downgrade or churn) on `trans_day`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from engagement_pipeline.demo.arrays import DAY_MS, epoch_ms, iso_matrix
from engagement_pipeline.demo.catalogue import (
    BEST_FIT_BONUS,
    BEST_FIT_SHARE,
    CHURNING,
    DECLINING,
    ENTERPRISE,
    ESTABLISHED,
    EVENT_CATALOG,
    EVENT_CODE,
    FREE,
    GROWING,
    NEVER,
    ONBOARDING,
    OPTIONAL_FEATURES,
    PRO,
    ST_ACTIVE,
    ST_CHURNED,
    ST_TRIAL,
    STARTER,
    TRAJECTORIES,
    TRAJECTORY_MIX,
    TRIAL,
    TRIAL_CONV,
    TRIAL_NOT,
)
from engagement_pipeline.demo.geography import CITIES, CITY_COUNT, CITY_START, COUNTRIES, COUNTRY_WEIGHTS, slug
from engagement_pipeline.demo.market import BEST_FIT_CANDIDATES, EMPLOYEE_BANDS, INDUSTRIES, NAME_WORDS


@dataclass
class Accounts:
    n: int
    ids: pl.Series
    names: list[str]
    domains: list[str]
    industry: np.ndarray
    employees: np.ndarray
    country: np.ndarray
    city: np.ndarray
    postal: list[str]
    best_fit: np.ndarray
    kind: np.ndarray
    created_day: np.ndarray
    intensity: np.ndarray
    plan0: np.ndarray
    status0: np.ndarray
    trans_day: np.ndarray  # the one billing transition (conversion, up/downgrade, churn), NEVER if none
    plan1: np.ndarray
    status1: np.ndarray
    activity_end: np.ndarray  # first day without any activity (churn), NEVER if none
    mix_cum: np.ndarray  # (n, events) cumulative event probabilities
    context_open: pl.Series  # n + 1: ',"context":{"groupId":"acc_..",' per account, then ',"context":{'
    group_head: pl.Series  # ',"groupId":"acc_..","traits":{"name":..,"website":..,"industry":..,'
    group_employees: pl.Series  # 2n: employees as a string (first n) or a number (last n)
    group_tail: pl.Series  # '"createdAt":..,"address":{..}}'


def choose_segment(rng: np.random.Generator) -> tuple[str, str]:
    return BEST_FIT_CANDIDATES[int(rng.integers(len(BEST_FIT_CANDIDATES)))]


def _employees(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.exp(rng.normal(math.log(60.0), 1.5, size=n)).clip(2, 20_000).astype(np.int64)


def _band_of(employees: np.ndarray) -> np.ndarray:
    uppers = np.array([hi for _, _, hi in EMPLOYEE_BANDS])
    return np.searchsorted(uppers, employees)


def _company_names(rng: np.random.Generator, industry: np.ndarray) -> list[str]:
    """Unique names like 'Northwind Analytics', coherent with the industry, then 'Northwind Summit Analytics'."""
    names: list[str] = [""] * len(industry)
    words = len(NAME_WORDS)
    for ind, (_, _, suffixes) in enumerate(INDUSTRIES):
        members = np.flatnonzero(industry == ind)
        if len(members) == 0:
            continue
        short = [f"{w} {s}" for w in NAME_WORDS for s in suffixes]
        order = list(rng.permutation(len(short)))
        if len(members) > len(short):
            extra = rng.choice(words * words * len(suffixes), size=len(members) - len(short), replace=False)
            order += [len(short) + int(k) for k in extra]
        for account, k in zip(members, order):
            if k < len(short):
                names[account] = short[k]
            else:
                k -= len(short)
                a, rest = divmod(k, words * len(suffixes))
                b, s = divmod(rest, len(suffixes))
                second = NAME_WORDS[b] if b != a else "Prime"
                names[account] = f"{NAME_WORDS[a]} {second} {suffixes[s]}"
    seen: dict[str, int] = {}
    for i, name in enumerate(names):  # only 'Prime' substitutions can collide
        if name in seen:
            seen[name] += 1
            names[i] = f"{name} {seen[name]}"
        else:
            seen[name] = 1
    return names


def postal_codes(rng: np.random.Generator, patterns: Sequence[str]) -> list[str]:
    """Fill '#' with digits and '@' with letters, one byte matrix per distinct pattern."""
    out = [""] * len(patterns)
    by_pattern: dict[str, list[int]] = {}
    for i, pattern in enumerate(patterns):
        by_pattern.setdefault(pattern, []).append(i)
    for pattern, rows in by_pattern.items():
        template = np.frombuffer(pattern.encode(), dtype=np.uint8)
        matrix = np.tile(template, (len(rows), 1))
        digits = template == ord("#")
        letters = template == ord("@")
        matrix[:, digits] = ord("0") + rng.integers(0, 10, size=(len(rows), int(digits.sum())))
        matrix[:, letters] = np.frombuffer(b"ABDEFGHJLNPQRSTUWXYZ", dtype=np.uint8)[
            rng.integers(0, 20, size=(len(rows), int(letters.sum())))
        ]
        text = matrix.tobytes().decode()
        width = len(template)
        for k, i in enumerate(rows):
            out[i] = text[k * width : (k + 1) * width]
    return out


def build_accounts(rng: np.random.Generator, n: int, days: int, start: dt.date, segment: tuple[str, str]) -> Accounts:
    last = days - 1
    industry_names = [name for name, _, _ in INDUSTRIES]
    seg_industry = industry_names.index(segment[0])
    seg_band = [b for b, _, _ in EMPLOYEE_BANDS].index(segment[1])
    _, band_lo, band_hi = EMPLOYEE_BANDS[seg_band]

    best_fit = rng.random(n) < BEST_FIT_SHARE
    ind_weights = np.array([w for _, w, _ in INDUSTRIES])
    industry = rng.choice(len(INDUSTRIES), size=n, p=ind_weights / ind_weights.sum())
    industry[best_fit] = seg_industry
    employees = _employees(rng, n)
    employees[best_fit] = np.exp(
        rng.uniform(math.log(band_lo), math.log(band_hi + 1), size=int(best_fit.sum()))
    ).astype(np.int64)
    for _ in range(20):  # keep the segment pure: only best-fit accounts sit in it
        clash = ~best_fit & (industry == seg_industry) & (_band_of(employees) == seg_band)
        if not clash.any():
            break
        employees[clash] = _employees(rng, int(clash.sum()))
    clash = ~best_fit & (industry == seg_industry) & (_band_of(employees) == seg_band)
    employees[clash] = np.minimum(employees[clash] * 6, 20_000)

    country = rng.choice(len(COUNTRIES), size=n, p=COUNTRY_WEIGHTS)
    city = CITY_START[country] + (rng.random(n) * CITY_COUNT[country]).astype(np.int64)

    fit_mix = TRAJECTORY_MIX * BEST_FIT_BONUS
    fit_mix /= fit_mix.sum()
    other_mix = (TRAJECTORY_MIX - BEST_FIT_SHARE * fit_mix).clip(0.001)
    other_mix /= other_mix.sum()
    kind = np.where(best_fit, rng.choice(7, size=n, p=fit_mix), rng.choice(7, size=n, p=other_mix))
    if n >= len(TRAJECTORIES):  # small demos still show every trajectory
        for k in range(len(TRAJECTORIES)):
            if not (kind == k).any():
                counts = np.bincount(kind, minlength=7)
                donors = np.flatnonzero(kind == counts.argmax())
                kind[donors[rng.integers(len(donors))]] = k

    established = np.isin(kind, ESTABLISHED)
    created = np.where(
        established,
        -np.exp(rng.uniform(math.log(30), math.log(1500), size=n)).astype(np.int64),
        0,
    )
    window = {TRIAL_CONV: max(1, days - 16), TRIAL_NOT: max(1, days - 10), ONBOARDING: max(1, int(days * 0.75))}
    for k, w in window.items():
        mask = kind == k
        created[mask] = rng.integers(0, w, size=int(mask.sum()))

    big = employees > 1000
    paid_plan = np.where(
        big,
        rng.choice([STARTER, PRO, ENTERPRISE], size=n, p=[0.2, 0.4, 0.4]),
        rng.choice([STARTER, PRO, ENTERPRISE], size=n, p=[0.5, 0.4, 0.1]),
    )
    paid_plan = np.where(best_fit & (paid_plan == STARTER) & (rng.random(n) < 0.5), PRO, paid_plan)
    plan0 = np.where(rng.random(n) < 0.15, FREE, paid_plan)
    status0 = np.full(n, ST_ACTIVE)
    trans = np.full(n, NEVER, dtype=np.int64)
    plan1 = plan0.copy()
    status1 = status0.copy()
    u = rng.random(n)

    # growing: free accounts convert, paid ones upgrade (enterprise only grows seats)
    g = (kind == GROWING) & (plan0 != ENTERPRISE) & ((plan0 == FREE) | (u < 0.6))
    trans[g] = rng.integers(int(days * 0.3), max(int(days * 0.9), int(days * 0.3) + 1), size=int(g.sum()))
    plan1[g] = np.where(plan0[g] == FREE, STARTER, plan0[g] + 1)
    # declining: some downgrade
    dn = (kind == DECLINING) & (plan0 >= PRO) & (u < 0.35)
    trans[dn] = rng.integers(days // 2, max(days, days // 2 + 1), size=int(dn.sum()))
    plan1[dn] = plan0[dn] - 1
    # churning: paying accounts that cancel inside the period
    ch = kind == CHURNING
    plan0[ch] = np.maximum(plan0[ch], STARTER)
    plan1[ch] = plan0[ch]
    lo, hi = max(1, round(days * 0.45)), max(2, round(days * 0.85))
    trans[ch] = rng.integers(lo, max(hi, lo + 1), size=int(ch.sum()))
    status1[ch] = ST_CHURNED
    # trials
    tc = kind == TRIAL_CONV
    plan0[tc] = TRIAL
    status0[tc] = ST_TRIAL
    trans[tc] = created[tc] + rng.integers(7, 15, size=int(tc.sum()))
    plan1[tc] = np.where(best_fit[tc] | (rng.random(int(tc.sum())) < 0.35), PRO, STARTER)
    status1[tc] = ST_ACTIVE
    tn = kind == TRIAL_NOT
    plan0[tn] = TRIAL
    status0[tn] = ST_TRIAL
    trans[tn] = created[tn] + 14
    churns = rng.random(int(tn.sum())) < 0.5
    plan1[tn] = np.where(churns, TRIAL, FREE)
    status1[tn] = np.where(churns, ST_CHURNED, ST_ACTIVE)
    # onboarding: new free or paid accounts
    ob = kind == ONBOARDING
    plan0[ob] = rng.choice([FREE, STARTER, PRO], size=int(ob.sum()), p=[0.45, 0.35, 0.20])
    plan1[ob] = plan0[ob]

    activity_end = np.where((status1 == ST_CHURNED) & (trans <= last), trans, NEVER)
    intensity = np.exp(rng.normal(0.0, 0.35, size=n)) * np.where(best_fit, 1.4, 1.0)

    freq = np.array([f for _, _, f in EVENT_CATALOG])
    mix = np.tile(freq, (n, 1))
    adopted = rng.random((n, len(OPTIONAL_FEATURES))) < np.where(best_fit, 0.92, 0.7)[:, None]
    for j, name in enumerate(OPTIONAL_FEATURES):
        mix[:, EVENT_CODE[name]] *= np.where(adopted[:, j], 1.0, 0.03)
    fizzle = tn & (rng.random(n) < 0.9)  # most failed trials never wire an integration nor share
    mix[fizzle, EVENT_CODE["Integration Connected"]] = 0.0
    mix[fizzle, EVENT_CODE["Teammate Invited"]] = 0.0
    mix[fizzle, EVENT_CODE["Document Shared"]] *= 0.1
    mix_cum = np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1)
    mix_cum[:, -1] = 1.0

    names = _company_names(rng, industry)
    domains = []
    tld_pick = rng.random(n)
    for i, name in enumerate(names):
        c = COUNTRIES[int(country[i])]
        tld = ".io" if industry[i] == 0 and tld_pick[i] < 0.2 else (c.tld if tld_pick[i] < 0.6 else ".com")
        domains.append(slug(name, "-") + tld)
    website_style = rng.integers(0, 4, size=n)
    websites = [(f"https://www.{d}", f"https://{d}", d, f"www.{d}")[int(s)] for d, s in zip(domains, website_style)]
    postal = postal_codes(rng, [CITIES[int(c)][1].postal for c in city])
    start_ms = epoch_ms(start)
    created_ms = start_ms + created * DAY_MS + rng.integers(8 * 3_600_000, 18 * 3_600_000, size=n)
    created_iso = [bytes(row).decode() for row in iso_matrix(created_ms)]
    head, tail = [], []
    for i in range(n):
        _, city_obj = CITIES[int(city[i])]
        head.append(
            f',"groupId":"acc_{i + 1:05d}","traits":{{"name":"{names[i]}","website":"{websites[i]}",'
            f'"industry":"{industry_names[int(industry[i])]}",'
        )
        tail.append(
            f'"createdAt":"{created_iso[i]}","address":{{"city":"{city_obj.name}","state":"{city_obj.state}",'
            f'"country":"{COUNTRIES[int(country[i])].code}","postalCode":"{postal[i]}"}}}}'
        )
    employees_text = [f'"employees":"{e}",' for e in employees.tolist()] + [
        f'"employees":{e},' for e in employees.tolist()
    ]
    return Accounts(
        n=n,
        ids=pl.Series([f"acc_{i + 1:05d}" for i in range(n)], dtype=pl.String),
        names=names,
        domains=domains,
        industry=industry,
        employees=employees,
        country=country,
        city=city,
        postal=postal,
        best_fit=best_fit,
        kind=kind,
        created_day=created,
        intensity=intensity,
        plan0=plan0,
        status0=status0,
        trans_day=trans,
        plan1=plan1,
        status1=status1,
        activity_end=activity_end,
        mix_cum=mix_cum,
        context_open=pl.Series(
            [f',"context":{{"groupId":"acc_{i + 1:05d}",' for i in range(n)] + [',"context":{'], dtype=pl.String
        ),
        group_head=pl.Series(head, dtype=pl.String),
        group_employees=pl.Series(employees_text, dtype=pl.String),
        group_tail=pl.Series(tail, dtype=pl.String),
    )
