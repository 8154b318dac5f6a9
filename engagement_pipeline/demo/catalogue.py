"""The simulated product and the world it sells into: static catalogues, no randomness.

Inkwell, a collaborative-documents B2B SaaS: its events (with suggested scoring weights and how
often each occurs), trajectories, plans and prices, message types, pages and client libraries;
the industries, company-name words, employee bands, job titles and countries (cities, phone
numbering, people's names) that accounts and users are drawn from; and the string helper that
turns names into e-mail local parts and domains.

The tuples `TRAJECTORIES`, `PLANS`, `STATUSES` and `MESSAGE_TYPES` are indexed by the integer
codes defined next to them: the simulation keeps codes in numpy arrays and looks the strings up
only when it writes.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import numpy as np

from engagement_pipeline.core.vocab import MessageType, Plan, Status

# (event name, suggested scoring weight 1..10, relative frequency in an account's event mix).
# Frequencies fall as weights rise; "Logged In" is also sent at the start of most sessions and
# "Teammate Invited" / the checklist events are additionally injected by the simulation.
EVENT_CATALOG: tuple[tuple[str, int, float], ...] = (
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
EVENT_NAMES: tuple[str, ...] = tuple(e[0] for e in EVENT_CATALOG)
EVENT_WEIGHTS: dict[str, int] = {name: weight for name, weight, _ in EVENT_CATALOG}
EVENT_CODE: dict[str, int] = {name: i for i, name in enumerate(EVENT_NAMES)}
ACTIVATION_EVENTS: tuple[str, ...] = ("Document Created", "Teammate Invited", "Integration Connected", "Document Shared")
# Features an account may simply never adopt (feature-adoption gaps downstream).
OPTIONAL_FEATURES = ("File Uploaded", "Comment Added", "Document Shared", "Report Exported", "Integration Connected")

TRAJECTORIES: tuple[str, ...] = (
    "steady",
    "growing",
    "declining",
    "churning",
    "trial_converting",
    "trial_not_converting",
    "onboarding",
)
STEADY, GROWING, DECLINING, CHURNING, TRIAL_CONV, TRIAL_NOT, ONBOARDING = range(7)
TRAJECTORY_MIX = np.array([0.30, 0.12, 0.12, 0.08, 0.12, 0.12, 0.14])
# Best-fit accounts grow, convert and stay much more often.
BEST_FIT_BONUS = np.array([1.0, 2.5, 0.3, 0.2, 2.0, 0.3, 1.0])
BEST_FIT_SHARE = 0.09
ESTABLISHED = (STEADY, GROWING, DECLINING, CHURNING)

PLANS: tuple[str, ...] = (Plan.FREE.value, Plan.TRIAL.value, "starter", "pro", "enterprise")
FREE, TRIAL, STARTER, PRO, ENTERPRISE = range(5)
SEAT_PRICE = np.array([0, 0, 12, 29, 49])  # monthly USD per billed seat
MIN_SEATS = np.array([0, 0, 1, 3, 20])
STATUSES: tuple[str, ...] = (Status.TRIAL.value, Status.ACTIVE.value, Status.CHURNED.value)
ST_TRIAL, ST_ACTIVE, ST_CHURNED = range(3)
# The `kind` of a landed line: MESSAGE_TYPES[kind] for a Segment message, MALFORMED for a garbage line.
MESSAGE_TYPES: tuple[str, ...] = (MessageType.TRACK, MessageType.PAGE, MessageType.IDENTIFY, MessageType.GROUP)
TRACK, PAGE, IDENTIFY, GROUP, MALFORMED = range(5)

INDUSTRIES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
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
NAME_WORDS: tuple[str, ...] = (
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
EMPLOYEE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("1-10", 1, 10),
    ("11-50", 11, 50),
    ("51-200", 51, 200),
    ("201-1000", 201, 1000),
    ("1001-5000", 1001, 5000),
    ("5001+", 5001, 20000),
)
# One of these becomes the best-fit segment, chosen by the seed.
BEST_FIT_CANDIDATES: tuple[tuple[str, str], ...] = (
    ("Software", "51-200"),
    ("Software", "11-50"),
    ("Financial Services", "201-1000"),
    ("Professional Services", "51-200"),
    ("Healthcare", "51-200"),
)

TITLES: tuple[str, ...] = (
    "Software Engineer", "Senior Engineer", "Engineering Manager", "Product Manager", "Designer", "Data Analyst",
    "Analyst", "Marketing Manager", "VP Marketing", "Head of Sales", "Account Executive", "Customer Success Manager",
    "Operations Manager", "HR Manager", "Content Writer", "Project Manager", "Finance Manager", "Office Manager",
)
FOUNDER_TITLES: tuple[str, ...] = ("CEO", "CTO", "Founder", "COO", "Head of Operations", "VP Engineering")
PROMOTION = {"Software Engineer": "Senior Engineer", "Senior Engineer": "Engineering Manager", "Analyst": "Data Analyst",
              "Marketing Manager": "VP Marketing", "Account Executive": "Head of Sales", "Designer": "Product Manager"}
NAME_PREFIXES = ("Dr.", "Mr.", "Ms.", "Mrs.")
NAME_SUFFIXES = ("Jr.", "Sr.", "III", "PhD", "MD")

USER_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
)
USER_AGENT_WEIGHTS = np.array([0.35, 0.30, 0.15, 0.08, 0.08, 0.04])
CLIENT_LIBRARY = '"library":{"name":"analytics.js","version":"4.1.0"}'
SERVER_LIBRARY = '"library":{"name":"analytics-python","version":"2.3.2"}'

APP_HOST = "https://app.inkwell.so"
SITE_HOST = "https://inkwell.so"
APP_PAGES: tuple[tuple[str, str, float], ...] = (
    ("Dashboard", "/dashboard", 0.30), ("Documents", "/documents", 0.25), ("Document", "/d/editor", 0.20),
    ("Settings", "/settings", 0.06), ("Templates", "/templates", 0.06), ("Integrations", "/settings/integrations", 0.04),
    ("Billing", "/settings/billing", 0.03), ("Docs", "/docs", 0.04), ("Pricing", "/pricing", 0.02),
)
SITE_PAGES: tuple[tuple[str, str, float], ...] = (
    ("Home", "/", 0.35), ("Pricing", "/pricing", 0.25), ("Docs", "/docs", 0.15), ("Customers", "/customers", 0.1),
    ("Sign Up", "/signup", 0.15),
)
WEEKDAY_FACTOR = np.array([1.0, 1.05, 1.05, 1.0, 0.85, 0.22, 0.18])  # Monday first

NEVER = 1 << 30  # a day index that never comes


@dataclass(frozen=True)
class City:
    name: str
    state: str
    postal: str  # pattern: '#' a digit, '@' an upper-case letter
    tz: float  # UTC offset in hours (no daylight saving: close enough for a diurnal profile)
    area: str  # landline area code (national significant number prefix)


@dataclass(frozen=True)
class Country:
    code: str
    weight: float
    calling: str
    trunk: str  # national trunk prefix ('' where none)
    nsn_digits: int  # length of a national significant number
    mobile: tuple[str, ...]  # mobile prefixes; '' means mobiles use the city's area code
    tld: str
    cities: tuple[City, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]


COUNTRIES: tuple[Country, ...] = (
    Country("US", 0.42, "1", "", 10, ("",), ".com", (
        City("San Francisco", "CA", "941##", -8, "415"), City("New York", "NY", "100##", -5, "212"),
        City("Austin", "TX", "787##", -6, "512"), City("Chicago", "IL", "606##", -6, "312"),
        City("Seattle", "WA", "981##", -8, "206"), City("Boston", "MA", "021##", -5, "617"),
        City("Denver", "CO", "802##", -7, "303"), City("Atlanta", "GA", "303##", -5, "404")),
        ("James", "Mary", "Michael", "Jennifer", "David", "Sarah", "Robert", "Emily", "Daniel", "Jessica", "Chris",
         "Ashley", "Kevin", "Megan", "Brian", "Lauren", "José", "María", "Zoë", "Chloé", "Tyler", "Hannah"),
        ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
         "Nguyen", "Kim", "Patel", "O'Brien", "Anderson", "Taylor", "Thomas", "Moore", "Müller", "Peña")),
    Country("GB", 0.12, "44", "0", 10, ("7",), ".co.uk", (
        City("London", "England", "EC1A #@@", 0, "20"), City("Manchester", "England", "M1 #@@", 0, "161"),
        City("Edinburgh", "Scotland", "EH1 #@@", 0, "131"), City("Bristol", "England", "BS1 #@@", 0, "117")),
        ("Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Jack", "Emily", "Noah", "Sophie", "Zoë", "Siobhán",
         "Rhys", "Niamh", "Łukasz"),
        ("Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas", "Roberts", "Walker", "Wright", "O'Connor",
         "Hughes", "Wójcik")),
    Country("DE", 0.08, "49", "0", 10, ("15", "17"), ".de", (
        City("Berlin", "Berlin", "10###", 1, "30"), City("München", "Bayern", "80###", 1, "89"),
        City("Hamburg", "Hamburg", "20###", 1, "40"), City("Köln", "Nordrhein-Westfalen", "50###", 1, "221")),
        ("Lukas", "Anna", "Jonas", "Lea", "Felix", "Marie", "Jürgen", "Sören", "Jörg", "Katharina", "Max", "Łukasz"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schäfer", "Koch", "Groß",
         "Hoffmann")),
    Country("FR", 0.06, "33", "0", 9, ("6", "7"), ".fr", (
        City("Paris", "Île-de-France", "75###", 1, "1"), City("Lyon", "Auvergne-Rhône-Alpes", "69###", 1, "4"),
        City("Bordeaux", "Nouvelle-Aquitaine", "33###", 1, "5"), City("Toulouse", "Occitanie", "31###", 1, "5")),
        ("Léa", "Chloé", "Hugo", "Louis", "Camille", "Élodie", "François", "Amélie", "Théo", "Manon", "Jérôme", "Noémie"),
        ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Lefèvre", "Moreau", "Fontaine",
         "Girard", "Rousseau")),
    Country("CA", 0.06, "1", "", 10, ("",), ".ca", (
        City("Toronto", "ON", "M5V #@#", -5, "416"), City("Vancouver", "BC", "V6B #@#", -8, "604"),
        City("Montréal", "QC", "H2X #@#", -5, "514"), City("Calgary", "AB", "T2P #@#", -7, "403")),
        ("Liam", "Olivia", "Émile", "Gabrielle", "Noah", "Chloé", "Ethan", "Maëlle", "Owen", "Zoë"),
        ("Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Smith", "Wilson", "MacDonald", "Lee", "Brown")),
    Country("AU", 0.05, "61", "0", 9, ("4",), ".com.au", (
        City("Sydney", "NSW", "20##", 10, "2"), City("Melbourne", "VIC", "30##", 10, "3"),
        City("Brisbane", "QLD", "40##", 10, "7")),
        ("Jack", "Charlotte", "William", "Olivia", "Lachlan", "Mia", "Cooper", "Matilda", "Zoë", "Liam"),
        ("Smith", "Jones", "Williams", "Brown", "Wilson", "Taylor", "Nguyen", "Kelly", "Ryan", "Murphy")),
    Country("NL", 0.04, "31", "0", 9, ("6",), ".nl", (
        City("Amsterdam", "Noord-Holland", "10## @@", 1, "20"), City("Rotterdam", "Zuid-Holland", "30## @@", 1, "10"),
        City("Utrecht", "Utrecht", "35## @@", 1, "30")),
        ("Daan", "Emma", "Sem", "Julia", "Lucas", "Tess", "Bram", "Sanne", "Jeroen", "Anouk"),
        ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser", "Smit", "Meijer", "de Boer")),
    Country("ES", 0.04, "34", "", 9, ("6",), ".es", (
        City("Madrid", "Madrid", "28###", 1, "91"), City("Barcelona", "Cataluña", "08###", 1, "93"),
        City("Valencia", "Comunidad Valenciana", "46###", 1, "96")),
        ("José", "María", "Lucía", "Javier", "Sofía", "Álvaro", "Martín", "Paula", "Íñigo", "Nerea"),
        ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Núñez")),
    Country("SE", 0.03, "46", "0", 9, ("70",), ".se", (
        City("Stockholm", "Stockholm", "11# ##", 1, "8"), City("Göteborg", "Västra Götaland", "41# ##", 1, "31"),
        City("Malmö", "Skåne", "21# ##", 1, "40")),
        ("Björn", "Åsa", "Erik", "Astrid", "Lars", "Ingrid", "Sören", "Maja", "Oskar", "Elin"),
        ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Söderberg",
         "Ångström")),
    Country("IN", 0.05, "91", "0", 10, ("9", "8"), ".in", (
        City("Bengaluru", "Karnataka", "560###", 5.5, "80"), City("Mumbai", "Maharashtra", "400###", 5.5, "22"),
        City("Pune", "Maharashtra", "411###", 5.5, "20")),
        ("Aarav", "Priya", "Rohan", "Ananya", "Vikram", "Sneha", "Arjun", "Kavya", "Rahul", "Diya"),
        ("Sharma", "Patel", "Iyer", "Reddy", "Gupta", "Nair", "Singh", "Kumar", "Menon", "Das")),
    Country("BR", 0.05, "55", "0", 10, ("",), ".com.br", (
        City("São Paulo", "SP", "01###-###", -3, "11"), City("Rio de Janeiro", "RJ", "20###-###", -3, "21"),
        City("Belo Horizonte", "MG", "30###-###", -3, "31")),
        ("João", "Ana", "Lucas", "Beatriz", "Gabriel", "Júlia", "Pedro", "Mariana", "Thiago", "Letícia"),
        ("Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Costa", "Conceição", "Gonçalves", "Araújo")),
)
CITIES: tuple[tuple[int, City], ...] = tuple((ci, city) for ci, c in enumerate(COUNTRIES) for city in c.cities)
CITY_START = np.cumsum([0] + [len(c.cities) for c in COUNTRIES])[:-1]
CITY_COUNT = np.array([len(c.cities) for c in COUNTRIES])
CITY_TZ = np.array([city.tz for _, city in CITIES])
COUNTRY_WEIGHTS = np.array([c.weight for c in COUNTRIES]) / sum(c.weight for c in COUNTRIES)

_FOLD_SPECIAL = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "đ": "d"})


def _ascii_fold(text: str) -> str:
    """'Łukasz Müller-Groß' -> 'Lukasz Muller-Gross' (accents dropped, special letters spelled out)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD_SPECIAL))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@functools.lru_cache(maxsize=65_536)
def slug(text: str, sep: str) -> str:
    """Lower-case ASCII letters and digits, other runs of characters replaced by `sep`."""
    out: list[str] = []
    for ch in _ascii_fold(text).lower():
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif sep and out and out[-1] != sep:
            out.append(sep)
    return "".join(out).strip(sep)

