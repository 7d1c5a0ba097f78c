"""Parse clinical date strings and shift them while keeping their written format.

Every supported shape is parsed into its fields plus a description of how each
field was written (zero padding, month name style, case, ordinal suffix), so a
shifted date is rendered back in the original format: "14-MAR-2021" stays
"DD-MON-YYYY", "March 3rd" stays "Month Dth". Shifting every date of a note by
the same number of days keeps the intervals between them.
"""

import calendar
import datetime
import re
from dataclasses import dataclass
from typing import Optional

MONTHS_FULL = [m.lower() for m in calendar.month_name[1:]]
MONTHS_ABBR = [m.lower() for m in calendar.month_abbr[1:]]
WEEKDAYS_FULL = [d.lower() for d in calendar.day_name]
WEEKDAYS_ABBR = [d.lower() for d in calendar.day_abbr]
# A leap year, so "Feb 29" without a year still parses.
REFERENCE_YEAR = 2000

_MON = r"(?P<mon>(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?)"
_WD = r"(?:(?P<wd>(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?)(?P<wdsep>,?\s+))?"
_ORD = r"(?P<ord>st|nd|rd|th)?"
# Ordered: the first pattern that matches at the start of the string wins.
_PATTERNS = [
    ("ymd", rf"{_WD}(?P<y>\d{{4}})(?P<s>[-/.])(?P<m>\d{{1,2}})(?P=s)(?P<d>\d{{1,2}})"),
    ("mdy", rf"{_WD}(?P<m>\d{{1,2}})(?P<s>[-/.])(?P<d>\d{{1,2}})(?P=s)(?P<y>\d{{4}}|\d{{2}})(?!\d)"),
    (
        "dmony",
        rf"{_WD}(?P<d>\d{{1,2}}){_ORD}(?P<s>[- ])(?:of\s+)?{_MON}(?P<s2>[- ]|,\s*)(?P<y>\d{{4}}|\d{{2}})(?!\d)",  # noqa: E501
    ),
    ("mondy", rf"{_WD}{_MON}(?P<s>\s+)(?P<d>\d{{1,2}}){_ORD}(?P<s2>,?\s*)(?P<y>\d{{4}})(?!\d)"),
    ("mony", rf"{_MON}(?P<s>,?\s+|-)(?P<y>\d{{4}})(?!\d)"),
    ("mond", rf"{_WD}{_MON}(?P<s>\s+)(?P<d>\d{{1,2}}){_ORD}(?!\d)"),
    ("dmon", rf"{_WD}(?P<d>\d{{1,2}}){_ORD}(?P<s>[- ])(?:of\s+)?{_MON}"),
    ("my", r"(?P<m>\d{1,2})(?P<s>/)(?P<y>\d{4})(?!\d)"),
    ("md", rf"{_WD}(?P<m>\d{{1,2}})(?P<s>[/-])(?P<d>\d{{1,2}})(?![\d/])"),
    ("mon", rf"{_MON}(?![a-z])"),
    ("y", r"(?P<y>(?:19|20)\d{2})(?!\d)"),
    ("theday", r"(?P<the>the\s+)(?P<d>\d{1,2})(?P<ord>st|nd|rd|th)"),
    ("wd", r"(?P<wd>(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?)"),
]
_COMPILED = [(name, re.compile(p, re.IGNORECASE)) for name, p in _PATTERNS]


@dataclass
class ParsedDate:
    """A date string split into its value and the way each field was written."""

    kind: str
    value: datetime.date
    match: "re.Match[str]"
    prefix: str
    rest: str
    has_year: bool
    day_first: bool = False


def _month_index(token: str) -> Optional[int]:
    word = token.lower().rstrip(".")
    for i, (full, abbr) in enumerate(zip(MONTHS_FULL, MONTHS_ABBR)):
        if word == full or word == abbr or (word == "sept" and abbr == "sep"):
            return i + 1
        if len(word) > 3 and full.startswith(word):
            return i + 1
    return None


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year <= 30 else 1900
    return year


def parse_date(text: str) -> Optional[ParsedDate]:
    """Parse a date string written in a common clinical format.

    text (str): The date as written, e.g. "3/14/2021", "14-MAR-2021", "Mar 14th".
        Leading words such as "on" and trailing times ("at 14:30") are kept aside
        and rendered back verbatim.
    RETURNS (Optional[ParsedDate]): None if no supported shape matches or the
        fields do not form a real calendar date.
    """
    stripped = text.strip()
    lead = text[: len(text) - len(text.lstrip())]
    for offset in _candidate_starts(stripped):
        body = stripped[offset:]
        for kind, pattern in _COMPILED:
            match = pattern.match(body)
            if match is None:
                continue
            parsed = _build(kind, match)
            if parsed is None:
                continue
            value, has_year, day_first = parsed
            return ParsedDate(
                kind=kind,
                value=value,
                match=match,
                prefix=lead + stripped[:offset],
                rest=body[match.end() :],
                has_year=has_year,
                day_first=day_first,
            )
    return None


