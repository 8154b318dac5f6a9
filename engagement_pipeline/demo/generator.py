"""Realistic demo, test and benchmark data: Segment messages of a collaborative-documents B2B SaaS.

The world (accounts, users, memberships, billing plans) is simulated up front in small numpy
arrays; events are then generated one UTC day at a time, rendered to JSON lines with polars'
vectorised string kernels (numpy builds the fixed-width parts: ids and timestamps) and written
as gzip files by a background thread while the next day is simulated. Memory is therefore
bounded by roughly two days of events whatever the period length.

Everything downstream may rely on is listed in `generate_demo`'s docstring; the simulated
business itself (trajectories, best-fit segment, checklist) is written to the ground-truth
folder so that tests can check that the pipeline recovers it.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import json
import math
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

__all__ = [
    "ACTIVATION_EVENTS",
    "EVENT_NAMES",
    "EVENT_WEIGHTS",
    "PLANS",
    "STATUSES",
    "TRAJECTORIES",
    "FaultRates",
    "GenerationSummary",
    "generate_demo",
]


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultRates:
    """How dirty the landed data is."""

    duplicate_share: float = 0.01  # share of messages re-sent with the same messageId (same payload), in the same or next day's folder
    late_share: float = 0.02  # share of track events received 1-3 days after they happened (written to a later received-date folder)
    malformed_share: float = 0.002  # share of extra garbage lines
    anonymous_share: float = 0.3  # share of NEW users whose first events are anonymous (anonymousId only) before identify links them


@dataclass(frozen=True)
class GenerationSummary:
    """What `generate_demo` wrote; every count reconciles with the landed lines."""

    days: int
    accounts: int
    users: int
    messages: int  # valid messages written (incl. duplicates)
    track_events: int  # distinct track messages written (duplicate copies not counted)
    duplicates: int
    late: int
    malformed: int
    lines: int  # every line written = messages + malformed
    files: int
    landing: Path
    truth_dir: Path
    billing_dir: Path | None


# --------------------------------------------------------------------------------------
# The product and its catalogues
# --------------------------------------------------------------------------------------

# (event name, suggested scoring weight 1..10, relative frequency in an account's event mix).
# Frequencies fall as weights rise; "Logged In" is also sent at the start of most sessions and
# "Teammate Invited" / the checklist events are additionally injected by the simulation.
_EVENT_CATALOG: tuple[tuple[str, int, float], ...] = (
    ("Logged In", 1, 0.08),
    ("Dashboard Viewed", 1, 0.26),
    ("Document Edited", 2, 0.32),
    ("Document Created", 4, 0.08),
    ("File Uploaded", 3, 0.06),
    ("Comment Added", 3, 0.10),
    ("Document Shared", 5, 0.045),
    ("Report Exported", 5, 0.035),
    ("Teammate Invited", 8, 0.004),
    ("Integration Connected", 10, 0.002),
)
EVENT_NAMES: tuple[str, ...] = tuple(e[0] for e in _EVENT_CATALOG)
EVENT_WEIGHTS: dict[str, int] = {name: weight for name, weight, _ in _EVENT_CATALOG}
_E = {name: i for i, name in enumerate(EVENT_NAMES)}
ACTIVATION_EVENTS: tuple[str, ...] = ("Document Created", "Teammate Invited", "Integration Connected", "Document Shared")
# Features an account may simply never adopt (feature-adoption gaps downstream).
_OPTIONAL_FEATURES = ("File Uploaded", "Comment Added", "Document Shared", "Report Exported", "Integration Connected")

TRAJECTORIES: tuple[str, ...] = (
    "steady",
    "growing",
    "declining",
    "churning",
    "trial_converting",
    "trial_not_converting",
    "onboarding",
)
_STEADY, _GROWING, _DECLINING, _CHURNING, _TRIAL_CONV, _TRIAL_NOT, _ONBOARDING = range(7)
_TRAJECTORY_MIX = np.array([0.30, 0.12, 0.12, 0.08, 0.12, 0.12, 0.14])
# Best-fit accounts grow, convert and stay much more often.
_BEST_FIT_BONUS = np.array([1.0, 2.5, 0.3, 0.2, 2.0, 0.3, 1.0])
_BEST_FIT_SHARE = 0.09
_ESTABLISHED = (_STEADY, _GROWING, _DECLINING, _CHURNING)

PLANS: tuple[str, ...] = ("free", "trial", "starter", "pro", "enterprise")
_FREE, _TRIAL, _STARTER, _PRO, _ENTERPRISE = range(5)
_SEAT_PRICE = np.array([0, 0, 12, 29, 49])  # monthly USD per billed seat
_MIN_SEATS = np.array([0, 0, 1, 3, 20])
STATUSES: tuple[str, ...] = ("trial", "active", "churned")
_ST_TRIAL, _ST_ACTIVE, _ST_CHURNED = range(3)

_INDUSTRIES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("Software", 0.24, ("Labs", "Systems", "Software", "Cloud", "Data", "Technologies", "Analytics", "Digital", "Networks", "Security")),
    ("Financial Services", 0.10, ("Capital", "Finance", "Financial", "Wealth", "Payments", "Ledger", "Investments", "Bancorp")),
    ("Healthcare", 0.10, ("Health", "Medical", "Care", "Bio", "Clinics", "Therapeutics", "Diagnostics", "Pharma")),
    ("Retail", 0.10, ("Retail", "Goods", "Outfitters", "Market", "Supply", "Stores", "Commerce", "Trading")),
    ("Manufacturing", 0.09, ("Manufacturing", "Industries", "Robotics", "Materials", "Fabrication", "Components", "Machinery", "Works")),
    ("Education", 0.08, ("Learning", "Education", "Academy", "Tutoring", "Schools", "Institute", "Classroom")),
    ("Media", 0.08, ("Media", "Studios", "Publishing", "Broadcasting", "Pictures", "Press", "Entertainment")),
    ("Professional Services", 0.13, ("Consulting", "Partners", "Advisors", "Legal", "Associates", "Group", "Accounting")),
    ("Logistics", 0.08, ("Logistics", "Freight", "Shipping", "Transport", "Mobility", "Fleet")),
)
_NAME_WORDS: tuple[str, ...] = (
    "Northwind", "Bluebird", "Acme", "Summit", "Harbor", "Lumen", "Cobalt", "Evergreen", "Ironclad", "Brightside",
    "Redwood", "Silverline", "Granite", "Maple", "Crescent", "Pioneer", "Atlas", "Orbit", "Vertex", "Nimbus",
    "Aurora", "Beacon", "Cascade", "Keystone", "Meridian", "Quantum", "Sterling", "Horizon", "Polaris", "Zenith",
    "Falcon", "Juniper", "Kestrel", "Lighthouse", "Mosaic", "Nova", "Oakridge", "Pinnacle", "Riverbend", "Sable",
    "Tidewater", "Umber", "Vantage", "Willow", "Yellowstone", "Zephyr", "Alder", "Birch", "Cedar", "Driftwood",
    "Ember", "Fjord", "Glacier", "Hawthorn", "Indigo", "Jasper", "Kinetic", "Lattice", "Magnolia", "Northstar",
    "Onyx", "Prairie", "Quarry", "Rampart", "Sequoia", "Tundra", "Upland", "Velvet", "Wavelength", "Xenon",
    "Yarrow", "Zircon", "Clearwater", "Deepwell", "Eastgate", "Fairway", "Goldleaf", "Highland", "Ironwood", "Lakeside",
    "Midtown", "Newport", "Oceanic", "Parkside", "Queensbury", "Rosewood", "Southbank", "Stonebridge", "Westbrook", "Nordlicht",
    "Étoile", "Fjäll", "Sonnenberg", "Alpenglow", "Bellwether", "Copperleaf", "Dovetail", "Bright Harbor", "Peregrine", "Solstice",
)
_EMPLOYEE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("1-10", 1, 10),
    ("11-50", 11, 50),
    ("51-200", 51, 200),
    ("201-1000", 201, 1000),
    ("1001-5000", 1001, 5000),
    ("5001+", 5001, 20000),
)
# One of these becomes the best-fit segment, chosen by the seed.
_BEST_FIT_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("Software", "51-200"),
    ("Software", "11-50"),
    ("Financial Services", "201-1000"),
    ("Professional Services", "51-200"),
    ("Healthcare", "51-200"),
)

_TITLES: tuple[str, ...] = (
    "Software Engineer", "Senior Engineer", "Engineering Manager", "Product Manager", "Designer", "Data Analyst",
    "Analyst", "Marketing Manager", "VP Marketing", "Head of Sales", "Account Executive", "Customer Success Manager",
    "Operations Manager", "HR Manager", "Content Writer", "Project Manager", "Finance Manager", "Office Manager",
)
_FOUNDER_TITLES: tuple[str, ...] = ("CEO", "CTO", "Founder", "COO", "Head of Operations", "VP Engineering")
_PROMOTION = {"Software Engineer": "Senior Engineer", "Senior Engineer": "Engineering Manager", "Analyst": "Data Analyst",
              "Marketing Manager": "VP Marketing", "Account Executive": "Head of Sales", "Designer": "Product Manager"}
_NAME_PREFIXES = ("Dr.", "Mr.", "Ms.", "Mrs.")
_NAME_SUFFIXES = ("Jr.", "Sr.", "III", "PhD", "MD")

_USER_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
)
_USER_AGENT_WEIGHTS = np.array([0.35, 0.30, 0.15, 0.08, 0.08, 0.04])
_CLIENT_LIBRARY = '"library":{"name":"analytics.js","version":"4.1.0"}'
_SERVER_LIBRARY = '"library":{"name":"analytics-python","version":"2.3.2"}'

_APP_HOST = "https://app.inkwell.so"
_SITE_HOST = "https://inkwell.so"
_APP_PAGES: tuple[tuple[str, str, float], ...] = (
    ("Dashboard", "/dashboard", 0.30), ("Documents", "/documents", 0.25), ("Document", "/d/editor", 0.20),
    ("Settings", "/settings", 0.06), ("Templates", "/templates", 0.06), ("Integrations", "/settings/integrations", 0.04),
    ("Billing", "/settings/billing", 0.03), ("Docs", "/docs", 0.04), ("Pricing", "/pricing", 0.02),
)
_SITE_PAGES: tuple[tuple[str, str, float], ...] = (
    ("Home", "/", 0.35), ("Pricing", "/pricing", 0.25), ("Docs", "/docs", 0.15), ("Customers", "/customers", 0.1),
    ("Sign Up", "/signup", 0.15),
)
_WEEKDAY_FACTOR = np.array([1.0, 1.05, 1.05, 1.0, 0.85, 0.22, 0.18])  # Monday first

_DAY_MS = 86_400_000
_NEVER = 1 << 30  # a day index that never comes
_GROWTH = math.log(2.5)  # growing / declining accounts change 2.5x per 30 days (or per half period)
_CHURN_DECAY = math.log(5.0)  # churning accounts fall to a fifth of their level before they cancel
_GZIP_LEVEL = 1  # throughput matters more than the last 10% of size for demo data


@dataclass(frozen=True)
class _City:
    name: str
    state: str
    postal: str  # pattern: '#' a digit, '@' an upper-case letter
    tz: float  # UTC offset in hours (no daylight saving: close enough for a diurnal profile)
    area: str  # landline area code (national significant number prefix)


@dataclass(frozen=True)
class _Country:
    code: str
    weight: float
    calling: str
    trunk: str  # national trunk prefix ('' where none)
    nsn_digits: int  # length of a national significant number
    mobile: tuple[str, ...]  # mobile prefixes; '' means mobiles use the city's area code
    tld: str
    cities: tuple[_City, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]


_COUNTRIES: tuple[_Country, ...] = (
    _Country("US", 0.42, "1", "", 10, ("",), ".com", (
        _City("San Francisco", "CA", "941##", -8, "415"), _City("New York", "NY", "100##", -5, "212"),
        _City("Austin", "TX", "787##", -6, "512"), _City("Chicago", "IL", "606##", -6, "312"),
        _City("Seattle", "WA", "981##", -8, "206"), _City("Boston", "MA", "021##", -5, "617"),
        _City("Denver", "CO", "802##", -7, "303"), _City("Atlanta", "GA", "303##", -5, "404")),
        ("James", "Mary", "Michael", "Jennifer", "David", "Sarah", "Robert", "Emily", "Daniel", "Jessica", "Chris",
         "Ashley", "Kevin", "Megan", "Brian", "Lauren", "José", "María", "Zoë", "Chloé", "Tyler", "Hannah"),
        ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
         "Nguyen", "Kim", "Patel", "O'Brien", "Anderson", "Taylor", "Thomas", "Moore", "Müller", "Peña")),
    _Country("GB", 0.12, "44", "0", 10, ("7",), ".co.uk", (
        _City("London", "England", "EC1A #@@", 0, "20"), _City("Manchester", "England", "M1 #@@", 0, "161"),
        _City("Edinburgh", "Scotland", "EH1 #@@", 0, "131"), _City("Bristol", "England", "BS1 #@@", 0, "117")),
        ("Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Jack", "Emily", "Noah", "Sophie", "Zoë", "Siobhán",
         "Rhys", "Niamh", "Łukasz"),
        ("Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas", "Roberts", "Walker", "Wright", "O'Connor",
         "Hughes", "Wójcik")),
    _Country("DE", 0.08, "49", "0", 10, ("15", "17"), ".de", (
        _City("Berlin", "Berlin", "10###", 1, "30"), _City("München", "Bayern", "80###", 1, "89"),
        _City("Hamburg", "Hamburg", "20###", 1, "40"), _City("Köln", "Nordrhein-Westfalen", "50###", 1, "221")),
        ("Lukas", "Anna", "Jonas", "Lea", "Felix", "Marie", "Jürgen", "Sören", "Jörg", "Katharina", "Max", "Łukasz"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schäfer", "Koch", "Groß",
         "Hoffmann")),
    _Country("FR", 0.06, "33", "0", 9, ("6", "7"), ".fr", (
        _City("Paris", "Île-de-France", "75###", 1, "1"), _City("Lyon", "Auvergne-Rhône-Alpes", "69###", 1, "4"),
        _City("Bordeaux", "Nouvelle-Aquitaine", "33###", 1, "5"), _City("Toulouse", "Occitanie", "31###", 1, "5")),
        ("Léa", "Chloé", "Hugo", "Louis", "Camille", "Élodie", "François", "Amélie", "Théo", "Manon", "Jérôme", "Noémie"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Lefèvre", "Moreau", "Fontaine",
         "Girard", "Rousseau")),
    _Country("CA", 0.06, "1", "", 10, ("",), ".ca", (
        _City("Toronto", "ON", "M5V #@#", -5, "416"), _City("Vancouver", "BC", "V6B #@#", -8, "604"),
        _City("Montréal", "QC", "H2X #@#", -5, "514"), _City("Calgary", "AB", "T2P #@#", -7, "403")),
        ("Liam", "Olivia", "Émile", "Gabrielle", "Noah", "Chloé", "Ethan", "Maëlle", "Owen", "Zoë"),
        ("Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Smith", "Wilson", "MacDonald", "Lee", "Brown")),
    _Country("AU", 0.05, "61", "0", 9, ("4",), ".com.au", (
        _City("Sydney", "NSW", "20##", 10, "2"), _City("Melbourne", "VIC", "30##", 10, "3"),
        _City("Brisbane", "QLD", "40##", 10, "7")),
        ("Jack", "Charlotte", "William", "Olivia", "Lachlan", "Mia", "Cooper", "Matilda", "Zoë", "Liam"),
        ("Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Nguyen", "Kelly", "Ryan", "Murphy")),
    _Country("NL", 0.04, "31", "0", 9, ("6",), ".nl", (
        _City("Amsterdam", "Noord-Holland", "10## @@", 1, "20"), _City("Rotterdam", "Zuid-Holland", "30## @@", 1, "10"),
        _City("Utrecht", "Utrecht", "35## @@", 1, "30")),
        ("Daan", "Emma", "Sem", "Julia", "Lucas", "Tess", "Bram", "Sanne", "Jeroen", "Anouk"),
        ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser", "Smit", "Meijer", "de Boer")),
    _Country("ES", 0.04, "34", "", 9, ("6",), ".es", (
        _City("Madrid", "Madrid", "28###", 1, "91"), _City("Barcelona", "Cataluña", "08###", 1, "93"),
        _City("Valencia", "Comunidad Valenciana", "46###", 1, "96")),
        ("José", "María", "Lucía", "Javier", "Sofía", "Álvaro", "Martín", "Paula", "Íñigo", "Nerea"),
        ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Núñez")),
    _Country("SE", 0.03, "46", "0", 9, ("70",), ".se", (
        _City("Stockholm", "Stockholm", "11# ##", 1, "8"), _City("Göteborg", "Västra Götaland", "41# ##", 1, "31"),
        _City("Malmö", "Skåne", "21# ##", 1, "40")),
        ("Björn", "Åsa", "Erik", "Astrid", "Lars", "Ingrid", "Sören", "Maja", "Oskar", "Elin"),
        ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Söderberg",
         "Ångström")),
    _Country("IN", 0.05, "91", "0", 10, ("9", "8"), ".in", (
        _City("Bengaluru", "Karnataka", "560###", 5.5, "80"), _City("Mumbai", "Maharashtra", "400###", 5.5, "22"),
        _City("Pune", "Maharashtra", "411###", 5.5, "20")),
        ("Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Sneha", "Arjun", "Kavya", "Rahul", "Diya"),
        ("Sharma", "Patel", "Iyer", "Reddy", "Gupta", "Nair", "Singh", "Kumar", "Menon", "Das")),
    _Country("BR", 0.05, "55", "0", 10, ("",), ".com.br", (
        _City("São Paulo", "SP", "01###-###", -3, "11"), _City("Rio de Janeiro", "RJ", "20###-###", -3, "21"),
        _City("Belo Horizonte", "MG", "30###-###", -3, "31")),
        ("João", "Ana", "Lucas", "Beatriz", "Gabriel", "Júlia", "Pedro", "Mariana", "Thiago", "Letícia"),
        ("Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Costa", "Conceição", "Gonçalves", "Araújo")),
)
_CITIES: tuple[tuple[int, _City], ...] = tuple((ci, city) for ci, c in enumerate(_COUNTRIES) for city in c.cities)
_CITY_START = np.cumsum([0] + [len(c.cities) for c in _COUNTRIES])[:-1]
_CITY_COUNT = np.array([len(c.cities) for c in _COUNTRIES])
_CITY_TZ = np.array([city.tz for _, city in _CITIES])
_COUNTRY_WEIGHTS = np.array([c.weight for c in _COUNTRIES]) / sum(c.weight for c in _COUNTRIES)

_FOLD_SPECIAL = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "đ": "d"})


def _ascii_fold(text: str) -> str:
    """'Łukasz Müller-Groß' -> 'Lukasz Muller-Gross' (accents dropped, special letters spelled out)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD_SPECIAL))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=65_536)
