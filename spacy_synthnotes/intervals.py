"""Relative dates: "3 days later", "postoperative day 9", "two weeks after", "the second day".

They are not identifiers under HIPAA Safe Harbor (they name no calendar date) and `synth_phi` leaves
them alone unless `relative_dates` is on, for a stricter de-identification (an interval next to a
known admission date does narrow the dates down). This module holds what their detection and their
surrogates share: the number words and time units they are written with, and `move_counts`, which
moves every count of one expression by one per-note factor, keeping how each count was written.
"""

import re
from random import Random
from typing import List, Optional, Tuple

from .dates import ordinal_suffix

CARDINALS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
ORDINALS = (
    "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
    "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
).split()
# Regex pieces for patterns.py: a cardinal written as a word ("five", "forty-five"), an ordinal
# ("second", "5th"), a time unit and a part of the day.
_TENS, _UNITS = "|".join(TENS), "|".join(CARDINALS[1:10])
CARDINAL_WORD = rf"(?:(?:{_TENS})(?:[- ](?:{_UNITS}))?|{'|'.join(CARDINALS[1:])})"
ORDINAL_WORD = rf"(?:{'|'.join(ORDINALS[1:])})"
ORDINAL = rf"(?:{ORDINAL_WORD}|\d+(?:st|nd|rd|th))"
TIME_UNIT = r"(?:minutes?|mins?|hours?|hrs?|h|days?|weeks?|wks?|months?|mos?|years?|yrs?|decades?)"
PART_OF_DAY = r"(?:morning|afternoon|evening|night)"

# Each count moves by 10-25% of its value, and by at least one.
SMALLEST_MOVE, LARGEST_MOVE = 0.10, 0.25

# Units written out in full, in the singular.
_FULL_UNIT = "minute|hour|day|week|month|year|decade"
# A cardinal count and the unit after it, to make the unit agree with a moved count ("1 week" -> "2 weeks").
_COUNTED_UNIT = re.compile(
    r"(?i)(?<![\w.])(?P<count>\d+(?:\.\d+)?|[a-z]+(?:-[a-z]+)?)(?P<space>\s+)"
    rf"(?P<unit>{_FULL_UNIT}|cycle|course)s?\b"
)
# A count: digits, with an ordinal suffix or not ("9", "1.5", "5th"), a number word ("two", "second"),
# or "a"/"an" right before a unit ("a year later").
_COUNT = re.compile(
    r"(?<![\w.])(?:(?P<digits>\d+(?:\.\d+)?)(?P<suffix>st|nd|rd|th)?"
    rf"|(?P<word>(?i:{ORDINAL_WORD}|{CARDINAL_WORD}|an?(?=\s+(?:{_FULL_UNIT})\b))))"
    r"(?![^\W\d_])"
)


def interval_factor(rng: Random) -> float:
    """A per-note factor for `move_counts`: 0.75-0.90 or 1.10-1.25."""
    return 1 + rng.choice((-1, 1)) * rng.uniform(SMALLEST_MOVE, LARGEST_MOVE)


def move_counts(text: str, factor: float) -> str:
    """The relative date `text` with each count multiplied by `factor` (and moved by at least one),
    written as before: digits stay digits ("3 days later" -> "4 days later"), words stay words
    ("two weeks after" -> "three weeks after", "a year later" -> "two years later"), ordinals stay
    ordinals ("5th day" -> "6th day").

    text (str): A relative date (`spacy_synthnotes.phi.patterns.is_relative_date` tells).
    factor (float): The note's factor (see `interval_factor`), not 1.
    RETURNS (str): The moved expression; `text` itself if it has no count ("the next day").
    """
    out: List[str] = []
    cursor = 0
    for match in _COUNT.finditer(text):
        out.append(text[cursor : match.start()])
        out.append(_move(match, factor))
        cursor = match.end()
    out.append(text[cursor:])
    return _COUNTED_UNIT.sub(_agree, "".join(out))


def _agree(match: "re.Match[str]") -> str:
    """The unit after a cardinal count in the singular after one, in the plural otherwise."""
    count = match.group("count").lower()
    if not (count[0].isdigit() or count in CARDINALS or count.split("-")[0] in TENS):
        return match.group()
    plural = "" if count in ("1", "one") else "s"
    return match.group("count") + match.group("space") + match.group("unit") + plural


def _move(match: "re.Match[str]", factor: float) -> str:
    if match.group("digits"):
        digits = match.group("digits")
        decimals = len(digits.partition(".")[2])
        value = _moved(float(digits), factor, decimals)
        written = f"{value:.{decimals}f}"
        suffix = match.group("suffix")
        return written + (ordinal_suffix(int(value), suffix) if suffix else "")
    word = match.group("word")
    number, ordinal = _read_word(word.lower())
    value = int(_moved(number, factor, 0))
    rendered = _write_word(value, ordinal)
    if rendered is None:
        rendered = f"{value}{ordinal_suffix(value, 'th')}" if ordinal else str(value)
    return _case_like(word, rendered)


def _moved(value: float, factor: float, decimals: int) -> float:
    """`value` times `factor`, rounded; at least one unit of the last written digit away from `value`,
    in the factor's direction, and above zero."""
    unit = 10.0**-decimals
    moved = round(value * factor, decimals)
    if abs(moved - value) < unit / 2:
        moved = value + (unit if factor > 1 or value - unit <= 0 else -unit)
    return round(max(moved, unit), decimals)


def _read_word(word: str) -> Tuple[int, bool]:
    """A number word's value and whether it is an ordinal ("forty-five" -> 45, "second" -> 2)."""
    if word in ORDINALS:
        return ORDINALS.index(word), True
    if word in ("a", "an"):
        return 1, False
    parts = re.split(r"[- ]", word)
    if parts[0] in TENS:
        return 20 + 10 * TENS.index(parts[0]) + (CARDINALS.index(parts[1]) if len(parts) > 1 else 0), False
    return CARDINALS.index(word), False


def _write_word(number: int, ordinal: bool) -> Optional[str]:
    """`number` in words ("forty-five", "second"); None where the words would be unusual."""
    if ordinal:
        return ORDINALS[number] if number < len(ORDINALS) else None
    if number < 20:
        return CARDINALS[number]
    if number < 100:
        tens, unit = divmod(number, 10)
        return TENS[tens - 2] + (f"-{CARDINALS[unit]}" if unit else "")
    return None


def _case_like(template: str, text: str) -> str:
    if template.isupper() and len(template) > 1:
        return text.upper()
    if template[:1].isupper():
        return text[:1].upper() + text[1:]
    return text