def _candidate_starts(text: str):
    """Start positions to try: the string start, then after each leading word."""
    yield 0
    for match in re.finditer(r"\s+", text[:40]):
        yield match.end()


def _build(kind: str, match: "re.Match[str]"):
    groups = match.groupdict()
    if kind == "wd":
        # A bare weekday: anchor it to the reference week so it can shift.
        wd = _weekday_index(groups["wd"])
        if wd is None:
            return None
        return datetime.date(REFERENCE_YEAR, 1, 3) + datetime.timedelta(days=wd), False, False
    has_year = groups.get("y") is not None
    year = _year(groups["y"]) if has_year else REFERENCE_YEAR
    if groups.get("mon") is not None:
        month = _month_index(groups["mon"])
        if month is None:
            return None
    elif groups.get("m") is not None:
        month = int(groups["m"])
    else:
        month = 1
    day = int(groups["d"]) if groups.get("d") is not None else (15 if kind in ("mony", "my", "mon") else 1)
    if kind == "y":
        month, day = 7, 1
    day_first = False
    if kind in ("mdy", "md") and month > 12 and day <= 12:
        month, day, day_first = day, month, True
    try:
        value = datetime.date(year, month, day)
    except ValueError:
        return None
    if groups.get("wd") is not None and _weekday_index(groups["wd"]) is None:
        return None
    return value, has_year, day_first


def _weekday_index(token: str) -> Optional[int]:
    word = token.lower().rstrip(".")
    for i, (full, _abbr) in enumerate(zip(WEEKDAYS_FULL, WEEKDAYS_ABBR)):
        if word == full or full.startswith(word) and len(word) >= 3:
            return i
    return None


def _like_case(template: str, text: str) -> str:
    if template.isupper() and len(template) > 1:
        return text.upper()
    if template.islower():
        return text.lower()
    return text[:1].upper() + text[1:].lower()


def _render_month_name(template: str, month: int) -> str:
    bare = template.rstrip(".")
    dot = "." if template.endswith(".") else ""
    full = calendar.month_name[month]
    if bare.lower() in MONTHS_FULL:
        word = full
    elif bare.lower() == "sept":
        word = "Sept" if month == 9 else calendar.month_abbr[month]
    else:
        word = calendar.month_abbr[month]
    if word == full:
        dot = ""
    return _like_case(bare, word) + dot


def _render_weekday(template: str, value: datetime.date) -> str:
    bare = template.rstrip(".")
    dot = "." if template.endswith(".") else ""
    wd = value.weekday()
    word = calendar.day_name[wd] if bare.lower() in WEEKDAYS_FULL else calendar.day_abbr[wd]
    return _like_case(bare, word) + dot


def ordinal_suffix(day: int, template: str) -> str:
    """The ordinal suffix of `day` ("st", "nd", "rd", "th"), upper case if `template` is."""
    if 11 <= day % 100 <= 13:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return suffix.upper() if template.isupper() else suffix


def _pad(template: str, number: int) -> str:
    return str(number).zfill(len(template)) if template.startswith("0") else str(number)


def render_date(parsed: ParsedDate, value: datetime.date) -> str:
    """Write `value` in the format `parsed` was written in."""
    match = parsed.match
    groups = match.groupdict()
    month, day = value.month, value.day
    out = []
    cursor = 0
    # Replace each named field in place, keep every other character verbatim.
    fields = sorted(
        (match.start(name), match.end(name), name)
        for name, val in groups.items()
        if val is not None and name in ("y", "m", "d", "mon", "ord", "wd")
    )
    for start, end, name in fields:
        out.append(match.string[cursor:start])
        original = groups[name]
        if name == "y":
            year = value.year
            out.append(str(year)[-2:] if len(original) == 2 else str(year))
        elif name == "m":
            out.append(_pad(original, day if parsed.day_first else month))
        elif name == "d":
            out.append(_pad(original, month if parsed.day_first else day))
        elif name == "mon":
            out.append(_render_month_name(original, month))
        elif name == "ord":
            out.append(ordinal_suffix(day, original))
        elif name == "wd":
            out.append(_render_weekday(original, value))
        cursor = end
    out.append(match.string[cursor : match.end()])
    return parsed.prefix + "".join(out) + parsed.rest


def shift_date(text: str, days: int) -> Optional[str]:
    """Shift a date string by `days`, keeping its written format.

    text (str): The date as written.
    days (int): The offset in days (the same for every date of a note).
    RETURNS (Optional[str]): The shifted date, or None if `text` is not a
        date this module can parse.
    """
    parsed = parse_date(text)
    if parsed is None:
        return None
    return render_date(parsed, parsed.value + datetime.timedelta(days=days))