def _slug(text: str, sep: str) -> str:
    """Lower-case ASCII letters and digits, other runs of characters replaced by `sep`."""
    out: list[str] = []
    for ch in _ascii_fold(text).lower():
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif sep and out and out[-1] != sep:
            out.append(sep)
    return "".join(out).strip(sep)


# --------------------------------------------------------------------------------------
# Fixed-width strings built in numpy
# --------------------------------------------------------------------------------------

_HEX_TABLE = np.frombuffer("".join(f"{i:02x}" for i in range(256)).encode(), dtype=np.uint8).reshape(256, 2)


def _fixed_width_series(matrix: np.ndarray) -> pl.Series:
    """Wrap an (n, width) matrix of ASCII bytes as a polars String series (no per-row Python)."""
    n, width = matrix.shape
    offsets = np.arange(0, n * width + 1, width, dtype=np.int64)
    array = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix)))
    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series)
    return series


def _hex_matrix(random_bytes: np.ndarray) -> np.ndarray:
    """(n, k) bytes -> (n, 2k) lower-case hex digits."""
    n, k = random_bytes.shape
    return _HEX_TABLE[random_bytes].reshape(n, 2 * k)


def _uuid4_matrix(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random version-4 UUIDs as an (n, 36) byte matrix."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexes = _hex_matrix(raw)
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    out[:, 0:8] = hexes[:, 0:8]
    out[:, 9:13] = hexes[:, 8:12]
    out[:, 14:18] = hexes[:, 12:16]
    out[:, 19:23] = hexes[:, 16:20]
    out[:, 24:36] = hexes[:, 20:32]
    return out


def _iso_matrix(epoch_ms: np.ndarray) -> np.ndarray:
    """Epoch milliseconds -> (n, 24) bytes 'YYYY-MM-DDTHH:MM:SS.mmmZ' (UTC)."""
    epoch_ms = np.asarray(epoch_ms, dtype=np.int64)
    n = len(epoch_ms)
    out = np.empty((n, 24), dtype=np.uint8)
    if n == 0:
        return out
    days = epoch_ms // _DAY_MS
    rest = epoch_ms - days * _DAY_MS
    first, last = int(days.min()), int(days.max())
    epoch = dt.date(1970, 1, 1)
    prefixes = "".join((epoch + dt.timedelta(days=k)).isoformat() + "T" for k in range(first, last + 1))
    table = np.frombuffer(prefixes.encode(), dtype=np.uint8).reshape(last - first + 1, 11)
    out[:, :11] = table[days - first]
    zero = ord("0")
    for pos, value in ((11, rest // 3_600_000), (14, rest // 60_000 % 60), (17, rest // 1000 % 60)):
        out[:, pos] = zero + value // 10
        out[:, pos + 1] = zero + value % 10
    millis = rest % 1000
    out[:, 13] = out[:, 16] = ord(":")
    out[:, 19] = ord(".")
    out[:, 20] = zero + millis // 100
    out[:, 21] = zero + millis // 10 % 10
    out[:, 22] = zero + millis % 10
    out[:, 23] = ord("Z")
    return out


def _digits_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers -> (n, width) zero-padded decimal digits."""
    values = np.asarray(values, dtype=np.int64)
    out = np.empty((len(values), width), dtype=np.uint8)
    for pos in range(width - 1, -1, -1):
        out[:, pos] = ord("0") + values % 10
        values = values // 10
    return out


def _gather(values: Sequence[str] | pl.Series, index: np.ndarray) -> pl.Series:
    """values[index] as a polars String series."""
    table = values if isinstance(values, pl.Series) else pl.Series(values, dtype=pl.String)
    return table.gather(pl.Series(index, dtype=pl.Int64))


# --------------------------------------------------------------------------------------
# The simulated world
# --------------------------------------------------------------------------------------


@dataclass
class _Accounts:
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
    trans_day: np.ndarray  # the one billing transition (conversion, up/downgrade, churn), _NEVER if none
    plan1: np.ndarray
    status1: np.ndarray
    activity_end: np.ndarray  # first day without any activity (churn), _NEVER if none
    mix_cum: np.ndarray  # (n, events) cumulative event probabilities
    context_open: pl.Series  # n + 1: ',"context":{"groupId":"acc_..",' per account, then ',"context":{'
    group_head: pl.Series  # ',"groupId":"acc_..","traits":{"name":..,"website":..,"industry":..,'
    group_employees: pl.Series  # 2n: employees as a string (first n) or a number (last n)
    group_tail: pl.Series  # '"createdAt":..,"address":{..}}'


@dataclass
class _Users:
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


@dataclass
class _Memberships:
    user: np.ndarray
    account: np.ndarray
    join_day: np.ndarray
    join_sec: np.ndarray  # second of the join day at which the user signs up / accepts the invite
    end_day: np.ndarray  # first day without activity
    removed: np.ndarray  # seat freed on end_day
    admin: np.ndarray
    active_prob: np.ndarray
    rate: np.ndarray  # mean track events on an active day


@dataclass
class _Injected:
    """Scheduled track events (invites, activation checklist), sorted by day."""

    day: np.ndarray
    membership: np.ndarray
    code: np.ndarray
    sec: np.ndarray


@dataclass
class _World:
    seed: int
    start: dt.date
    days: int
    start_ms: int
    epud: float
    faults: FaultRates
    segment: tuple[str, str]
    accounts: _Accounts
    users: _Users
    members: _Memberships
    admin_of: np.ndarray  # per account: its admin membership (-1 if none in the period)
    injected: _Injected
    client_contexts: pl.Series  # per user agent, then the server context last


def _session_start_sec(rng: np.random.Generator, tz: np.ndarray, weekend: bool = False) -> np.ndarray:
    """UTC second of the day at which a local working session starts."""
    local_hour = rng.normal(12.0 if weekend else 9.8, 2.2, size=len(tz)).clip(6.0, 21.5)
    utc = (local_hour - tz) * 3600.0 % 86_400.0
    # squeeze into 00:30..23:30 UTC so that the anonymous browsing, invitations and identify calls that
    # precede a session stay on the same UTC day (clipping instead would pile sessions up on one instant)
    return 1800.0 + utc * (82_800.0 / 86_400.0)


def _choose_segment(rng: np.random.Generator) -> tuple[str, str]:
    return _BEST_FIT_CANDIDATES[int(rng.integers(len(_BEST_FIT_CANDIDATES)))]


def _employees(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.exp(rng.normal(math.log(60.0), 1.5, size=n)).clip(2, 20_000).astype(np.int64)


def _band_of(employees: np.ndarray) -> np.ndarray:
    uppers = np.array([hi for _, _, hi in _EMPLOYEE_BANDS])
    return np.searchsorted(uppers, employees)


def _company_names(rng: np.random.Generator, industry: np.ndarray) -> list[str]:
    """Unique names like 'Northwind Analytics', coherent with the industry, then 'Northwind Summit Analytics'."""
    names: list[str] = [""] * len(industry)
    words = len(_NAME_WORDS)
    for ind, (_, _, suffixes) in enumerate(_INDUSTRIES):
        members = np.flatnonzero(industry == ind)
        if len(members) == 0:
            continue
        short = [f"{w} {s}" for w in _NAME_WORDS for s in suffixes]
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
                second = _NAME_WORDS[b] if b != a else "Prime"
                names[account] = f"{_NAME_WORDS[a]} {second} {suffixes[s]}"
    seen: dict[str, int] = {}
    for i, name in enumerate(names):  # only 'Prime' substitutions can collide
        if name in seen:
            seen[name] += 1
            names[i] = f"{name} {seen[name]}"
        else:
            seen[name] = 1
    return names


def _postal_codes(rng: np.random.Generator, patterns: Sequence[str]) -> list[str]:
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


def _phone_numbers(rng: np.random.Generator, country: np.ndarray, city: np.ndarray) -> list[str]:
    """Phones in each country's own numbering plan, written the many ways people write them."""
    n = len(country)
    digit_rows = _digits_matrix(rng.integers(0, 10**12, size=n), 12).tobytes().decode()
    mobile = (rng.random(n) < 0.45).tolist()
    pick = rng.integers(0, 8, size=n).tolist()
    style = rng.choice(6, size=n, p=[0.28, 0.15, 0.30, 0.10, 0.07, 0.10]).tolist()
    out = []
    for i in range(n):
        c = _COUNTRIES[int(country[i])]
        area = _CITIES[int(city[i])][1].area
        digits = digit_rows[12 * i : 12 * i + 12]
        if c.calling == "1" and digits[0] in "01":  # North American exchange codes never start with 0 or 1
            digits = "5" + digits[1:]
        head = c.mobile[pick[i] % len(c.mobile)] if mobile[i] and c.mobile != ("",) else area
        body = digits[: c.nsn_digits - len(head)]
        if mobile[i] and c.code == "BR":  # Brazilian mobiles: area code, then 9 and eight digits
            body = "9" + body
        if c.calling == "1":
            grouped = f"{body[:3]} {body[3:]}"
            national = [f"({head}) {body[:3]}-{body[3:]}", f"{head}-{body[:3]}-{body[3:]}", f"{head}.{body[:3]}.{body[3:]}"]
        elif c.code == "FR":
            grouped = " ".join(body[k:k + 2] for k in range(0, len(body), 2))
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


def _build_accounts(rng: np.random.Generator, n: int, days: int, start: dt.date, segment: tuple[str, str]) -> _Accounts:
    last = days - 1
    industry_names = [name for name, _, _ in _INDUSTRIES]
    seg_industry = industry_names.index(segment[0])
    seg_band = [b for b, _, _ in _EMPLOYEE_BANDS].index(segment[1])
    _, band_lo, band_hi = _EMPLOYEE_BANDS[seg_band]

    best_fit = rng.random(n) < _BEST_FIT_SHARE
    ind_weights = np.array([w for _, w, _ in _INDUSTRIES])
    industry = rng.choice(len(_INDUSTRIES), size=n, p=ind_weights / ind_weights.sum())
    industry[best_fit] = seg_industry
    employees = _employees(rng, n)
    employees[best_fit] = np.exp(rng.uniform(math.log(band_lo), math.log(band_hi + 1), size=int(best_fit.sum()))).astype(np.int64)
    for _ in range(20):  # keep the segment pure: only best-fit accounts sit in it
        clash = ~best_fit & (industry == seg_industry) & (_band_of(employees) == seg_band)
        if not clash.any():
            break
        employees[clash] = _employees(rng, int(clash.sum()))
    clash = ~best_fit & (industry == seg_industry) & (_band_of(employees) == seg_band)
    employees[clash] = np.minimum(employees[clash] * 6, 20_000)

    country = rng.choice(len(_COUNTRIES), size=n, p=_COUNTRY_WEIGHTS)
    city = _CITY_START[country] + (rng.random(n) * _CITY_COUNT[country]).astype(np.int64)

    fit_mix = _TRAJECTORY_MIX * _BEST_FIT_BONUS
    fit_mix /= fit_mix.sum()
    other_mix = (_TRAJECTORY_MIX - _BEST_FIT_SHARE * fit_mix).clip(0.001)
    other_mix /= other_mix.sum()
    kind = np.where(best_fit, rng.choice(7, size=n, p=fit_mix), rng.choice(7, size=n, p=other_mix))
    if n >= len(TRAJECTORIES):  # small demos still show every trajectory
        for k in range(len(TRAJECTORIES)):
            if not (kind == k).any():
                counts = np.bincount(kind, minlength=7)
                donors = np.flatnonzero(kind == counts.argmax())
                kind[donors[rng.integers(len(donors))]] = k

    established = np.isin(kind, _ESTABLISHED)
    created = np.where(
        established,
        -np.exp(rng.uniform(math.log(30), math.log(1500), size=n)).astype(np.int64),
        0,
    )
    window = {_TRIAL_CONV: max(1, days - 16), _TRIAL_NOT: max(1, days - 10), _ONBOARDING: max(1, int(days * 0.75))}
    for k, w in window.items():
        mask = kind == k
        created[mask] = rng.integers(0, w, size=int(mask.sum()))

    big = employees > 1000
    paid_plan = np.where(
        big,
        rng.choice([_STARTER, _PRO, _ENTERPRISE], size=n, p=[0.2, 0.4, 0.4]),
        rng.choice([_STARTER, _PRO, _ENTERPRISE], size=n, p=[0.5, 0.4, 0.1]),
    )
    paid_plan = np.where(best_fit & (paid_plan == _STARTER) & (rng.random(n) < 0.5), _PRO, paid_plan)
    plan0 = np.where(rng.random(n) < 0.15, _FREE, paid_plan)
    status0 = np.full(n, _ST_ACTIVE)
    trans = np.full(n, _NEVER, dtype=np.int64)
    plan1 = plan0.copy()
    status1 = status0.copy()
    u = rng.random(n)

    # growing: free accounts convert, paid ones upgrade (enterprise only grows seats)
    g = (kind == _GROWING) & (plan0 != _ENTERPRISE) & ((plan0 == _FREE) | (u < 0.6))
    trans[g] = rng.integers(int(days * 0.3), max(int(days * 0.9), int(days * 0.3) + 1), size=int(g.sum()))
    plan1[g] = np.where(plan0[g] == _FREE, _STARTER, plan0[g] + 1)
    # declining: some downgrade
    dn = (kind == _DECLINING) & (plan0 >= _PRO) & (u < 0.35)
    trans[dn] = rng.integers(days // 2, max(days, days // 2 + 1), size=int(dn.sum()))
    plan1[dn] = plan0[dn] - 1
    # churning: paying accounts that cancel inside the period
    ch = kind == _CHURNING
    plan0[ch] = np.maximum(plan0[ch], _STARTER)
    plan1[ch] = plan0[ch]
    lo, hi = max(1, round(days * 0.45)), max(2, round(days * 0.85))
    trans[ch] = rng.integers(lo, max(hi, lo + 1), size=int(ch.sum()))
    status1[ch] = _ST_CHURNED
    # trials
    tc = kind == _TRIAL_CONV
    plan0[tc] = _TRIAL
    status0[tc] = _ST_TRIAL
    trans[tc] = created[tc] + rng.integers(7, 15, size=int(tc.sum()))
    plan1[tc] = np.where(best_fit[tc] | (rng.random(int(tc.sum())) < 0.35), _PRO, _STARTER)
    status1[tc] = _ST_ACTIVE
    tn = kind == _TRIAL_NOT
    plan0[tn] = _TRIAL
    status0[tn] = _ST_TRIAL
    trans[tn] = created[tn] + 14
    churns = rng.random(int(tn.sum())) < 0.5
    plan1[tn] = np.where(churns, _TRIAL, _FREE)
    status1[tn] = np.where(churns, _ST_CHURNED, _ST_ACTIVE)
    # onboarding: new free or paid accounts
    ob = kind == _ONBOARDING
    plan0[ob] = rng.choice([_FREE, _STARTER, _PRO], size=int(ob.sum()), p=[0.45, 0.35, 0.20])
    plan1[ob] = plan0[ob]

    activity_end = np.where((status1 == _ST_CHURNED) & (trans <= last), trans, _NEVER)
    intensity = np.exp(rng.normal(0.0, 0.35, size=n)) * np.where(best_fit, 1.4, 1.0)

    freq = np.array([f for _, _, f in _EVENT_CATALOG])
    mix = np.tile(freq, (n, 1))
    adopted = rng.random((n, len(_OPTIONAL_FEATURES))) < np.where(best_fit, 0.92, 0.7)[:, None]
    for j, name in enumerate(_OPTIONAL_FEATURES):
        mix[:, _E[name]] *= np.where(adopted[:, j], 1.0, 0.03)
    fizzle = tn & (rng.random(n) < 0.9)  # most failed trials never wire an integration nor share
    mix[fizzle, _E["Integration Connected"]] = 0.0
    mix[fizzle, _E["Teammate Invited"]] = 0.0
    mix[fizzle, _E["Document Shared"]] *= 0.1
    mix_cum = np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1)
    mix_cum[:, -1] = 1.0

    names = _company_names(rng, industry)
    domains = []
    tld_pick = rng.random(n)
    for i, name in enumerate(names):
        c = _COUNTRIES[int(country[i])]
        tld = ".io" if industry[i] == 0 and tld_pick[i] < 0.2 else (c.tld if tld_pick[i] < 0.6 else ".com")
        domains.append(_slug(name, "-") + tld)
    website_style = rng.integers(0, 4, size=n)
    websites = [
        (f"https://www.{d}", f"https://{d}", d, f"www.{d}")[int(s)] for d, s in zip(domains, website_style)
    ]
    postal = _postal_codes(rng, [_CITIES[int(c)][1].postal for c in city])
    start_ms = _epoch_ms(start)
    created_ms = start_ms + created * _DAY_MS + rng.integers(8 * 3_600_000, 18 * 3_600_000, size=n)
    created_iso = [bytes(row).decode() for row in _iso_matrix(created_ms)]
    head, tail = [], []
    for i in range(n):
        _, city_obj = _CITIES[int(city[i])]
        head.append(
            f',"groupId":"acc_{i + 1:05d}","traits":{{"name":"{names[i]}","website":"{websites[i]}",'
            f'"industry":"{industry_names[int(industry[i])]}",'
        )
        tail.append(
            f'"createdAt":"{created_iso[i]}","address":{{"city":"{city_obj.name}","state":"{city_obj.state}",'
            f'"country":"{_COUNTRIES[int(country[i])].code}","postalCode":"{postal[i]}"}}}}'
        )
    employees_text = [f'"employees":"{e}",' for e in employees.tolist()] + [f'"employees":{e},' for e in employees.tolist()]
    return _Accounts(
        n=n, ids=pl.Series([f"acc_{i + 1:05d}" for i in range(n)], dtype=pl.String), names=names, domains=domains,
        industry=industry, employees=employees, country=country, city=city, postal=postal, best_fit=best_fit,
        kind=kind, created_day=created, intensity=intensity, plan0=plan0, status0=status0, trans_day=trans,
        plan1=plan1, status1=status1, activity_end=activity_end, mix_cum=mix_cum,
        context_open=pl.Series([f',"context":{{"groupId":"acc_{i + 1:05d}",' for i in range(n)] + [',"context":{'], dtype=pl.String),
        group_head=pl.Series(head, dtype=pl.String), group_employees=pl.Series(employees_text, dtype=pl.String),
        group_tail=pl.Series(tail, dtype=pl.String),
    )


def _target_seats(rng: np.random.Generator, acc: _Accounts) -> np.ndarray:
    """Heavy-tailed seat counts that grow with company size (1..60, up to 150 for big companies)."""
    base = 2.5 + 2.0 * acc.employees.astype(float) ** 0.33
    seats = np.exp(rng.normal(np.log(base), 0.6)) * np.where(acc.best_fit, 1.3, 1.0)
    cap = np.where(acc.employees > 1000, 150, 60)
    seats = np.round(seats).clip(1, cap).astype(np.int64)
    seats = np.where(acc.kind == _TRIAL_NOT, 1 + rng.binomial(2, 0.3, size=acc.n), seats)
    return np.where(acc.kind == _TRIAL_CONV, seats.clip(3, 15), seats)


def _between(rng: np.random.Generator, low: np.ndarray, high: float) -> np.ndarray:
    """Uniform in [low, high) element-wise; `high` where low >= high (such values end up outside the period)."""
    low = np.minimum(np.asarray(low, dtype=float), high)
    return low + rng.random(len(low)) * (high - low)


def _build_memberships(rng: np.random.Generator, acc: _Accounts, days: int) -> tuple[_Memberships, np.ndarray]:
    """Primary memberships (one per user, sorted by account and join day) then consultants' second ones.

    Returns the memberships and, for each, whether it is the user's primary one.
    """
    last = days - 1
    n = acc.n
    seats = _target_seats(rng, acc)
    established = np.isin(acc.kind, _ESTABLISHED)
    initial = np.where(established, np.where(acc.kind == _GROWING, np.ceil(seats * 0.4), seats), 1).astype(np.int64)
    joiners = np.where(
        established,
        np.where(acc.kind == _GROWING, seats - initial, rng.poisson(np.where(acc.kind == _STEADY, 0.08, 0.02) * seats * days / 30)),
        seats - 1,
    ).astype(np.int64)

    a_init = np.repeat(np.arange(n), initial)
    first_of = np.r_[0, np.cumsum(initial)[:-1]]
    admin_init = np.zeros(len(a_init), dtype=bool)
    admin_init[first_of] = True
    c_init = acc.created_day[a_init]
    join_init = np.where(admin_init, c_init, rng.integers(np.minimum(c_init + 1, -1), 0))

    a_join = np.repeat(np.arange(n), joiners)
    kind_j = acc.kind[a_join]
    c_join = acc.created_day[a_join]
    u = rng.random(len(a_join))
    scale = np.select([kind_j == _TRIAL_CONV, kind_j == _TRIAL_NOT], [3.0, 3.0], 8.0)
    new_join = c_join + 1 + np.floor(rng.exponential(scale)).astype(np.int64)
    first_joiner = np.r_[True, a_join[1:] != a_join[:-1]] if len(a_join) else np.zeros(0, dtype=bool)
    new_join = np.where(first_joiner & (kind_j == _TRIAL_CONV), c_join + rng.integers(1, 4, size=len(a_join)), new_join)
    join_join = np.select(
        [kind_j == _GROWING, np.isin(kind_j, _ESTABLISHED)],
        [np.floor(days * np.sqrt(u)).astype(np.int64), np.floor(days * u).astype(np.int64)],
        new_join,
    )

    account = np.r_[a_init, a_join]
    join = np.r_[join_init, join_join]
    admin = np.r_[admin_init, np.zeros(len(a_join), dtype=bool)]
    keep = (join <= last) & (join < acc.activity_end[account])
    account, join, admin = account[keep], join[keep], admin[keep]
    order = np.lexsort((~admin, join, account))
    account, join, admin = account[order], join[order], admin[order]
    m = len(account)

    # who stops being active, and when
    kind = acc.kind[account]
    h = min(30.0, max(days, 2) / 2)
    stop_prob = np.select(
        [kind == _STEADY, kind == _GROWING, kind == _DECLINING, kind == _CHURNING, kind == _TRIAL_NOT],
        [0.06, 0.02, 0.45, 0.30, 0.6], 0.03,
    )
    stops = ~admin & (rng.random(m) < stop_prob)
    ch = acc.activity_end[account].astype(float)
    decline_from = np.select(
        [kind == _DECLINING, kind == _CHURNING], [last - 2 * h, ch - np.clip(ch / 2, 2, 20) * 2], 0
    )
    stop_day = np.select(
        [kind == _TRIAL_NOT, np.isin(kind, (_DECLINING, _CHURNING))],
        [join + 1 + np.floor(rng.exponential(4.0, size=m)), _between(rng, np.maximum(decline_from, join + 1), last + 1)],
        _between(rng, np.maximum(join + 1, 0), last + 1),
    ).astype(np.int64)
    end = np.where(stops, np.maximum(stop_day, join + 1), _NEVER)
    end = np.minimum(end, acc.activity_end[account])
    removed = stops & (rng.random(m) < np.where(np.isin(kind, (_DECLINING, _CHURNING)), 0.7, 0.3))

    # consultants / agency staff: a second membership in another account
    second = np.flatnonzero(~admin & (rng.random(m) < 0.03)) if n > 1 else np.zeros(0, dtype=np.int64)
    a2 = (account[second] + 1 + rng.integers(0, n - 1, size=len(second))) % n if n > 1 else second
    c2 = acc.created_day[a2]
    j2 = np.where(
        c2 < 0,
        np.floor(_between(rng, np.maximum(c2 + 1, -120), days)).astype(np.int64),
        c2 + 1 + np.floor(rng.exponential(5.0, size=len(second))).astype(np.int64),
    )
    ok = (j2 <= last) & (j2 < acc.activity_end[a2])
    second, a2, j2 = second[ok], a2[ok], j2[ok]

    users = np.arange(m)
    active_prob = rng.beta(2.4, 1.5, size=m) * np.where(acc.best_fit[account], 1.15, 1.0)
    active_prob *= np.where(kind == _TRIAL_CONV, 1.3, 1.0) * np.where(admin, 1.2, 1.0)
    rate = np.exp(rng.normal(-0.32, 0.8, size=m))  # mean 1: a few power users, many light ones
    split = np.zeros(m, dtype=bool)
    split[second] = True
    active_prob = np.where(split, active_prob * 0.75, active_prob).clip(0.02, 0.95)

    tz = _CITY_TZ[acc.city]
    all_account = np.r_[account, a2]
    members = _Memberships(
        user=np.r_[users, second],
        account=all_account,
        join_day=np.r_[join, j2],
        join_sec=_session_start_sec(rng, tz[all_account]),
        end_day=np.r_[end, acc.activity_end[a2]],
        removed=np.r_[removed, np.zeros(len(second), dtype=bool)],
        admin=np.r_[admin, np.zeros(len(second), dtype=bool)],
        active_prob=np.r_[active_prob, (active_prob[second] * 0.8).clip(0.02, 0.95)],
        rate=np.r_[np.where(split, rate * 0.7, rate), rate[second] * 0.6],
    )
    return members, np.r_[np.ones(m, dtype=bool), np.zeros(len(second), dtype=bool)]


def _build_users(
    rng: np.random.Generator, acc: _Accounts, mem: _Memberships, primary: np.ndarray, start_ms: int, days: int,
    faults: FaultRates,
) -> _Users:
    n = int(primary.sum())
    home = mem.account[primary]  # primary memberships are users 0..n-1 in order
    first_day = np.full(n, _NEVER, dtype=np.int64)
    np.minimum.at(first_day, mem.user, mem.join_day)
    first_sec = np.full(n, 86_400.0)
    on_first = mem.join_day == first_day[mem.user]
    np.minimum.at(first_sec, mem.user[on_first], mem.join_sec[on_first])

    acc_country = acc.country[home]
    abroad = rng.random(n) < 0.15
    country = np.where(abroad, rng.choice(len(_COUNTRIES), size=n, p=_COUNTRY_WEIGHTS), acc_country)
    same_city = (country == acc_country) & (rng.random(n) < 0.7)
    city = np.where(same_city, acc.city[home], _CITY_START[country] + (rng.random(n) * _CITY_COUNT[country]).astype(np.int64))
    postal = [acc.postal[int(a)] for a in home]
    elsewhere = np.flatnonzero(~same_city)
    for i, code in zip(elsewhere, _postal_codes(rng, [_CITIES[int(city[i])][1].postal for i in elsewhere])):
        postal[i] = code
    phones = _phone_numbers(rng, country, city)

    first_pick = rng.integers(0, 1 << 30, size=n).tolist()
    last_pick = rng.integers(0, 1 << 30, size=n).tolist()
    prefix = rng.random(n) < 0.03
    suffix = rng.random(n) < 0.03
    prefix_pick = rng.integers(0, len(_NAME_PREFIXES), size=n).tolist()
    suffix_pick = rng.integers(0, len(_NAME_SUFFIXES), size=n).tolist()
    title_pick = rng.integers(0, 1 << 30, size=n).tolist()
    is_admin = mem.admin[primary]
    is_new_admin = is_admin & (acc.created_day[home] >= 0)
    consultant = np.zeros(n, dtype=bool)
    consultant[mem.user[~primary]] = True
    promoted = rng.random(n) < 0.05
    promotion_day = np.where(promoted, rng.integers(0, days, size=n), _NEVER)
    unsubscribed = rng.random(n) < 0.04

    anonymous = (first_day >= 0) & (rng.random(n) < faults.anonymous_share)
    anon_hex = _hex_matrix(rng.integers(0, 256, size=(n, 8), dtype=np.uint8))
    anon_ids = ["anon_" + bytes(row).decode() if a else "" for row, a in zip(anon_hex, anonymous)]
    user_ids = [f"usr_{i + 1:06d}" for i in range(n)]
    skewed = rng.random(n) < 0.10
    skew = np.sign(rng.random(n) - 0.5) * np.exp(rng.uniform(math.log(120_000), math.log(5 * 3_600_000), size=n))
    skew_ms = np.where(skewed, skew, 0).astype(np.int64)
    context = rng.choice(len(_USER_AGENTS), size=n, p=_USER_AGENT_WEIGHTS)

    created_ms = start_ms + first_day * _DAY_MS + (first_sec * 1000).astype(np.int64)
    early = first_day < 0  # joined before the period: the time of day is not simulated
    created_ms = np.where(early, start_ms + first_day * _DAY_MS + rng.integers(8 * 3_600_000, 18 * 3_600_000, size=n), created_ms)
    created_iso = [bytes(row).decode() for row in _iso_matrix(created_ms)]

    emails: list[str] = []
    taken: dict[str, int] = {}
    heads_camel, heads_snake, tails_camel, tails_snake, titles0, titles1 = [], [], [], [], [], []
    truth: dict[str, list[Any]] = {k: [] for k in ("first_name", "last_name", "email", "title", "country", "phone")}
    for i in range(n):
        c = _COUNTRIES[int(country[i])]
        first = c.first_names[first_pick[i] % len(c.first_names)]
        last = c.last_names[last_pick[i] % len(c.last_names)]
        local = f"{_slug(first, '')}.{_slug(last, '')}"
        domain = acc.domains[int(home[i])]
        key = f"{local}@{domain}"
        taken[key] = taken.get(key, 0) + 1
        email = key if taken[key] == 1 else f"{local}{taken[key]}@{domain}"
        emails.append(email)
        shown_first = f"{_NAME_PREFIXES[prefix_pick[i]]} {first}" if prefix[i] else first
        shown_last = f"{last} {_NAME_SUFFIXES[suffix_pick[i]]}" if suffix[i] else last
        if consultant[i]:
            title = "Consultant"
        elif is_new_admin[i]:
            title = _FOUNDER_TITLES[title_pick[i] % len(_FOUNDER_TITLES)]
        else:
            title = _TITLES[title_pick[i] % len(_TITLES)]
        titles0.append(title)
        titles1.append(_PROMOTION.get(title, title))
        _, city_obj = _CITIES[int(city[i])]
        address = (
            f'"address":{{"city":"{city_obj.name}","state":"{city_obj.state}","country":"{c.code}",'
            f'"postalCode":"{postal[i]}"}}'
        )
        unsub = ',"unsubscribed":true' if unsubscribed[i] else ""
        heads_camel.append(f'"email":"{email}","firstName":"{shown_first}","lastName":"{shown_last}","phone":"{phones[i]}","title":"')
        heads_snake.append(f'"email":"{email}","first_name":"{shown_first}","last_name":"{shown_last}","phone":"{phones[i]}","title":"')
        tails_camel.append(f'","createdAt":"{created_iso[i]}",{address}{unsub}}}')
        tails_snake.append(f'","created_at":"{created_iso[i]}",{address}{unsub}}}')
        truth["first_name"].append(first)
        truth["last_name"].append(last)
        truth["email"].append(email)
        truth["title"].append(title)
        truth["country"].append(c.code)
        truth["phone"].append(phones[i])
    return _Users(
        n=n, ids=pl.Series(user_ids, dtype=pl.String), anon_ids=pl.Series(anon_ids, dtype=pl.String),
        identity=pl.Series([f'"userId":"{u}"' for u in user_ids] + [f'"anonymousId":"{a}"' for a in anon_ids], dtype=pl.String),
        anon_link=pl.Series([f',"anonymousId":"{a}"' if a else "" for a in anon_ids], dtype=pl.String),
        anonymous=anonymous, multi_account=consultant, first_day=first_day, skew_ms=skew_ms,
        context=context, traits_head=pl.Series(heads_camel + heads_snake, dtype=pl.String),
        titles=pl.Series(titles0 + titles1, dtype=pl.String), promotion_day=promotion_day,
        traits_tail=pl.Series(tails_camel + tails_snake, dtype=pl.String), truth=truth,
    )


def _admin_of(acc: _Accounts, mem: _Memberships) -> np.ndarray:
    """Each account's admin membership (its creator), -1 when the admin joins after the period."""
    admin_of = np.full(acc.n, -1, dtype=np.int64)
    admin_idx = np.flatnonzero(mem.admin)
    admin_of[mem.account[admin_idx]] = admin_idx
    return admin_of


def _build_injected(rng: np.random.Generator, acc: _Accounts, mem: _Memberships, admin_of: np.ndarray, days: int) -> _Injected:
    """Invitations (by the account's admin, just before each in-period join) and the activation checklist."""
    last = days - 1
    tz = _CITY_TZ[acc.city]

    invited = np.flatnonzero(~mem.admin & (mem.join_day >= 0) & (admin_of[mem.account] >= 0))
    inviter = admin_of[mem.account[invited]]
    room = np.minimum(7200.0, mem.join_sec[invited] - 60.0)
    invite_sec = mem.join_sec[invited] - rng.uniform(30.0, room)
    days_l: list[np.ndarray] = [mem.join_day[invited]]
    mem_l: list[np.ndarray] = [inviter]
    code_l: list[np.ndarray] = [np.full(len(invited), _E["Teammate Invited"])]
    sec_l: list[np.ndarray] = [invite_sec.clip(10.0)]

    # the checklist, for new accounts that activate
    new = acc.created_day >= 0
    completes = new & (
        (acc.kind == _TRIAL_CONV)
        | ((acc.kind == _ONBOARDING) & (rng.random(acc.n) < 0.8))
        | ((acc.kind == _TRIAL_NOT) & (rng.random(acc.n) < 0.1))
    )
    starts_only = new & ~completes & (rng.random(acc.n) < 0.7)
    non_admins = np.flatnonzero(~mem.admin)
    non_admins = non_admins[np.argsort(mem.account[non_admins], kind="stable")]
    bounds = np.searchsorted(mem.account[non_admins], np.arange(acc.n + 1))
    for account in np.flatnonzero(completes | starts_only):
        admin = admin_of[account]
        if admin < 0:
            continue
        c = int(acc.created_day[account])
        others = non_admins[bounds[account] : bounds[account + 1]]
        steps = [("Document Created", c + (0 if rng.random() < 0.7 else int(rng.integers(1, 3))))]
        if completes[account]:
            steps += [("Document Shared", c + int(rng.integers(1, 7))), ("Integration Connected", c + int(rng.integers(1, 11)))]
        for name, day in steps:
            helpers = others[(mem.join_day[others] <= day) & (mem.end_day[others] > day)]
            who = admin if len(helpers) == 0 or rng.random() < 0.5 else int(helpers[rng.integers(len(helpers))])
            if day > last or day >= mem.end_day[who]:
                continue
            if day == mem.join_day[who]:
                sec = float(mem.join_sec[who]) + rng.uniform(120.0, 3600.0)
            else:
                sec = float(_session_start_sec(rng, tz[account : account + 1])[0]) + rng.uniform(60.0, 4 * 3600.0)
            days_l.append(np.array([day]))
            mem_l.append(np.array([who]))
            code_l.append(np.array([_E[name]]))
            sec_l.append(np.array([sec]))
    day = np.concatenate(days_l).astype(np.int64)
    order = np.argsort(day, kind="stable")
    return _Injected(
        day=day[order], membership=np.concatenate(mem_l).astype(np.int64)[order],
        code=np.concatenate(code_l).astype(np.int64)[order], sec=np.concatenate(sec_l)[order],
    )


def _epoch_ms(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * _DAY_MS


def _build_world(
    seed: int, start: dt.date, days: int, accounts: int, faults: FaultRates, events_per_user_day: float
) -> _World:
    rng = np.random.default_rng([seed, 0])
    segment = _choose_segment(rng)
    acc = _build_accounts(rng, accounts, days, start, segment)
    mem, primary = _build_memberships(rng, acc, days)
    start_ms = _epoch_ms(start)
    users = _build_users(rng, acc, mem, primary, start_ms, days, faults)
    admin_of = _admin_of(acc, mem)
    injected = _build_injected(rng, acc, mem, admin_of, days)
    contexts = [f'{_CLIENT_LIBRARY},"userAgent":"{ua}"}}' for ua in _USER_AGENTS] + [f"{_SERVER_LIBRARY}}}"]
    return _World(
        seed=seed, start=start, days=days, start_ms=start_ms, epud=events_per_user_day, faults=faults, segment=segment,
        accounts=acc, users=users, members=mem, admin_of=admin_of, injected=injected,
        client_contexts=pl.Series(contexts, dtype=pl.String),
    )


# --------------------------------------------------------------------------------------
# Account state over time
# --------------------------------------------------------------------------------------


def _activity_multiplier(acc: _Accounts, d: int, days: int) -> np.ndarray:
    """How busy each account is on day d relative to its normal level (0 = no activity at all)."""
    last = days - 1
    h = min(30.0, max(days, 2) / 2)
    rel = (d - acc.created_day).astype(float)
    m = np.ones(acc.n)
    k = acc.kind
    sel = k == _GROWING
    m[sel] = np.maximum(0.3, 2.5 * np.exp(-_GROWTH * (last - d) / h))
    sel = k == _DECLINING
    m[sel] = min(1.6, max(0.12, 1.6 * math.exp(-_GROWTH * (d - (last - 2 * h)) / h)))
    sel = k == _CHURNING
    # Disengagement precedes cancellation: from up to 30 days before the churn day the
    # account's activity falls steadily, to a fifth of its normal level by the end.
    ch = acc.activity_end[sel].astype(float)
    h2 = np.clip(ch / 2, 2, 30)
    m[sel] = np.clip(1.3 * np.exp(np.minimum(-_CHURN_DECAY * (d - (ch - h2)) / h2, 1.0)), 0.1, 1.3)
    sel = k == _TRIAL_CONV
    m[sel] = np.where(d >= acc.trans_day[sel], 1.5, 1.25)
    sel = k == _TRIAL_NOT
    m[sel] = np.maximum(0.03, 0.5 ** (rel[sel] / 4))
    sel = k == _ONBOARDING
    m[sel] = 0.6 + 0.6 * np.minimum(1.0, rel[sel] / 14)
    m[(rel < 0) | (d >= acc.activity_end)] = 0.0
    return m * acc.intensity


def _plan_status(acc: _Accounts, d: int) -> tuple[np.ndarray, np.ndarray]:
    after = d >= acc.trans_day
    return np.where(after, acc.plan1, acc.plan0), np.where(after, acc.status1, acc.status0)


def _mrr(plan: np.ndarray, status: np.ndarray, seats: np.ndarray) -> np.ndarray:
    paying = (status == _ST_ACTIVE) & (plan >= _STARTER)
    return np.where(paying, _SEAT_PRICE[plan] * np.maximum(seats, _MIN_SEATS[plan]), 0)


# --------------------------------------------------------------------------------------
# One day of messages
# --------------------------------------------------------------------------------------


@dataclass
class _DayState:
    """What the simulation remembers from one day to the next."""

    identified: np.ndarray  # per user
    last_group: np.ndarray  # per membership
    seats: np.ndarray  # billed seats per account


_TRACK, _PAGE, _IDENTIFY, _GROUP, _MALFORMED = range(5)
_MESSAGE_TYPES = ("track", "page", "identify", "group")


@dataclass
class _Envelope:
    head: pl.Series  # '{"type":"<type>","messageId":"<uuid>",'
    original: pl.Series  # ',"originalTimestamp":"<iso>"'
    timestamp: pl.Series  # ',"timestamp":"<iso>"' (used on server-side rows only)
    sent_received: pl.Series  # ',"sentAt":"<iso>","receivedAt":"<iso>"}\n'
    recv_ms: np.ndarray
    context: pl.Series  # '"library":..,"userAgent":..}' (closes the context object)


def _with_literals(*parts: str | np.ndarray) -> pl.Series:
    """Concatenate literal strings and (n, w) byte matrices column-wise into one fixed-width series."""
    n = next(len(p) for p in parts if isinstance(p, np.ndarray))
    blocks = [
        np.broadcast_to(np.frombuffer(p.encode(), dtype=np.uint8), (n, len(p.encode()))) if isinstance(p, str) else p
        for p in parts
    ]
    return _fixed_width_series(np.concatenate(blocks, axis=1))


def _envelope(world: _World, rng: np.random.Generator, kind: str, t_ms: np.ndarray, user: np.ndarray,
              server: np.ndarray, late: np.ndarray) -> _Envelope:
    """Segment's timestamps: originalTimestamp and sentAt carry the device's clock skew, receivedAt is true.

    `user` is the device's owner, also for anonymous calls (same browser, same clock, same user agent).
    """
    n = len(t_ms)
    delay = rng.exponential(1500.0, size=n)
    batched = rng.random(n) < 0.01  # offline tabs flush a queue minutes later
    delay = np.where(batched, rng.uniform(60_000, 600_000, size=n), delay)
    delay = np.where(late, rng.uniform(_DAY_MS, 3 * _DAY_MS, size=n), delay).astype(np.int64)
    latency = rng.integers(20, 400, size=n)
    skew = np.where(server, 0, world.users.skew_ms[user])
    sent = t_ms + delay
    recv = sent + latency
    ctx_index = np.where(server, len(_USER_AGENTS), world.users.context[user])
    return _Envelope(
        head=_with_literals(f'{{"type":"{kind}","messageId":"', _uuid4_matrix(rng, n), '",'),
        original=_with_literals(',"originalTimestamp":"', _iso_matrix(t_ms + skew), '"'),
        timestamp=_with_literals(',"timestamp":"', _iso_matrix(t_ms), '"'),
        sent_received=_with_literals(',"sentAt":"', _iso_matrix(sent + skew), '","receivedAt":"', _iso_matrix(recv), '"}\n'),
        recv_ms=recv,
        context=_gather(world.client_contexts, ctx_index),
    )


def _time_pieces() -> list[pl.Expr]:
    return [pl.col("original"), pl.when(pl.col("server")).then(pl.col("timestamp")), pl.col("sent_received")]


def _frame(world: _World, env: _Envelope, kind: int, late: np.ndarray, columns: dict[str, Any], line: pl.Expr) -> pl.DataFrame:
    data = pl.DataFrame({
        "head": env.head, "original": env.original, "timestamp": env.timestamp, "sent_received": env.sent_received,
        "context": env.context, **columns,
    })
    rd = (env.recv_ms - world.start_ms) // _DAY_MS
    return pl.DataFrame({
        "rd": pl.Series(rd, dtype=pl.Int32),
        "recv_ms": pl.Series(env.recv_ms, dtype=pl.Int64),
        "line": data.select(line.alias("line")).to_series(),
        "kind": pl.Series(np.full(len(rd), kind), dtype=pl.UInt8),
        "late": pl.Series(late, dtype=pl.Boolean),
        "dup": pl.Series(np.zeros(len(rd), dtype=bool), dtype=pl.Boolean),
    })


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
    [name in ("Document Edited", "Document Created", "File Uploaded", "Comment Added", "Document Shared") for name in EVENT_NAMES]
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


def _render_tracks(world: _World, rng: np.random.Generator, t_ms: np.ndarray, user: np.ndarray, account: np.ndarray,
                   code: np.ndarray, anon: np.ndarray) -> pl.DataFrame:
    n = len(t_ms)
    server = ~anon & (rng.random(n) < 0.05)
    late = ~anon & (rng.random(n) < world.faults.late_share)
    env = _envelope(world, rng, "track", t_ms, user, server, late)
    has_group = ~anon & ((rng.random(n) < 0.85) | world.users.multi_account[user])
    doc = np.floor(400 * rng.random(n) ** 2).astype(np.int64)  # a few documents get most of the work
    choice = _PROP_OFFSET[code] + rng.integers(0, 1 << 20, size=n) % _PROP_COUNT[code]
    size_kb = rng.integers(12, 40_000, size=n)
    columns = {
        "server": server, "has_doc": _HAS_DOCUMENT[code], "is_file": code == _E["File Uploaded"],
        "identity": _gather(world.users.identity, user + np.where(anon, world.users.n, 0)),
        "pre": _gather(_EVENT_PRE, choice),
        "doc": _with_literals(_digits_matrix(account + 1, 5), "-", _digits_matrix(doc, 3)),
        "post": _gather(_EVENT_POST, choice),
        "size": pl.Series(size_kb, dtype=pl.Int64).cast(pl.String) + "}",
        "context_open": _gather(world.accounts.context_open, np.where(has_group, account, world.accounts.n)),
    }
    line = pl.concat_str([
        pl.col("head"), pl.col("identity"), pl.col("pre"), pl.when(pl.col("has_doc")).then(pl.col("doc")),
        pl.col("post"), pl.when(pl.col("is_file")).then(pl.col("size")), pl.col("context_open"), pl.col("context"),
        *_time_pieces(),
    ], ignore_nulls=True)
    return _frame(world, env, _TRACK, late, columns, line)


_APP_PAGE_P = np.array([p for _, _, p in _APP_PAGES]) / sum(p for _, _, p in _APP_PAGES)
_SITE_PAGE_P = np.array([p for _, _, p in _SITE_PAGES]) / sum(p for _, _, p in _SITE_PAGES)
_PAGE_BODIES = pl.Series(
    [f',"name":"{name}","properties":{{"path":"{path}","url":"{_APP_HOST}{path}","title":"{name} | Inkwell"}}'
     for name, path, _ in _APP_PAGES]
    + [f',"name":"{name}","properties":{{"path":"{path}","url":"{_SITE_HOST}{path}","title":"{name} | Inkwell"}}'
       for name, path, _ in _SITE_PAGES],
    dtype=pl.String,
)


def _render_pages(world: _World, rng: np.random.Generator, t_ms: np.ndarray, user: np.ndarray, account: np.ndarray,
                  anon: np.ndarray) -> pl.DataFrame:
    """Page views: app pages for users, marketing-site pages for anonymous visitors."""
    n = len(t_ms)
    page = np.where(
        anon,
        len(_APP_PAGES) + rng.choice(len(_SITE_PAGES), size=n, p=_SITE_PAGE_P),
        rng.choice(len(_APP_PAGES), size=n, p=_APP_PAGE_P),
    )
    server = np.zeros(n, dtype=bool)
    env = _envelope(world, rng, "page", t_ms, user, server, server)
    has_group = ~anon & ((rng.random(n) < 0.85) | world.users.multi_account[user])
    columns = {
        "server": server,
        "identity": _gather(world.users.identity, user + np.where(anon, world.users.n, 0)),
        "body": _gather(_PAGE_BODIES, page),
        "context_open": _gather(world.accounts.context_open, np.where(has_group, account, world.accounts.n)),
    }
    line = pl.concat_str([
        pl.col("head"), pl.col("identity"), pl.col("body"), pl.col("context_open"), pl.col("context"), *_time_pieces(),
    ], ignore_nulls=True)
    return _frame(world, env, _PAGE, server, columns, line)


def _render_identifies(world: _World, rng: np.random.Generator, d: int, t_ms: np.ndarray, user: np.ndarray,
                       link_anon: np.ndarray) -> pl.DataFrame:
    n = len(t_ms)
    server = rng.random(n) < 0.05
    late = np.zeros(n, dtype=bool)
    env = _envelope(world, rng, "identify", t_ms, user, server, late)
    style = user + np.where(rng.random(n) < 0.2, world.users.n, 0)  # snake_case traits in ~20% of calls
    promoted = d >= world.users.promotion_day[user]
    columns = {
        "server": server, "link": link_anon,
        "identity": _gather(world.users.identity, user),
        "anon_link": _gather(world.users.anon_link, user),
        "traits_head": _gather(world.users.traits_head, style),
        "title": _gather(world.users.titles, user + np.where(promoted, world.users.n, 0)),
        "traits_tail": _gather(world.users.traits_tail, style),
    }
    line = pl.concat_str([
        pl.col("head"), pl.col("identity"), pl.when(pl.col("link")).then(pl.col("anon_link")), pl.lit(',"traits":{'),
        pl.col("traits_head"), pl.col("title"), pl.col("traits_tail"), pl.lit(',"context":{'), pl.col("context"),
        *_time_pieces(),
    ], ignore_nulls=True)
    return _frame(world, env, _IDENTIFY, late, columns, line)


def _render_groups(world: _World, rng: np.random.Generator, t_ms: np.ndarray, user: np.ndarray, account: np.ndarray,
                   plan: np.ndarray, status: np.ndarray, server: np.ndarray) -> pl.DataFrame:
    n = len(t_ms)
    late = np.zeros(n, dtype=bool)
    env = _envelope(world, rng, "group", t_ms, user, server, late)
    as_number = rng.random(n) < 0.5  # Segment sends employees as a string, other sources as a number
    columns = {
        "server": server,
        "identity": _gather(world.users.identity, user),
        "group_head": _gather(world.accounts.group_head, account),
        "employees": _gather(world.accounts.group_employees, account + np.where(as_number, world.accounts.n, 0)),
        "plan": _gather(PLANS, plan[account]), "status": _gather(STATUSES, status[account]),
        "group_tail": _gather(world.accounts.group_tail, account),
    }
    line = pl.concat_str([
        pl.col("head"), pl.col("identity"), pl.col("group_head"), pl.col("employees"), pl.lit('"plan":"'),
        pl.col("plan"), pl.lit('","status":"'), pl.col("status"), pl.lit('",'), pl.col("group_tail"),
        pl.lit(',"context":{'), pl.col("context"), *_time_pieces(),
    ], ignore_nulls=True)
    return _frame(world, env, _GROUP, late, columns, line)


def _first_per(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.full(size, np.inf)
    np.minimum.at(out, keys, values)
    return out


_RENDER_CHUNK = 250_000  # rows rendered at once: bounds the intermediate string columns on big days


def _in_chunks(render: Callable[..., pl.DataFrame], world: _World, rng: np.random.Generator,
               *columns: np.ndarray) -> list[pl.DataFrame]:
    n = len(columns[0])
    return [
        render(world, rng, *(c[lo : lo + _RENDER_CHUNK] for c in columns))
        for lo in range(0, max(n, 1), _RENDER_CHUNK)
    ]


def _simulate_day(world: _World, d: int, state: _DayState, plan: np.ndarray, status: np.ndarray) -> list[pl.DataFrame]:
    """All messages whose events happen on UTC day d (some are received later)."""
    rng = np.random.default_rng([world.seed, 1, d])
    acc, mem, users = world.accounts, world.members, world.users
    day_ms = world.start_ms + d * _DAY_MS
    weekday = (world.start + dt.timedelta(days=d)).weekday()
    multiplier = _activity_multiplier(acc, d, world.days) * np.exp(rng.normal(0.0, 0.2, size=acc.n))
    tz = _CITY_TZ[acc.city]

    # who is active today, and their session
    mm = multiplier[mem.account]
    present = (mem.join_day <= d) & (d < mem.end_day)
    joining = mem.join_day == d
    p = np.minimum(mem.active_prob * _WEEKDAY_FACTOR[weekday] * np.sqrt(mm), 0.97)
    active = present & (joining | ((mm > 0) & (rng.random(len(p)) < p)))
    act = np.flatnonzero(active)
    session = np.where(joining[act], mem.join_sec[act], _session_start_sec(rng, tz[mem.account[act]], weekday >= 5))
    span = rng.uniform(0.3, 3.0 if weekday >= 5 else 9.0, size=len(act)) * 3600.0
    intensity = world.epud * mem.rate[act] * np.sqrt(np.maximum(mm[act], 0.05))
    login = rng.random(len(act)) < 0.75
    n_other = rng.poisson(np.maximum(intensity - 0.75, 0.05))

    # track events: a session login, then the account's event mix spread over the session
    rep = np.repeat(np.arange(len(act)), n_other)
    a_ev = mem.account[act][rep]
    u = rng.random(len(rep))
    code = np.zeros(len(rep), dtype=np.int64)
    for k in range(len(EVENT_NAMES) - 1):  # inverse CDF of each account's mix, one column at a time
        code += u > acc.mix_cum[a_ev, k]
    sec = session[rep] + 5.0 + rng.random(len(rep)) * span[rep]
    lo, hi = np.searchsorted(world.injected.day, [d, d + 1])
    inj_mem = world.injected.membership[lo:hi]
    track_mem = np.concatenate([act[login], act[rep], inj_mem])
    track_sec = np.concatenate([session[login] + rng.uniform(2.0, 5.0, size=int(login.sum())), sec, world.injected.sec[lo:hi]])
    track_code = np.concatenate([np.full(int(login.sum()), _E["Logged In"]), code, world.injected.code[lo:hi]])

    # anonymous browsing before signing up (first appearance of a new user)
    newcomers = np.flatnonzero(users.first_day == d)
    anon_users = newcomers[users.anonymous[newcomers]]
    first_sec = _first_per(mem.user[act], session, users.n)
    n_anon = 1 + rng.poisson(2.0, size=len(anon_users))
    anon_rep = np.repeat(anon_users, n_anon)
    start_sec = first_sec[anon_rep]
    anon_sec = start_sec - rng.uniform(0.0, 1.0, size=len(anon_rep)) * np.minimum(5400.0, start_sec - 30.0)
    anon_track = rng.random(len(anon_rep)) < 0.3

    frames = _in_chunks(
        _render_tracks, world, rng,
        np.concatenate([day_ms + (track_sec * 1000).astype(np.int64), day_ms + (anon_sec[anon_track] * 1000).astype(np.int64)]),
        np.concatenate([mem.user[track_mem], anon_rep[anon_track]]),
        np.concatenate([mem.account[track_mem], np.zeros(int(anon_track.sum()), dtype=np.int64)]),
        np.concatenate([track_code, np.full(int(anon_track.sum()), _E["Dashboard Viewed"])]),
        np.concatenate([np.zeros(len(track_mem), dtype=bool), np.ones(int(anon_track.sum()), dtype=bool)]),
    )

    # page views
    n_pages = rng.poisson(0.35 * (n_other + login))
    page_rep = np.repeat(np.arange(len(act)), n_pages)
    page_sec = session[page_rep] + 5.0 + rng.random(len(page_rep)) * span[page_rep]
    page_anon = ~anon_track
    frames += _in_chunks(
        _render_pages, world, rng,
        np.concatenate([day_ms + (page_sec * 1000).astype(np.int64), day_ms + (anon_sec[page_anon] * 1000).astype(np.int64)]),
        np.concatenate([mem.user[act[page_rep]], anon_rep[page_anon]]),
        np.concatenate([mem.account[act[page_rep]], np.zeros(int(page_anon.sum()), dtype=np.int64)]),
        np.concatenate([np.zeros(len(page_rep), dtype=bool), np.ones(int(page_anon.sum()), dtype=bool)]),
    )

    # identify: on first appearance, on the first active day of the period, and now and then
    active_users = np.flatnonzero(np.isfinite(first_sec))
    ident = active_users[
        (users.first_day[active_users] == d) | ~state.identified[active_users] | (rng.random(len(active_users)) < 0.03)
    ]
    state.identified[ident] = True
    link = (users.first_day[ident] == d) & users.anonymous[ident]
    ident_ms = day_ms + (first_sec[ident] * 1000).astype(np.int64) - np.where(users.first_day[ident] == d, 0, 3000)
    frames.append(_render_identifies(world, rng, d, ident_ms, ident, link))

    # group: when joining an account, then about weekly, and server-side on plan or status changes
    due = joining[act] | (d - state.last_group[act] >= 7)
    weekly = act[due]
    state.last_group[weekly] = d
    group_sec = session[due] + np.where(joining[weekly], 1.0, -2.0)
    changed = np.flatnonzero((acc.trans_day == d) & (acc.created_day < d))
    changed = changed[world.admin_of[changed] >= 0]
    change_sec = _session_start_sec(rng, tz[changed])
    g_mem = np.concatenate([weekly, world.admin_of[changed]])
    frames.append(_render_groups(
        world, rng,
        day_ms + (np.concatenate([group_sec, change_sec]) * 1000).astype(np.int64),
        mem.user[g_mem], mem.account[g_mem], plan, status,
        np.concatenate([np.zeros(len(weekly), dtype=bool), np.ones(len(changed), dtype=bool)]),
    ))
    return frames


# --------------------------------------------------------------------------------------
# Landing files
# --------------------------------------------------------------------------------------

_MALFORMED_KINDS: tuple[str, ...] = (
    "truncated_json", "plain_text", "json_array", "json_number", "track_without_user", "track_without_event",
    "group_without_group_id", "bogus_type", "invalid_timestamp",
)
_GARBAGE_TEXT = (
    "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>",
    "ERROR: upstream connect error or disconnect/reset before headers",
    "undefined",
    "user_id,event,timestamp",
    "lorem ipsum dolor sit amet",
)


def _malformed_lines(world: _World, rng: np.random.Generator, d: int, valid: pl.Series, count: int) -> tuple[list[str], list[int], dict[str, int]]:
    """Garbage lines of every kind the pipeline must quarantine, with their sort keys."""
    kinds = rng.integers(0, len(_MALFORMED_KINDS), size=count)
    ids = [bytes(row).decode() for row in _uuid4_matrix(rng, count)]
    recv = world.start_ms + d * _DAY_MS + rng.integers(0, _DAY_MS, size=count)
    stamps = [bytes(row).decode() for row in _iso_matrix(recv)]
    picks = rng.integers(0, 1 << 30, size=count).tolist()
    lines: list[str] = []
    tally = dict.fromkeys(_MALFORMED_KINDS, 0)
    for k, mid, stamp, pick in zip(kinds.tolist(), ids, stamps, picks):
        name = _MALFORMED_KINDS[k]
        user = world.users.truth["email"][pick % world.users.n]
        user_id = f"usr_{pick % world.users.n + 1:06d}"
        base: dict[str, Any] = {"type": "track", "messageId": mid, "userId": user_id, "event": EVENT_NAMES[pick % len(EVENT_NAMES)],
                                "properties": {}, "originalTimestamp": stamp, "sentAt": stamp, "receivedAt": stamp}
        if name == "truncated_json" and len(valid):
            text = valid[pick % len(valid)]
            line = text[: len(text) // 2]
        elif name in ("truncated_json", "plain_text"):
            line = _GARBAGE_TEXT[pick % len(_GARBAGE_TEXT)]
        elif name == "json_array":
            line = json.dumps([base], separators=(",", ":"))
        elif name == "json_number":
            line = str(pick % 1000)
        elif name == "track_without_user":
            del base["userId"]
            line = json.dumps(base, separators=(",", ":"))
        elif name == "track_without_event":
            del base["event"]
            line = json.dumps(base, separators=(",", ":"))
        elif name == "group_without_group_id":
            line = json.dumps({"type": "group", "messageId": mid, "userId": user_id, "traits": {"email": user},
                               "originalTimestamp": stamp, "sentAt": stamp, "receivedAt": stamp}, separators=(",", ":"))
        elif name == "bogus_type":
            base["type"] = "bogus"
            line = json.dumps(base, separators=(",", ":"))
        else:
            base["originalTimestamp"] = base["timestamp"] = "not-a-date"
            line = json.dumps(base, separators=(",", ":"))
        lines.append(line.rstrip("\n") + "\n")
        tally[name] += 1
    return lines, recv.tolist(), tally


def _write_day_files(folder: Path, lines: pl.Series, files_per_day: int) -> None:
    """Split the (sorted) lines into contiguous chunks, gzip each (mtime 0: byte-identical reruns), then _SUCCESS."""
    folder.mkdir(parents=True, exist_ok=True)
    array = lines.to_arrow()
    if array.type != pa.large_string():
        array = array.cast(pa.large_string())
    n = len(array)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + n + 1] if n else np.zeros(1, dtype=np.int64)
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8) if n else np.zeros(0, dtype=np.uint8)
    bounds = np.linspace(0, n, files_per_day + 1).round().astype(np.int64)
    for k in range(files_per_day):
        chunk = data[offsets[bounds[k]] : offsets[bounds[k + 1]]]
        (folder / f"events-{k:03d}.jsonl.gz").write_bytes(gzip.compress(chunk, compresslevel=_GZIP_LEVEL, mtime=0))
    (folder / "_SUCCESS").write_bytes(b"")


@dataclass
class _Tally:
    messages: int = 0
    track_events: int = 0
    duplicates: int = 0
    late: int = 0
    malformed: int = 0
    lines: int = 0
    files: int = 0
    by_type: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_MESSAGE_TYPES, 0))
    malformed_by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_MALFORMED_KINDS, 0))


