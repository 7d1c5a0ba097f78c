"""Realistic, document-consistent surrogates for PHI strings (Faker-based).

One `DocumentSurrogates` object serves one note: the same real string always
maps to the same surrogate inside the note, name parts are mapped token by
token (so "Mr. Smith", "John Smith", "Smith, John" and "J. Smith" stay one
person), every date is shifted by one per-note offset in its own format, the
counts of relative dates ("3 days later") move by one per-note factor, ages
over 89 become "90+" (HIPAA Safe Harbor), IDs, phone numbers and ZIP codes keep
their shape, and no surrogate equals its original, except a relative date
without a count ("the next day"), which is kept.
"""

import datetime
import re
import string
from functools import cache
from random import Random
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

from faker import Faker

from . import labels as L
from .dates import parse_date, render_date, shift_date
from .intervals import interval_factor, move_counts
from .phi.patterns import is_relative_date

TITLES = {
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "dr",
    "prof",
    "sir",
    "madam",
    "rev",
    "sr",
    "sra",
}
NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "md", "do", "phd", "rn", "np", "pa", "pa-c", "dds"}
FACILITY_WORDS = (
    "Medical Center",
    "Hospital",
    "Clinic",
    "Health Center",
    "Healthcare",
    "Health System",
    "Infirmary",
    "Rehabilitation Center",
    "Rehab",
    "Nursing Home",
    "Hospice",
    "Medical Group",
    "Memorial",
    "Health",
    "Center",
)
DEPARTMENTS = (
    "Cardiology",
    "Emergency Department",
    "Internal Medicine",
    "Oncology",
    "Neurology",
    "Orthopedics",
    "Radiology",
    "Pulmonology",
    "Nephrology",
    "Gastroenterology",
    "Endocrinology",
    "Surgery",
    "Pediatrics",
    "Psychiatry",
    "Dermatology",
    "Urology",
    "Obstetrics",
    "Infectious Disease",
    "Rheumatology",
    "Hematology",
)
_MAX_TRIES = 50
# An intersection ("the corner of Elm Road and Oak Lane"): what comes before its streets.
_CORNER = re.compile(r"(?i)((?:the |a )?corner of )\S.*\s(?:and|&)\s+\S")
_TOKEN = re.compile(r"\S+")


