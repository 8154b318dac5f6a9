"""The world Inkwell sells into, geographically: countries, their cities, phone numbering and people's names.

Static tables, no randomness. Accounts pick a country by `COUNTRY_WEIGHTS` and a city inside it
(`CITY_START`/`CITY_COUNT` index `CITIES`); users draw their names from their account's country.
`slug` folds those (often accented) names to ASCII for e-mail local parts and company domains.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import numpy as np


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


# Pure data: one country per block, cities and names laid out as rows (not left to the formatter).
# fmt: off
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
# fmt: on
CITIES: tuple[tuple[int, City], ...] = tuple((ci, city) for ci, c in enumerate(COUNTRIES) for city in c.cities)
CITY_START = np.cumsum([0] + [len(c.cities) for c in COUNTRIES])[:-1]
CITY_COUNT = np.array([len(c.cities) for c in COUNTRIES])
CITY_TZ = np.array([city.tz for _, city in CITIES])
COUNTRY_WEIGHTS = np.array([c.weight for c in COUNTRIES]) / sum(c.weight for c in COUNTRIES)

_FOLD_SPECIAL = str.maketrans(
    {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "đ": "d"}
)


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