def _detached(frame: pl.DataFrame) -> pl.DataFrame:
    """Copy the lines out: a filtered frame's string views keep the whole day's text buffers alive."""
    line = pl.from_arrow(frame["line"].to_arrow())
    assert isinstance(line, pl.Series)
    return frame.with_columns(line.alias("line"))


def _finish_day(world: _World, d: int, frames: list[pl.DataFrame], pending: dict[int, list[pl.DataFrame]], tally: _Tally) -> pl.Series:
    """Route today's messages by received day, add duplicates and garbage; return the sorted lines of day d."""
    rng = np.random.default_rng([world.seed, 2, d])
    last = world.days - 1
    fresh = pl.concat(frames, how="vertical")
    later = fresh.filter((pl.col("rd") > d) & (pl.col("rd") <= last))
    for rd, part in later.partition_by("rd", as_dict=True, maintain_order=True).items():
        pending.setdefault(int(rd[0]), []).append(_detached(part))
    today = pl.concat([*pending.pop(d, []), fresh.filter(pl.col("rd") == d)], how="vertical")

    originals = today.filter(~pl.col("dup"))
    n_dup = int(rng.binomial(len(originals), world.faults.duplicate_share)) if len(originals) else 0
    chosen = np.sort(rng.choice(len(originals), size=n_dup, replace=False)) if n_dup else np.zeros(0, dtype=np.int64)
    to_next = (rng.random(n_dup) < 0.5) & (d < last)
    copies = originals.select(pl.all().gather(chosen)).with_columns(pl.lit(True).alias("dup"))
    if to_next.any():
        pending.setdefault(d + 1, []).append(_detached(copies.filter(pl.Series(to_next))))
    today = pl.concat([today, copies.filter(pl.Series(~to_next))], how="vertical")

    valid = len(today)
    n_bad = int(rng.binomial(valid, world.faults.malformed_share)) if valid else 0
    bad_lines, bad_recv, bad_tally = _malformed_lines(world, rng, d, today["line"], n_bad)
    bad = pl.DataFrame({
        "rd": pl.Series([d] * n_bad, dtype=pl.Int32), "recv_ms": pl.Series(bad_recv, dtype=pl.Int64),
        "line": pl.Series(bad_lines, dtype=pl.String), "kind": pl.Series([_MALFORMED] * n_bad, dtype=pl.UInt8),
        "late": pl.Series([False] * n_bad, dtype=pl.Boolean), "dup": pl.Series([False] * n_bad, dtype=pl.Boolean),
    })
    today = pl.concat([today, bad], how="vertical").sort("recv_ms", maintain_order=True)

    counts = today.group_by("kind", "dup").agg(pl.len(), pl.col("late").sum()).rows()
    for kind, dup, count, late in counts:
        if kind == _MALFORMED:
            continue
        tally.messages += count
        if dup:
            tally.duplicates += count
        else:
            tally.by_type[_MESSAGE_TYPES[kind]] += count
            if kind == _TRACK:
                tally.track_events += count
                tally.late += late
    tally.malformed += n_bad
    for name, count in bad_tally.items():
        tally.malformed_by_kind[name] += count
    tally.lines += len(today)
    return today["line"]