def _contained_dates(dates: Iterable[str]) -> Optional["re.Pattern[str]"]:
    """A pattern finding one of the note's original dates inside a longer string, as a whole word.

    A shifted "12/12/2014" must not carry the note's original "12/12". Each date string counts, and
    so do its words, if they hold a digit and something else ("march 14", "12/12" of "12/12 10:00");
    not times, which a shift keeps, nor bare numbers (years, days), which collide by chance.
    """
    found = set()
    for date in dates:
        for part in (date, *date.split()):
            part = part.strip(" ,.").lower()
            if any(c.isdigit() for c in part) and not part.isdigit() and ":" not in part:
                found.add(part)
    if not found:
        return None
    alternatives = "|".join(map(re.escape, sorted(found, key=len, reverse=True)))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def like_case(template: str, text: str) -> str:
    """Write `text` in the letter case of `template` (UPPER, lower or Title)."""
    letters = [c for c in template if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return text.upper()
    if letters and all(c.islower() for c in letters):
        return text.lower()
    return text[:1].upper() + text[1:] if template[:1].isupper() else text


def reshape(original: str, rng: Random) -> str:
    """Replace every digit and letter of `original` by a random one of the same class.

    Punctuation, spaces and letter case are kept, and a leading non-zero digit
    stays non-zero, so "MRN-00482913" keeps its shape and "(617) 555-0192"
    still reads as a phone number.
    """
    out = []
    for i, char in enumerate(original):
        if char.isdigit():
            first_digit = not any(c.isdigit() for c in original[:i])
            low = 2 if first_digit and char not in "01" else 0
            out.append(str(rng.randint(low, 9)))
        elif char in string.ascii_uppercase:
            out.append(rng.choice(string.ascii_uppercase))
        elif char in string.ascii_lowercase:
            out.append(rng.choice(string.ascii_lowercase))
        else:
            out.append(char)
    return "".join(out)


def parse_age(text: str) -> Optional[int]:
    """Return the first number written in an age string, or None."""
    match = re.search(r"\d+", text)
    return int(match.group()) if match else None


def group_age(text: str, jitter: int, rng: Random) -> Optional[str]:
    """Surrogate for an age: "90+" above 89, else the number moved by 1..`jitter` years.

    RETURNS (Optional[str]): None if the string holds no number and no "ninety"/"hundred".
    """
    match = re.search(r"\d+", text)
    if match is None:
        if re.search(r"ninety|hundred", text, re.IGNORECASE):
            return "90+"
        return None
    age = int(match.group())
    if age > 89:
        new = "90+"
    else:
        options = [a for a in range(max(0, age - jitter), min(89, age + jitter) + 1) if a != age]
        new = str(rng.choice(options)) if options else "90+"
    return text[: match.start()] + new + text[match.end() :]


class DocumentSurrogates:
    """Replace the PHI strings of one document consistently.

    faker (Faker): A Faker instance; it is re-seeded with `seed`.
    seed (int): The per-document seed.
    date_shift (Tuple[int, int]): Smallest and largest absolute shift in days.
    age_jitter (int): Largest change of an age under 90 in years.
    categories (Optional[Dict[str, str]]): Label -> surrogate category overrides.
    forbidden (Iterable[str]): The document's original PHI strings; no surrogate
        (or name part) may equal one of them.
    dates (Sequence[str]): The document's date strings: the date offset is drawn
        so that no shifted date equals an original PHI string of the document.
    """

    def __init__(
        self,
        faker: Faker,
        seed: int,
        *,
        date_shift: Tuple[int, int] = (30, 365),
        age_jitter: int = 2,
        categories: Optional[Dict[str, str]] = None,
        forbidden: Iterable[str] = (),
        dates: Sequence[str] = (),
    ):
        self.faker = faker
        self.faker.seed_instance(seed)
        self.rng = Random(seed)
        self.age_jitter = age_jitter
        self.categories = categories or {}
        self.forbidden: Set[str] = set()
        self.avoid(forbidden)
        self._original_dates = _contained_dates(dates)
        self.date_offset = self._choose_offset(date_shift, dates)
        self._factor: Optional[float] = None
        self._cache: Dict[Tuple[str, str], str] = {}
        self._name_parts: Dict[str, str] = {}
        self._first_names: Set[str] = set()
        self._last_names: Set[str] = set()
        locales = tuple(faker.locales)
        self._male_names = _given_names(locales, "first_names_male")
        self._female_names = _given_names(locales, "first_names_female")
        self._given_names = _given_names(locales, "first_names")
        self._used: Set[str] = set()
        self.counts: Dict[str, int] = {}

    def _choose_offset(self, date_shift: Tuple[int, int], dates: Sequence[str]) -> int:
        """A day offset under which no shifted date reads like one of the note's originals.

        A bare month or weekday is left out of the check: it is one of 12 (or 7) values, so a note
        naming several months may have no offset that avoids them all, and it identifies no one.
        """
        low, high = date_shift
        # Parsed once here, not once per try (shift_date would parse again for every offset).
        parsed = [p for p in map(parse_date, dates) if p is not None and p.kind not in ("mon", "wd")]
        offset = 0
        for _ in range(_MAX_TRIES):
            offset = self.rng.randint(low, high) * self.rng.choice((-1, 1))
            shifted = (render_date(p, p.value + datetime.timedelta(days=offset)) for p in parsed)
            if not any(self._reads_like_original(x) for x in shifted):
                break
        return offset

    def _reads_like_original(self, value: str) -> bool:
        """Whether `value` is an original PHI string of the note or carries an original date as a word."""
        lowered = value.lower()
        return lowered in self.forbidden or bool(
            self._original_dates and self._original_dates.search(lowered)
        )

    # -- public API ---------------------------------------------------------
    def avoid(self, texts: Iterable[str]) -> None:
        """Never draw these strings (or their words) as surrogates: originals, or
        surrogates another component already wrote into the note."""
        for text in texts:
            self.forbidden.add(text.lower())
            self.forbidden.update(tok.lower().strip(",.") for tok in text.split())

    def observe_names(self, mentions: Sequence[str]) -> None:
        """Learn which name parts are first names from multi-word mentions.

        Call it with every name mention of the note before `replace`, so that a
        lone "Smith" seen before "John Smith" is still treated as a surname.
        """
        for mention in mentions:
            parts = _name_parts(mention)
            names = [tok.strip(",.").lower() for _, tok, kind in parts if kind == "name"]
            if len(names) < 2:
                continue
            index = _first_name_index(parts, self._first_names)
            given = parts[index][1].strip(",.").lower()
            self._first_names.add(given)
            self._last_names.update(n for n in names if n != given)

    def category(self, label: str) -> str:
        """The surrogate category of `label` (see `spacy_synthnotes.labels`)."""
        return L.surrogate_category(label, self.categories)

    def replace(self, text: str, label: str) -> str:
        """Return the surrogate of the PHI string `text` labelled `label`."""
        category = self.category(label)
        key = (category, _normalize(text))
        if key not in self._cache:
            self._cache[key] = self._make(text, category)
        return self._cache[key]

    # -- per category ---------------------------------------------------------
    def _make(self, text: str, category: str) -> str:
        makers: Dict[str, Callable[[str], str]] = {
            L.NAME: self._name,
            L.DATE: self._date,
            L.AGE: self._age,
            L.ID: self._reshape,
            L.PHONE: self._reshape,
            L.ZIP: self._reshape,
            L.EMAIL: self._email,
            L.URL: self._url,
            L.IP: self._ip,
            L.STREET: self._street,
            L.CITY: lambda t: self._draw(t, self.faker.city),
            L.STATE: self._state,
            L.COUNTRY: lambda t: self._draw(t, self.faker.country),
            L.FACILITY: self._facility,
            L.ORGANIZATION: lambda t: self._draw(t, self.faker.company),
            L.DEPARTMENT: lambda t: self._draw(t, lambda: self.rng.choice(DEPARTMENTS)),
            L.PROFESSION: lambda t: self._draw(t, self.faker.job),
            L.USERNAME: lambda t: self._draw(t, self.faker.user_name),
            L.LOCATION: lambda t: self._draw(t, self.faker.city),
        }
        return makers[category](text)

    def _draw(self, original: str, make: Callable[[], str], keep_case: bool = True) -> str:
        """Draw from `make` until the value differs from every original PHI string and carries no
        original date as a word (a random "10/15/2017" for a note that wrote "10/15")."""
        value = make()
        for _ in range(_MAX_TRIES):
            if not self._reads_like_original(value) and value.lower() != original.lower():
                break
            value = make()
        else:
            raise RuntimeError(f"Could not draw a surrogate different from {original!r}")
        return like_case(original, value) if keep_case else value

    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def _reshape(self, original: str) -> str:
        if not any(c.isdigit() or c in string.ascii_letters for c in original):
            return self._draw(original, lambda: self.faker.bothify("#######"))
        return self._draw(original, lambda: reshape(original, self.rng), keep_case=False)

    def _street(self, original: str) -> str:
        """A street address; for an intersection, two street names at a corner."""
        corner = _CORNER.match(original)
        if corner is None:
            return self._draw(original, self.faker.street_address)
        prefix = corner.group(1)
        streets = self.faker.street_name
        return self._draw(original, lambda: f"{prefix}{streets()} and {streets()}")

    def _date(self, original: str) -> str:
        shifted = shift_date(original, self.date_offset)
        if shifted is not None and shifted != original:
            return shifted
        if shifted == original:
            # Only a year is written and the shift kept it: years are not PHI
            # under Safe Harbor, but a changed surrogate is the promise here.
            years = self.rng.choice((-1, 1)) * self.rng.randint(1, 2)
            self._count("year_only_dates")
            return shift_date(original, self.date_offset + 365 * years) or original
        if is_relative_date(original):
            # A relative date ("3 days later"): its counts move, one factor for the whole note.
            self._count("relative_dates")
            return move_counts(original, self._interval_factor())
        self._count("unparsed_dates")

        def make() -> str:
            date = datetime.date(2000, 1, 1) + datetime.timedelta(days=self.rng.randint(0, 7670))
            return date.strftime("%m/%d/%Y")

        return self._draw(original, make, keep_case=False)

    def _interval_factor(self) -> float:
        """The note's factor for relative dates, drawn when the first one is replaced."""
        if self._factor is None:
            self._factor = interval_factor(self.rng)
        return self._factor

    def _age(self, original: str) -> str:
        grouped = group_age(original, self.age_jitter, self.rng)
        if grouped is None:
            self._count("unparsed_ages")
            return self._draw(original, lambda: str(self.rng.randint(20, 89)), keep_case=False)
        return grouped

    def _email(self, original: str) -> str:
        def make() -> str:
            return f"{self.faker.user_name()}@{self.faker.free_email_domain()}"

        return self._draw(original, make)

    def _url(self, original: str) -> str:
        if re.match(r"https?://", original, re.IGNORECASE):
            return self._draw(original, self.faker.url)
        return self._draw(original, lambda: f"www.{self.faker.domain_name()}")

    def _ip(self, original: str) -> str:
        make = self.faker.ipv6 if ":" in original else self.faker.ipv4
        return self._draw(original, make)

    def _state(self, original: str) -> str:
        short = len(original.strip(".")) <= 2
        make = getattr(self.faker, "state_abbr" if short else "state", None)
        if make is None:
            return self._draw(original, self.faker.city)
        return self._draw(original, make)

    def _facility(self, original: str) -> str:
        suffix = next(
            (w for w in FACILITY_WORDS if original.lower().endswith(w.lower())),
            self.rng.choice(FACILITY_WORDS[:4]),
        )
        if original.isupper():
            suffix = suffix.upper()
        elif original.lower().endswith(suffix.lower()):
            suffix = original[len(original) - len(suffix) :]
        return self._draw(
            original,
            lambda: f"{self.rng.choice((self.faker.last_name, self.faker.city))()} {suffix}",
            keep_case=False,
        )

    # -- names ------------------------------------------------------------------
    def _name(self, original: str) -> str:
        parts = _name_parts(original)
        if not parts:
            return self._draw(original, self.faker.last_name)
        out = []
        cursor = 0
        first_index = _first_name_index(parts, self._lone_given_names())
        for i, (start, token, kind) in enumerate(parts):
            out.append(original[cursor:start])
            out.append(self._name_token(token, kind, i == first_index))
            cursor = start + len(token)
        out.append(original[cursor:])
        return "".join(out)

    def _lone_given_names(self) -> Set[str]:
        """Names that a lone name token is read as a given name for."""
        return self._first_names | (self._given_names - self._last_names)

    def _name_token(self, token: str, kind: str, is_first: bool) -> str:
        if kind == "keep":
            return token
        core = token.strip(",.")
        lead = token[: token.index(core)] if core else ""
        trail = token[len(lead) + len(core) :]
        if kind == "initial":
            return lead + self._initial(core) + trail
        key = core.lower()
        if key not in self._name_parts:
            make = (
                self._given_name_maker(key) if is_first or key in self._first_names else self.faker.last_name
            )
            value = self._draw(core, make)
            for _ in range(_MAX_TRIES):
                if value.lower() not in self._used:
                    break
                value = self._draw(core, make)
            self._used.add(value.lower())
            self._name_parts[key] = value
        return lead + like_case(core, self._name_parts[key]) + trail

    def _given_name_maker(self, name: str) -> Callable[[], str]:
        """Draw given names of the same gender as `name` where the locale tells it."""
        if name in self._male_names and name not in self._female_names:
            return self.faker.first_name_male
        if name in self._female_names and name not in self._male_names:
            return self.faker.first_name_female
        return self.faker.first_name

    def _initial(self, letter: str) -> str:
        for original, surrogate in self._name_parts.items():
            if original in self._first_names and original[:1] == letter.lower():
                return like_case(letter, surrogate[:1])
        choices = [c for c in string.ascii_uppercase if c != letter.upper()]
        key = "initial:" + letter.lower()
        if key not in self._name_parts:
            self._name_parts[key] = self.rng.choice(choices)
        return like_case(letter, self._name_parts[key])


@cache
def _given_names(locales: Tuple[str, ...], attribute: str) -> FrozenSet[str]:
    """A list of given names of the Faker locales, lower-cased (empty if they have none)."""
    for provider in Faker(list(locales)).get_providers():
        names = getattr(provider, attribute, None)
        if names:
            return frozenset(name.lower() for name in names)
    return frozenset()


def _normalize(text: str) -> str:
    return " ".join(text.lower().split())


def _name_parts(text: str) -> List[Tuple[int, str, str]]:
    """Split a name mention into (offset, token, kind); kind is name/initial/keep."""
    parts = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        core = token.strip(",.").lower()
        if not core:
            continue
        if core in TITLES or core in NAME_SUFFIXES:
            kind = "keep"
        elif len(core) == 1 and core.isalpha():
            kind = "initial"
        elif not any(c.isalpha() for c in core):
            kind = "keep"
        else:
            kind = "name"
        parts.append((match.start(), token, kind))
    return parts


def _first_name_index(parts: List[Tuple[int, str, str]], known_first: Set[str]) -> int:
    """Index of the given-name token of a mention, or -1 if it has none."""
    names = [i for i, (_, _, kind) in enumerate(parts) if kind == "name"]
    if not names:
        return -1
    has_title = any(kind == "keep" and tok.strip(",.").lower() in TITLES for _, tok, kind in parts)
    if len(names) == 1:
        token = parts[names[0]][1].strip(",.").lower()
        return names[0] if token in known_first and not has_title else -1
    if parts[names[0]][1].endswith(","):
        # "Smith, John": surname first.
        return names[1]
    return names[0]
