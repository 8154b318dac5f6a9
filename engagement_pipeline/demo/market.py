"""The companies Inkwell sells to and the people in them: static tables, no randomness.

Industries (with their share of accounts and the words their company names end with), the words
company names start with, employee bands, the segments that may become the best fit, and job
titles (with founders' titles, promotions, name prefixes and suffixes).
"""

from __future__ import annotations

# Pure data tables, one row per line (not left to the formatter).
# fmt: off
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
# fmt: on
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

# fmt: off
TITLES: tuple[str, ...] = (
    "Software Engineer", "Senior Engineer", "Engineering Manager", "Product Manager", "Designer", "Data Analyst",
    "Analyst", "Marketing Manager", "VP Marketing", "Head of Sales", "Account Executive", "Customer Success Manager",
    "Operations Manager", "HR Manager", "Content Writer", "Project Manager", "Finance Manager", "Office Manager",
)
# fmt: on
FOUNDER_TITLES: tuple[str, ...] = ("CEO", "CTO", "Founder", "COO", "Head of Operations", "VP Engineering")
PROMOTION = {
    "Software Engineer": "Senior Engineer",
    "Senior Engineer": "Engineering Manager",
    "Analyst": "Data Analyst",
    "Marketing Manager": "VP Marketing",
    "Account Executive": "Head of Sales",
    "Designer": "Product Manager",
}
NAME_PREFIXES = ("Dr.", "Mr.", "Ms.", "Mrs.")
NAME_SUFFIXES = ("Jr.", "Sr.", "III", "PhD", "MD")