# --------------------------------------------------------------------------------------
# Ground truth and billing
# --------------------------------------------------------------------------------------


@dataclass
class _Billing:
    rows: list[tuple[str, str, str, int, str]] = field(default_factory=list)
    mrr_start: np.ndarray | None = None
    mrr_end: np.ndarray | None = None
    plan_end: np.ndarray | None = None
    previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def _record_billing(world: _World, d: int, plan: np.ndarray, status: np.ndarray, mrr: np.ndarray, billing: _Billing) -> None:
    """One row per account and day on which plan, status or MRR changed (the first on its creation date)."""
    acc = world.accounts
    created = acc.created_day
    if billing.previous is None:  # the first day also opens every account created before the period
        billing.mrr_start = np.zeros(acc.n, dtype=np.int64)
        new = np.flatnonzero(created <= d)
        changed = np.zeros(0, dtype=np.int64)
    else:
        p_plan, p_status, p_mrr = billing.previous
        new = np.flatnonzero(created == d)
        changed = np.flatnonzero((created < d) & ((plan != p_plan) | (status != p_status) | (mrr != p_mrr)))
    assert billing.mrr_start is not None
    billing.mrr_start[new] = mrr[new]
    for a, day in [(a, int(created[a])) for a in new.tolist()] + [(a, d) for a in changed.tolist()]:
        date = (world.start + dt.timedelta(days=day)).isoformat()
        billing.rows.append((acc.ids[a], date, PLANS[int(plan[a])], int(mrr[a]), STATUSES[int(status[a])]))
    billing.previous = (plan, status, mrr)
    billing.mrr_end, billing.plan_end = mrr, plan


def _write_truth(world: _World, truth_dir: Path, billing: _Billing, summary: dict[str, Any]) -> None:
    acc, last = world.accounts, world.days - 1
    truth_dir.mkdir(parents=True, exist_ok=True)
    assert billing.mrr_end is not None and billing.mrr_start is not None and billing.plan_end is not None

    def day_or_none(days: np.ndarray, mask: np.ndarray) -> list[str | None]:
        return [(world.start + dt.timedelta(days=int(x))).isoformat() if ok and x <= last else None for x, ok in zip(days, mask)]

    converted = (acc.plan0 <= _TRIAL) & (acc.plan1 >= _STARTER)
    churned = acc.status1 == _ST_CHURNED
    pl.DataFrame({
        "account_id": acc.ids,
        "name": acc.names,
        "domain": acc.domains,
        "industry": [_INDUSTRIES[int(i)][0] for i in acc.industry],
        "employees": acc.employees,
        "country": [_COUNTRIES[int(c)].code for c in acc.country],
        "plan": [PLANS[int(p)] for p in billing.plan_end],
        "created_date": [(world.start + dt.timedelta(days=int(c))).isoformat() for c in acc.created_day],
        "trajectory": [TRAJECTORIES[int(k)] for k in acc.kind],
        "converted_date": pl.Series(day_or_none(acc.trans_day, converted), dtype=pl.String),
        "churned_date": pl.Series(day_or_none(acc.trans_day, churned), dtype=pl.String),
        "best_fit": acc.best_fit,
        "mrr_start": billing.mrr_start,
        "mrr_end": billing.mrr_end,
    }).write_csv(truth_dir / "accounts.csv")

    users, mem = world.users, world.members
    second = np.full(users.n, -1, dtype=np.int64)
    secondary = np.arange(len(mem.user)) >= users.n
    second[mem.user[secondary]] = mem.account[secondary]
    pl.DataFrame({
        "user_id": users.ids,
        "account_id": _gather(acc.ids, mem.account[: users.n]),
        "second_account_id": pl.Series([acc.ids[int(a)] if a >= 0 else None for a in second], dtype=pl.String),
        "email": users.truth["email"],
        "first_name": users.truth["first_name"],
        "last_name": users.truth["last_name"],
        "title": users.truth["title"],
        "country": users.truth["country"],
        "phone": users.truth["phone"],
        "anonymous_id": pl.Series([a or None for a in users.anon_ids.to_list()], dtype=pl.String),
        "first_seen_date": [(world.start + dt.timedelta(days=int(x))).isoformat() for x in users.first_day],
    }).write_csv(truth_dir / "users.csv")
    (truth_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_billing(billing_dir: Path, billing: _Billing) -> None:
    billing_dir.mkdir(parents=True, exist_ok=True)
    rows = sorted(billing.rows, key=lambda r: (r[0], r[1]))
    pl.DataFrame(rows, schema=["account_id", "date", "plan", "mrr", "status"], orient="row").write_csv(billing_dir / "billing.csv")


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def _check_inputs(landing: Path, start: dt.date, days: int, accounts: int, faults: FaultRates,
                  events_per_user_day: float, files_per_day: int, others: dict[str, Path | None]) -> None:
    if isinstance(start, dt.datetime) or not isinstance(start, dt.date):
        raise TypeError(f"start must be a datetime.date, got {start!r}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if accounts < 1:
        raise ValueError(f"accounts must be at least 1, got {accounts}")
    if files_per_day < 1:
        raise ValueError(f"files_per_day must be at least 1, got {files_per_day}")
    if not events_per_user_day > 0:
        raise ValueError(f"events_per_user_day must be positive, got {events_per_user_day}")
    for name, value in asdict(faults).items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"FaultRates.{name} must be between 0 and 1, got {value}")
    resolved = landing.resolve()
    for name, path in others.items():
        if path is not None and path.resolve().is_relative_to(resolved):
            raise ValueError(f"{name} {path} is inside the landing folder {landing}: only event files belong there")


def generate_demo(
    landing: Path,
    start: dt.date,
    days: int,
    accounts: int = 250,
    seed: int = 42,
    billing_dir: Path | None = None,
    truth_dir: Path | None = None,
    faults: FaultRates = FaultRates(),
    events_per_user_day: float = 6.0,
    files_per_day: int = 2,
) -> GenerationSummary:
    """Write `days` days of Segment messages from `start` into `landing`, plus ground truth (and billing).

    Layout: `<landing>/<YYYY-MM-DD>/events-000.jsonl.gz ...` (`files_per_day` gzip files per UTC received
    day, lines ordered by receivedAt, then an empty `_SUCCESS`); `<truth_dir>/accounts.csv`, `users.csv`,
    `summary.json` (truth_dir defaults to `landing.parent / "ground_truth"`); `<billing_dir>/billing.csv`
    when billing_dir is given. Output files are byte-identical for the same arguments.

    What a parser must expect: group traits.employees is a string in about half the calls and a number
    otherwise; about 20% of identify calls use snake_case traits (first_name, last_name, created_at); about
    15% of track/page calls have no context.groupId (never those of users who work in two accounts); 10%
    of devices have a skewed clock (originalTimestamp and sentAt shifted alike, receivedAt true); 5% of
    track/identify calls come from a server library and carry `timestamp`; anonymous calls carry only
    anonymousId until an identify with both ids links them; late track events land 1-3 days after they
    happened; a duplicate repeats a line byte for byte in the same or the next folder (so one in the next
    folder carries the previous day's receivedAt); garbage lines of nine kinds (summary.json
    `malformed_by_kind`) are mixed in.
    """
    landing = Path(landing)
    truth_dir = Path(truth_dir) if truth_dir is not None else landing.parent / "ground_truth"
    billing_dir = Path(billing_dir) if billing_dir is not None else None
    _check_inputs(landing, start, days, accounts, faults, events_per_user_day, files_per_day,
                  {"truth_dir": truth_dir, "billing_dir": billing_dir})

    world = _build_world(seed, start, days, accounts, faults, events_per_user_day)
    acc, mem = world.accounts, world.members
    state = _DayState(
        identified=np.zeros(world.users.n, dtype=bool),
        last_group=np.full(len(mem.user), -_NEVER, dtype=np.int64),
        seats=np.zeros(acc.n, dtype=np.int64),
    )
    np.add.at(state.seats, mem.account[mem.join_day < 0], 1)
    join_order = np.argsort(mem.join_day, kind="stable")
    gone = np.flatnonzero(mem.removed)
    gone = gone[np.argsort(mem.end_day[gone], kind="stable")]
    billing = _Billing()
    tally = _Tally()
    pending: dict[int, list[pl.DataFrame]] = {}
    landing.mkdir(parents=True, exist_ok=True)

    writing: Future[None] | None = None
    with ThreadPoolExecutor(max_workers=1) as writer:
        for d in range(days):
            lo, hi = np.searchsorted(mem.join_day[join_order], [d, d + 1])
            np.add.at(state.seats, mem.account[join_order[lo:hi]], 1)
            lo, hi = np.searchsorted(mem.end_day[gone], [d, d + 1])
            np.add.at(state.seats, mem.account[gone[lo:hi]], -1)
            plan, status = _plan_status(acc, d)
            _record_billing(world, d, plan, status, _mrr(plan, status, state.seats), billing)

            frames = _simulate_day(world, d, state, plan, status)
            lines = _finish_day(world, d, frames, pending, tally)
            if writing is not None:
                writing.result()  # at most one day waits to be compressed: memory stays bounded
            folder = landing / (start + dt.timedelta(days=d)).isoformat()
            writing = writer.submit(_write_day_files, folder, lines, files_per_day)
            tally.files += files_per_day
        if writing is not None:
            writing.result()

    summary = GenerationSummary(
        days=days, accounts=acc.n, users=world.users.n, messages=tally.messages, track_events=tally.track_events,
        duplicates=tally.duplicates, late=tally.late, malformed=tally.malformed, lines=tally.lines,
        files=tally.files, landing=landing, truth_dir=truth_dir, billing_dir=billing_dir,
    )
    report = {
        **{k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(summary).items()},
        "seed": seed,
        "start": start.isoformat(),
        "end": (start + dt.timedelta(days=days - 1)).isoformat(),
        "memberships": int(len(mem.user)),
        "distinct_messages": tally.messages - tally.duplicates,
        "messages_by_type": tally.by_type,
        "malformed_by_kind": tally.malformed_by_kind,
        "faults": asdict(faults),
        "events_per_user_day": events_per_user_day,
        "files_per_day": files_per_day,
        "event_weights": EVENT_WEIGHTS,
        "event_frequencies": {name: freq for name, _, freq in _EVENT_CATALOG},
        "activation_events": list(ACTIVATION_EVENTS),
        "best_fit_segment": {"industry": world.segment[0], "employee_band": world.segment[1]},
        "trajectories": {name: int((acc.kind == k).sum()) for k, name in enumerate(TRAJECTORIES)},
    }
    _write_truth(world, truth_dir, billing, report)
    if billing_dir is not None:
        _write_billing(billing_dir, billing)
    return summary
