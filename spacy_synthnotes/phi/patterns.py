"""Shape patterns for the HIPAA identifiers that have a shape, and name heuristics.

Pure functions over text: each finder returns `Match(start, end, label, rule)`
character spans, so the same rules serve the `synth_phi` component (snapped to
tokens there) and the residual-PHI check on synthetic text. Negative contexts
keep doses ("5/325 mg"), vitals ("BP 120/80"), scores ("GCS 15", "pain 2/10",
"strength 4/5") and lab values out.
"""

import importlib
import re
from dataclasses import dataclass
from functools import cache
from typing import Callable, FrozenSet, Iterable, List, Pattern, Sequence, Tuple

from faker.config import AVAILABLE_LOCALES
from faker.providers.address.en import Provider as _EnAddress
from faker.providers.address.en_US import Provider as _UsAddress
from spacy.lang.en.stop_words import STOP_WORDS

from ..intervals import CARDINAL_WORD, ORDINAL, PART_OF_DAY, TIME_UNIT

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:Mon|Tues?|Wed(?:nes)?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?"
_MONTH_NAME = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
# Words that make a capitalized month name a date ("in June", "end of May", "mid-October"), not a name.
_MONTH_CONTEXT = (
    r"(?i:\b(?:in|since|from|until|till|through|during|by|before|after|between|early|late|"
    r"(?:the\s+)?(?:end|beginning|start|middle)\s+of))\s+(?:(?i:early|late|mid)[\s-]?)?"
)
_ORD = r"(?:st|nd|rd|th)"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MON_NUM = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:19|20)\d{2}"
# A time of day written after a numeric date ("2021-03-14 12:20:39", "3/14/2021 2:30 PM"): part of the match.
_TIME = r"(?:[ T](?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?:\s?[AaPp]\.?[Mm]\.?)?)?"
# Words before or after a slash pair that make it a score, ratio or dose, not a date.
_NOT_DATE_BEFORE = (
    r"(?<!\bBP )(?<!\bBP: )(?<!\bpain )(?<!\bstrength )(?<!\bscore )(?<!\bGCS )(?<!\bgrade )"
    r"(?<!\bpressure )(?<!\brated )(?<!\brates )(?<!\bmurmur )(?<!\bpower )(?<![\d./:])"
)
_NOT_DATE_AFTER = (
    r"(?!\s*(?:mg|mcg|g|mL|ml|units?|tabs?|strength|sets|reps|scale|points?)\b)(?![\d/.]*\d)(?!%)"
)

# Latin letters with diacritics count ("Ödön", "Łukasz", "Jónás"): Latin-1 capitals and lower-case
# letters, and Latin Extended-A (Ā-ž), whose capitals and lower-case letters alternate; so do Greek
# ("Συντάγματος") and Cyrillic ("Иванов") letters.
_UPPER = r"[A-ZÀ-ÖØ-ÞĀ-ŽΆ-ΫЀ-Я]"
_LOWER = r"[a-zß-öø-ÿĀ-žά-ώа-џ]"
_NAME = rf"(?-i:(?:[OD]['’])?{_UPPER}{_LOWER}+(?:[-']{_UPPER}{_LOWER}+)?)"

_STREET_SUFFIX = "|".join(
    sorted(
        {
            *_UsAddress.street_suffixes,
            "St",
            "Ave",
            "Rd",
            "Blvd",
            "Ln",
            "Dr",
            "Ct",
            "Pl",
            "Ter",
            "Cir",
            "Pkwy",
            "Hwy",
            "Sq",
            "Trl",
            # British and Australian ones Faker's US list lacks
            "Close",
            "Parade",
            "Quay",
            "Wharf",
            "Esplanade",
        },
        key=len,
        reverse=True,
    )
)
# European street names: a capitalized word ending in a street suffix, or a street word and a name.
_EURO_STREET_NAME = (
    r"(?!(?i:brigade|renegade)\b)[A-ZÀ-Þ][\w'-]*(?:stra(?:ß|ss)e|str\.|weg|gasse|allee|platz|damm|ufer|laan|"
    r"straat|gracht|plein|kade|vej|gade|gata|gatan|vägen|veien|vegen|gaten|katu|tie|utca|ulica)"
)
# Words of a street name; a unit word ends it ("Rue Gafsa Apt. 981").
_EURO_WORD = r"(?!(?:Apt|Apartment|Suite|Ste|Unit)\b)[A-ZÀ-Þ][\w'-]+"
_EURO_NAME = (
    rf"(?:(?:de|del|della|di|da|do|dos|das|la|le|les|du|des|l'|d')[ \t]*)*{_EURO_WORD}"
    rf"(?:[ \t]+(?:(?:de|del|di|da|do|la|le|du)[ \t]+)?{_EURO_WORD}){{0,2}}"
)
_EURO_STREET_WORD = r"(?:Rue|Rua|Via|Viale|Calle|Avenida|Avda\.|Carrer|Strada|Corso|Piazza|Paseo|ul\.|ulica)"
_NOT_UNIT_AFTER = r"(?![ \t]*(?:Fr|French|G|gauge|mm|cm|mg|mL|ml|units?|%)\b)"
_PO_BOX = r"(?i:\b(?:P\.?[ \t]?O\.?|Post[ \t]+Office)[ \t]*Box)"
_STATES = "|".join(_UsAddress.states_abbr)
# "City, ST": MD and PA are credentials too ("Jane Doe, MD"), so they need a ZIP after them.
_CITY_STATE = (
    rf"\b((?:[A-Z][a-z]+\s){{0,2}}[A-Z][a-z]+),\s+"
    rf"((?!MD\b|PA\b)(?:{_STATES})\b(?=\s+\d{{5}}|[\s.,;)]|$)|(?:MD|PA)(?=\s+\d{{5}}))"
)


@dataclass(frozen=True)
class Match:
    """A character span found by a rule."""

    start: int
    end: int
    label: str
    rule: str


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    pattern: Pattern[str]
    group: int = 0


def _rule(name: str, label: str, pattern: str, flags: int = 0, group: int = 0) -> Rule:
    return Rule(name, label, re.compile(pattern, flags), group)


SHAPE_RULES: List[Rule] = [
    # -- dates ----------------------------------------------------------------------------------
    _rule("date_ymd", "DATE", rf"(?<![\d/.-]){_YEAR}([-/.])(?:0?[1-9]|1[0-2])\1{_DAY}{_TIME}(?![\d/:])"),
    _rule(
        "date_mdy",
        "DATE",
        rf"{_NOT_DATE_BEFORE}(?:{_WEEKDAY},?\s+)?{_MON_NUM}([-/.]){_DAY}\1(?:{_YEAR}|\d{{2}}){_TIME}(?![\d/:])",
    ),
    _rule("date_dmy", "DATE", rf"(?<![\d/.]){_DAY}([-/.]){_MON_NUM}\1{_YEAR}{_TIME}(?![\d/:])"),
    _rule(
        "date_d_mon_y",
        "DATE",
        rf"\b(?:{_WEEKDAY},?\s+)?{_DAY}{_ORD}?(?:[- ]|\s+of\s+){_MONTH}(?:[- ]|,\s*)(?:{_YEAR}|\d{{2}})\b",
        re.IGNORECASE,
    ),
    _rule(
        "date_mon_d_y",
        "DATE",
        rf"\b(?:{_WEEKDAY},?\s+)?{_MONTH}\s+{_DAY}{_ORD}?(?:,?\s*{_YEAR})?(?!\s*(?:mg|mcg|units?)\b)(?![\d:])",
        re.IGNORECASE,
    ),
    _rule(
        "date_d_mon",
        "DATE",
        rf"\b{_DAY}{_ORD}?(?:\s+of)?\s+{_MONTH}(?![a-z])(?:,?\s*{_YEAR})?",
        re.IGNORECASE,
    ),
    _rule("date_mon_y", "DATE", rf"\b{_MONTH},?\s+{_YEAR}\b", re.IGNORECASE),
    _rule(
        "date_month_in_context", "DATE", rf"{_MONTH_CONTEXT}({_MONTH_NAME})\b(?![-']|\s+[A-Z][a-z])", group=1
    ),
    _rule("date_mid_month", "DATE", rf"(?i:\bmid)-({_MONTH_NAME})\b(?!\s+[A-Z][a-z])", group=1),
    _rule("date_m_y", "DATE", rf"(?<![\d/.]){_MON_NUM}/{_YEAR}(?![\d/])"),
    # A weekday named alone ("seen on Tuesday", "since monday"): i2b2 marks it DATE, and dates.py shifts
    # it with the note's other dates. Not the plural of a routine ("dialysis on Mondays").
    _rule("date_weekday", "DATE", r"\b(?i:(?:mon|tues|wednes|thurs|fri|satur|sun)day)\b"),
    _rule("date_md", "DATE", rf"{_NOT_DATE_BEFORE}\b{_MON_NUM}/{_DAY}{_NOT_DATE_AFTER}(?!/)"),
    _rule(
        "date_the_day", "DATE", rf"\bthe\s+{_DAY}{_ORD}\b(?!\s+(?:percentile|week|day|cycle))", re.IGNORECASE
    ),
    _rule(
        "date_year_in_context",
        "DATE",
        rf"\b(?:in|since|from|until|during|between|of|by|early|late|mid-?)\s+({_YEAR})\b"
        r"(?!\s*(?:mg|units?|mL|patients?|cells|copies|[a-zA-Zμ]+/[a-zA-Z]))",
        re.IGNORECASE,
        group=1,
    ),
    # -- contacts -------------------------------------------------------------------------------
    _rule("email", "EMAIL", r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
    _rule("url", "URL", r"\b(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:)]", re.IGNORECASE),
    _rule(
        "ipv4",
        "IPADDR",
        r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.]*\d)",
    ),
    _rule("ipv6", "IPADDR", r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![\w:])"),
    _rule(
        "fax", "FAX", r"(?i:\bfax\b)[\s:#.]*((?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4})\b", group=1
    ),
    _rule(
        "phone",
        "PHONE",
        r"(?<![\w/.-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w/-])",
    ),
    # International numbers: a "+" country code and at least 8 digits ("+41 (0)96 471 07 95").
    _rule(
        "phone_international",
        "PHONE",
        r"(?<![\w+])(?=\+(?:[ .()-]*\d){8})\+\d{1,3}(?:[ .-]?\(0\))?(?:[ .-]?\d{1,4}){2,5}(?![\w+])",
    ),
    # Any digit grouping after a phone keyword and a colon ("Mobile: 03.93.92.16.85"), 7+ digits.
    _rule(
        "phone_labeled",
        "PHONE",
        r"(?i:\b(?:phone|mobile|desk|tel(?:ephone)?|cell(?:phone)?|office)\b)\s*:\s*"
        r"((?=(?:[ ().-]*\d){7})\(?\+?\d[\d ().-]*\d)(?![\w/])",
        group=1,
    ),
    # A national number written before what it is ("082 490 1693 office", "(37) 788-063-Office",
    # "416 60 039 fax"): 8+ digits in groups.
    *(
        _rule(
            name,
            label,
            rf"(?<![\w+/.-])((?=(?:[ ().-]*\d){{8}})\(?\d[\d ().-]*\d)(?=[ \t]*-?[ \t]*(?i:{word})\b)",
            group=1,
        )
        for name, word, label in (
            ("phone_before_label", "office|phone|mobile|cell|home|work", "PHONE"),
            ("fax_before_label", "fax", "FAX"),
        )
    ),
    _rule(
        "phone_short",
        "PHONE",
        r"(?i:\b(?:phone|tel|call|pager|pgr|cell|beeper|ext)\b)[\s:#.]*(?:at\s+)?(\d{3}[-.]\d{4}|x?\d{4,5})\b",
        group=1,
    ),
    # -- identifiers --------------------------------------------------------------------------------
    _rule("ssn", "SSN", r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])"),
    # IBAN: country letters, check digits and 11-30 more characters (mostly digits), spaced or not.
    _rule(
        "iban",
        "ACCOUNT",
        r"(?<!\w)(?=[A-Za-z]{2}\d{2}(?:\s?[A-Za-z0-9]){11,30}(?!\w))(?=[A-Za-z]{2}(?:[ A-Za-z]{0,6}\d){12})"
        r"[A-Za-z]{2}\d{2}(?:[A-Za-z0-9]{11,30}|(?: [A-Z0-9]{4}){3,7}(?: [A-Z0-9]{1,3})?)(?!\w)",
    ),
    _rule(
        "mrn",
        "MEDICALRECORD",
        r"(?i:\b(?:MRN|MR\s?#|Med(?:ical)?\s+Rec(?:ord)?\s*(?:#|No\.?|Number)?|Unit\s+No\.?))"
        r"[\s:#.]*([A-Za-z]{0,3}-?\d[\d-]{3,}[A-Za-z0-9]*)\b",
        group=1,
    ),
    _rule(
        "account",
        "ACCOUNT",
        r"(?i:\b(?:acct|account|billing|member\s+id|policy|insurance\s+id|claim)\b\s*(?:#|no\.?|number)?)"
        r"[\s:#.]*([A-Za-z]{0,3}-?\d[\d-]{3,}[A-Za-z0-9]*)\b",
        group=1,
    ),
    _rule(
        "id_keyword",
        "IDNUM",
        r"(?i:\b(?:id|accession|encounter|visit|order|specimen|case|ref(?:erence)?|license|lic|dea|npi)\b\s*"
        r"(?:#|no\.?|number)?)[\s:#.]*([A-Za-z]{0,3}-?\d[\d-]{3,}[A-Za-z0-9]*)\b",
        group=1,
    ),
    _rule(
        "long_number",
        "IDNUM",
        r"(?<![\w.,/-])[A-Z]{0,3}\d{7,}(?![\w.,/-]*\d)(?!\s*(?:mg|mcg|units?|mL|cells|copies))",
    ),
    # -- locations ---------------------------------------------------------------------------------
    _rule(
        "street",
        "STREET",
        rf"(?:{_PO_BOX}[ \t]+)?\b\d{{1,6}}\s+(?:[NSEW]\.?\s+)?(?:(?:Ma?c)?[A-Z][a-z]+\.?\s+){{1,3}}"
        rf"(?:{_STREET_SUFFIX})\b\.?"
        r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|#)\.?\s*#?\s*[\w-]+)?",
    ),
    # European streets: a name with a street suffix, then the number ("Hauptstraße 5", "Kerkstraat 12",
    # "Vesterskovvej 79", "Storgatan 4", "Koskikatu 25"), or a street word first ("Via Roma 10",
    # "Rue de la Paix 3", "ul. Grochowa 80"; "12 rue de la Paix"). Not before a unit ("Via Foley 16 Fr").
    _rule(
        "street_european",
        "STREET",
        rf"(?<![\w-])(?:{_EURO_STREET_NAME}|{_EURO_STREET_WORD}[ \t]+{_EURO_NAME})[ \t]+\d{{1,5}}[a-z]?\b"
        rf"(?![.,]\d){_NOT_UNIT_AFTER}",
    ),
    _rule(
        "street_european_number_first",
        "STREET",
        rf"\b\d{{1,5}},?[ \t]+(?i:rue|avenue|boulevard|place|chemin|impasse|all[ée]e|quai|calle|via|rua)"
        rf"[ \t]+{_EURO_NAME}(?:[ \t]+\d{{1,5}}[a-z]?\b(?![.,]\d){_NOT_UNIT_AFTER})?",
    ),
    # A street type as a word of its own after the name: "Villacher Strasse 89", "Koepenicker Str. 74",
    # "Rákóczi út 13.", "Hegedûs Gyula utca 76.", "Király u. 15.", "Trenerys gate 232".
    _rule(
        "street_european_type_word",
        "STREET",
        rf"(?<![\w-]){_NAME}(?:[ \t]+{_NAME})?[ \t]+(?:(?i:stra(?:ß|ss)e|str\.|gasse|allee|platz)|gate|gata|"
        rf"vej|utca|út|u\.|körút|tér)[ \t]+\d{{1,5}}[a-z]?\b(?![.,]\d){_NOT_UNIT_AFTER}",
    ),
    # A building number, a street name and its number, then a unit ("9791 Markt 84 Apt. 597",
    # "75956 Rákóczi út 66. Apt. 268", "07960 Aqqusinersuaq 111\n Suite 201"): the unit anchors it.
    _rule(
        "street_numbered_before_unit",
        "STREET",
        rf"(?<![\w.,/-])\d{{1,5}}[ \t]+{_NAME}(?:[ \t]+(?:{_NAME}|{_LOWER}{{1,3}}\.?)){{0,2}}"
        r"[ \t]+\d{1,5}[a-z]?\.?"
        r"(?=,?\s*(?:Apt|Apartment|Suite|Ste)\b\.?\s*#?\s*\d)",
    ),
    _rule("po_box", "STREET", rf"{_PO_BOX}[ \t]+\d{{1,6}}\b"),
    # An apartment or suite number on its own line or after a street the patterns did not know.
    _rule("apartment", "STREET", r"\b(?:Apt|Apartment|Suite|Ste)\.?\s*#?\s*\d{1,5}[A-Z]?\b"),
    # US military addresses: "PSC 3294, Box 9168", "Unit 7349 Box 6067", "USNS Lopez" over "FPO AE 44941".
    _rule("military_address", "STREET", r"(?i:\b(?:PSC|Unit|CMR)\s+\d{3,5},?\s+Box\s+\d{3,5})\b"),
    _rule(
        "military_ship",
        "STREET",
        r"(?i:\b(?:USS|USNS|USNV|USCGC)[ \t]+[a-z]+(?=[ \t]*\n\s*(?:APO|DPO|FPO)\b))",
    ),
    _rule("military_post", "CITY", r"(?i:\b(?:APO|DPO|FPO)[ \t]+(?:AA|AE|AP))\b(?=[ \t]+\d{5}\b)"),
    _rule("military_zip", "ZIP", r"(?i:\b(?:APO|DPO|FPO)[ \t]+(?:AA|AE|AP)[ \t]+)(\d{5})\b", group=1),
    _rule("city_state", "CITY", _CITY_STATE, group=1),
    _rule("state_of_city", "STATE", _CITY_STATE, group=2),
    _rule(
        "username",
        "USERNAME",
        r"(?i:\b(?:signed|user(?:name)?|login|userid)\s*:\s*)([a-z][a-z0-9._-]*\d[a-z0-9]*)\b",
        group=1,
    ),
    _rule("zip_after_state", "ZIP", r"(?<=\b[A-Z]{2}\s)(\d{5}(?:-\d{4})?)\b"),
    # After "zip"/"postal code", any postal code shape: "02114-1234", "3610-114", "2200", "B0J 2H0",
    # "394 13".
    _rule(
        "zip_keyword",
        "ZIP",
        r"(?i:\b(?:zip|postal)(?:\s*code)?\b(?:\s+is)?)[\s:#.]*"
        r"(\d{3} \d{2}|\d{3,5}(?:-\d{3,4})?|[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d)(?![\w-])",
        group=1,
    ),
    # -- ages (all ages: i2b2 marks them all; surrogates move ages under 90 by a year or two) ----------
    _rule(
        "age",
        "AGE",
        r"\b(\d{1,3})(?=\s?[-\u2013]?\s?(?:years?|yrs?|y)\s?[-\u2013 ]?\s?(?:old|o)\b|"
        r"\s?(?:y/o|yo|y\.o\.)(?!\w)|\s+years?\s+of\s+age\b|"
        r"[-\s](?:months?|mos?|weeks?|wks?|days?)[-\s](?:old\b|of\s+age\b))",
        re.IGNORECASE,
        group=1,
    ),
    _rule("age_keyword", "AGE", r"(?i:\b(?:age[d:]?|aged|age\s+of)\s+)(\d{1,3})\b(?!\s*(?:mg|%|/))", group=1),
    _rule("age_turned", "AGE", r"(?i:\bturn(?:s|ed)?\s+)(\d{1,3})(?=\s*(?:years?\b|[.!?]|$))", group=1),
]

# -- relative dates (only with synth_phi's `relative_dates`; see spacy_synthnotes.intervals) ------------
# Their spaces never cross a line break (_S): "for 5 days" and a list's "3." on the next line are not
# "days 3".
_S = r"[^\S\n]"
_HALF = rf"(?:(?:{_S}|-)+and(?:{_S}|-)+a(?:{_S}|-)+half|½)?"
_COUNT = (
    rf"(?:\d+(?:\.\d+)?(?:{_S}*(?:-|–|to|or){_S}*\d+(?:\.\d+)?)?"
    rf"|{CARDINAL_WORD}(?:{_S}*(?:-|to|or){_S}*{CARDINAL_WORD})?"
    rf"|an?|a{_S}+few|few|several|a{_S}+couple{_S}+of){_HALF}"
)
# Between a count and its unit: nothing or space after a digit ("24h", "2 d"), space or a hyphen after a word.
_COUNT_UNIT = rf"(?:(?<=[\d½]){_S}*|(?:{_S}|-)+)"
# "d" for days only after a digit ("14 d after"), never as a word of its own.
_UNIT_AFTER_COUNT = rf"(?:(?<=\d)d|(?<=\d )d|{TIME_UNIT})"
# Units of a span after "in/within/after" ("in 2 h", "after two cycles"); not "in 24-h urine".
_SPAN_UNIT = (
    rf"(?:(?<=\d)h|(?<=\d{_S})h|hours?|hrs?|days?|weeks?|wks?|months?|mos?|"
    r"years?|yrs?|decades?|cycles?|courses?)"
)
_DIRECTION = (
    r"(?:later|after(?:wards?)?|earlier|before(?:hand)?|prior|previously|ago|since|from|back|"
    r"post(?:-?[a-z]+)?|thereafter|following)"
)
_DAY_KIND = (
    r"(?:(?:post-?operative|post-?op|hospital|illness|treatment|admission|study|postnatal|post-?partum|"
    rf"gestational|pregnancy){_S}+)?"
)
_NEIGHBOUR = r"(?:next|following|previous|same|subsequent|preceding|ensuing)"
RELATIVE_DATE_RULES: List[Rule] = [
    # "3 days later", "two weeks after", "1–2 days post", "30 months from", "14 d after"
    _rule(
        "relative_interval",
        "DATE",
        rf"\b{_COUNT}{_COUNT_UNIT}{_UNIT_AFTER_COUNT}\b{_S}+{_DIRECTION}\b",
        re.I,
    ),
    # "months before", "several years ago"
    _rule(
        "relative_units_ago",
        "DATE",
        rf"\b(?:(?:several|few|many){_S}+)?(?:days|weeks|months|years){_S}+"
        r"(?:before|ago|later|earlier|prior|previously)\b",
        re.I,
    ),
    # "after 1 month", "within the first 2 postoperative days", "after at least 1 year", "at 34 weeks"
    _rule(
        "relative_within",
        "DATE",
        rf"\b(?:after|within|in|during|at|until|by){_S}+(?:the{_S}+)?"
        rf"(?:(?:first|next|last|past|following|previous|subsequent|ensuing){_S}+)?"
        rf"(?:(?:at{_S}+least|about|approximately|nearly|almost|over|another){_S}+)?"
        rf"{_COUNT}{_COUNT_UNIT}{_DAY_KIND}"
        rf"{_SPAN_UNIT}\b",
        re.I,
    ),
    # "postoperative day 9", "day +12", "days 1-3", "week 24", "month 5"; not "day 2 mg"
    _rule(
        "relative_day_number",
        "DATE",
        rf"\b{_DAY_KIND}(?:day|week|month)s?{_S}*#?{_S}*\+?\d+(?:{_S}*(?:-|–|to|and){_S}*\d+)?\b"
        rf"(?!{_S}*(?:mg|%))",
        re.I,
    ),
    _rule("relative_day_word", "DATE", rf"\bdays?{_S}+{CARDINAL_WORD}\b", re.I),
    # "POD 3", "4th POD", "HD#2", "EOT", "end of treatment"
    _rule(
        "relative_time_point",
        "DATE",
        rf"\b(?:(?-i:POD|HD){_S}*#?{_S}*\d+|{ORDINAL}{_S}+(?-i:POD)|(?-i:EOT)"
        rf"|end(?:{_S}|-)of(?:{_S}|-)(?:treatment|therapy))\b",
        re.I,
    ),
    # "the fifth day", "eleventh hospital day", "36th pregnancy week", "first months of life"
    _rule("relative_ordinal", "DATE", rf"\b{ORDINAL}{_S}+{_DAY_KIND}(?:day|week|month|year|night)s?\b", re.I),
    # "3-month", "1-year" (follow-up, history); not "6-year-old"
    _rule("relative_adjective", "DATE", rf"\b{_COUNT}-(?:week|month|year)\b(?!(?:{_S}|-)+old)", re.I),
    # "36+2 gestational weeks", "38 weeks' gestation"
    _rule(
        "relative_gestation",
        "DATE",
        rf"\b\d+(?:\+\d)?{_S}*(?:gestational|pregnancy){_S}+weeks?\b"
        rf"|\b{_COUNT}{_COUNT_UNIT}weeks?['’]?{_S}+(?:of{_S}+)?gestation\b",
        re.I,
    ),
    # "the next day", "the following morning", "previous years", "the past year", "the day before"
    _rule(
        "relative_neighbour",
        "DATE",
        rf"\b{_NEIGHBOUR}{_S}+(?:(?:day|week|month|year|decade)s?|{PART_OF_DAY})\b",
        re.I,
    ),
    _rule(
        "relative_past",
        "DATE",
        rf"\b(?:past|last|this|previous|prior){_S}+(?:year|month|week|decade)s?\b",
        re.I,
    ),
    _rule(
        "relative_day_of",
        "DATE",
        rf"\bthe{_S}+(?:day|week|month|year){_S}+(?:before|after|prior|preceding|"
        rf"of{_S}+(?:admission|surgery|discharge|presentation|delivery|birth|the{_S}+visit))\b",
        re.I,
    ),
    # "∼48 h of age", "in her 50s"
    _rule("relative_of_age", "DATE", rf"\b{_COUNT}{_COUNT_UNIT}{TIME_UNIT}{_S}+of{_S}+age\b", re.I),
    _rule(
        "relative_decade_of_life",
        "DATE",
        rf"\b(?:his|her|their){_S}+(?:early{_S}+|mid-?|late{_S}+)?\d0s\b",
        re.I,
    ),
]

# An initial with or without its full stop ("John A. Smith", "Ravil G Yefimov"), and the particles
# of family names ("Dyan van Gijn", "Willemine ten Pas", "Maria da Silva").
_NAME_OR_INITIAL = rf"(?:{_NAME}|[A-Z]\.|[A-Z](?=[ \t]+{_UPPER}{_LOWER}))"
NAME_PARTICLES = "van|von|de|der|den|da|di|du|la|le|ten|ter|del|dos|das"
_FULL_NAME = rf"{_NAME}(?:[ \t]+(?:(?-i:{NAME_PARTICLES})[ \t]+(?={_UPPER}))?{_NAME_OR_INITIAL}){{0,2}}"
_CREDENTIAL = r"(?:MD|M\.D\.|DO|RN|NP|PA|PA-C|PhD|DDS|LPN|CNA|PT|OT|RD|MSW|LCSW|FNP|ANP|CRNA)\b"
_RELATION = (
    r"(?:wife|husband|daughter|son|sister|brother|mother|father|niece|nephew|aunt|uncle|friend|partner|"
    r"spouse|granddaughter|grandson|grandmother|grandfather|caregiver|neighbou?r|kid|child|cousin|"
    r"girlfriend|boyfriend|fianc[eé]e?|guardian|step(?:son|daughter|mother|father))"
)
# Country names (i2b2's COUNTRY: "travel to Brazil"): Faker's list plus the usual short forms, less the
# ones that are US states ("Georgia", "New Jersey") and not before the words that make them a disease,
# a stain or an animal ("Malta fever", "Congo red", "Guinea worm").
_COUNTRIES = (
    set(_EnAddress.countries)
    | {"United States", "USA", "Russia", "South Korea", "North Korea", "Syria", "Laos", "Czechia"}
    | {"Ivory Coast", "Palestine", "England", "Scotland", "Wales", "Brunei", "Burma", "Eswatini"}
) - {"Georgia", "Jersey"}
_COUNTRY = "|".join(re.escape(c) for c in sorted(_COUNTRIES, key=len, reverse=True))
_NOT_COUNTRY_AFTER = (
    r"(?![ \t]*(?i:red|fever|worms?|pigs?|virus|hemorrhagic|haemorrhagic|disease|encephalitis|flu|"
    r"influenza|tick|spotted|strain|variant)\b)"
)
# Introductions and name fields: "My name is Siiri", "this is Ana Costa calling", "Last name: Magnusson".
_INTRODUCTION = (
    r"(?i:\bmy[ \t]+name(?:[ \t]+is|'s)|\bcall[ \t]+me|\b(?:first|last|middle|maiden|given|family|full)"
    r"[ \t]+name(?:[ \t]+is)?[?:]?|\bsurname[?:]?)[ \t]+"
)

# A line that names a group, not a person ("The Cardiology Team", "Patient Services").
_NOT_A_TEAM = (
    r"(?![^\n]*\b(?:The|Team|Clinic|Department|Office|Services?|Staff|Unit|Cent(?:er|re)|Hospital|"
    r"Practice)\b)"
)

_NOT_NAME = {
    "The",
    "Patient",
    "Pt",
    "He",
    "She",
    "His",
    "Her",
    "They",
    "This",
    "That",
    "Hospital",
    "Medical",
    "Center",
    "Clinic",
    "Department",
    "Emergency",
    "Discharge",
    "Admission",
    "History",
    "Date",
    "No",
    "Yes",
    "Not",
    "Unit",
    "Room",
    "Report",
    "Note",
    "Service",
    "Follow",
    "Plan",
    "Assessment",
    "Signed",
    "Electronically",
    "Sir",
    "Madam",
    "Team",
    "All",
    "Colleague",
    "Colleagues",
    "Everyone",
    "Apt",
    "Apartment",
    "Suite",
    "Ste",
    "Box",
    "Who",
    "We",
    "You",
    "It",
    "Also",
    "Now",
    "Currently",
    "Still",
    "Family",
    "Mother",
    "Father",
    "Daughter",
    "Son",
    "Wife",
    "Husband",
}

NAME_RULES: List[Rule] = [
    _rule("title_patient", "PATIENT", rf"\b(?:Mr|Mrs|Ms|Miss|Mx)\.?[ \t]+({_FULL_NAME})", group=1),
    _rule("title_doctor", "DOCTOR", rf"\b(?:Dr|Doctor|Prof)\.?[ \t]+({_FULL_NAME})", group=1),
    _rule(
        "credential",
        "DOCTOR",
        rf"\b({_NAME}(?:[ \t]+{_NAME_OR_INITIAL}){{1,2}}),?[ \t]+{_CREDENTIAL}",
        group=1,
    ),
    _rule(
        "signature",
        "DOCTOR",
        rf"(?i:\b(?:signed[ \t]+by|signed|dictated[ \t]+by|transcribed[ \t]+by|attending|resident|cc|rn|np|"
        rf"provider|physician|author|seen[ \t]+by|reviewed[ \t]+by|co-signed[ \t]+by)\b:?[ \t]+)"
        rf"(?:Dr\.?[ \t]+)?({_FULL_NAME})",
        group=1,
    ),
    _rule(
        "header_name",
        "PATIENT",
        rf"(?im:^\s*(?:patient(?:[ \t]+name)?|pt|name)\s*:\s*)({_NAME},[ \t]+{_FULL_NAME}|{_FULL_NAME})",
        group=1,
    ),
    _rule("relation", "PATIENT", rf"(?i:\b{_RELATION}\b)[,:]?[ \t]+({_NAME}(?:[ \t]+{_NAME})?)\b", group=1),
    _rule(
        "hospital",
        "HOSPITAL",
        r"\b((?:St\.[ \t]+)?(?:[A-Z][a-z]+[ \t]+){1,4}(?:Hospital|Medical[ \t]+Center|Health[ \t]+Center|"
        r"Clinic|Infirmary|Healthcare|Health[ \t]+System|Rehabilitation[ \t]+Center|Nursing[ \t]+Home))\b",
        group=1,
    ),
    _rule("introduction", "PATIENT", rf"{_INTRODUCTION}({_FULL_NAME})", group=1),
    # "goes by Kati", "prefers to be called Bill", "everyone calls me Antti", "a son named Ole".
    _rule(
        "nickname",
        "PATIENT",
        rf"(?i:\bgoes[ \t]+by|\bprefers[ \t]+to[ \t]+be[ \t]+called|\bcalls[ \t]+(?:me|her|him)|\bnamed)"
        rf"[ \t]+({_FULL_NAME})",
        group=1,
    ),
    # Letters and messages: "Dear Anna," / "Hi Mr. Li," at the start of a line, and the name alone on
    # the line after "Thanks," / "Kind regards,".
    _rule(
        "greeting",
        "PATIENT",
        rf"(?im:^[ \t]*(?:dear|hi|hello)[ \t]+){_NOT_A_TEAM}({_FULL_NAME})(?=[ \t]*[,!:]?[ \t]*(?:\n|\Z))",
        group=1,
    ),
    _rule(
        "sign_off",
        "PATIENT",
        r"(?im:^[ \t]*(?:thanks|thank[ \t]+you|regards|best|kind[ \t]+regards|best[ \t]+regards|sincerely|"
        rf"yours[ \t]+sincerely|yours[ \t]+truly|cheers)[,!.]?[ \t]*\n[ \t]*){_NOT_A_TEAM}({_FULL_NAME})"
        r"(?=[ \t]*(?:\n|\Z))",
        group=1,
    ),
    _rule(
        "calling",
        "PATIENT",
        rf"(?i:\bthis[ \t]+is[ \t]+)({_FULL_NAME})(?=[ \t]+(?i:calling|speaking|here)\b)",
        group=1,
    ),
    # Social history: "Maria Costa lives at home with", "Verda lives on 33 avenue de Provence".
    _rule(
        "resident",
        "PATIENT",
        rf"(?<![\w.-])({_NAME}(?:[ \t]+(?:{_NAME}|[A-Z]\.?)){{0,2}})(?=[ \t]+(?:lives|lived|resides|resided|"
        r"moved)[ \t]+(?:at|on|in|with|alone|nearby|here)\b)",
        group=1,
    ),
    _rule(
        "country",
        "COUNTRY",
        rf"(?<![\w-])({_COUNTRY})(?![\w-])(?![ \t]+[A-Z][a-z]){_NOT_COUNTRY_AFTER}",
        group=1,
    ),
]


def _find(rules: Sequence[Rule], text: str) -> List[Match]:
    found = []
    for rule in rules:
        for m in rule.pattern.finditer(text):
            start, end = m.span(rule.group)
            if start < 0 or start == end:
                continue
            value = text[start:end]
            # Trailing time/space pieces of a pattern are part of the match, trailing space is not.
            end = start + len(value.rstrip())
            if rule.label in ("PATIENT", "DOCTOR"):
                start, end = _trim_name(text, start, end)
                if start >= end:
                    continue
            found.append(Match(start, end, rule.label, rule.name))
    return found


def _trim_name(text: str, start: int, end: int) -> Tuple[int, int]:
    """Drop leading/trailing words that are not names ("The", "Hospital"...)."""
    words = list(re.finditer(r"\S+", text[start:end]))
    while words and words[0].group().strip(",.") in _NOT_NAME:
        words.pop(0)
    while words and words[-1].group().strip(",.") in _NOT_NAME:
        words.pop()
    if not words:
        return start, start
    return start + words[0].start(), start + words[-1].end()


def find_shapes(text: str) -> List[Match]:
    """Identifier-shaped strings: dates, contacts, IDs, addresses, ages over 89."""
    return resolve_overlaps(_find(SHAPE_RULES, text))


def find_relative_dates(text: str) -> List[Match]:
    """Relative dates: "3 days later", "postoperative day 9", "the next day" (see `RELATIVE_DATE_RULES`)."""
    return resolve_overlaps(_find(RELATIVE_DATE_RULES, text))


def is_relative_date(text: str) -> bool:
    """Whether a DATE string is a relative date: relative-date rules find it, and none of its other
    words is a number or a capitalized word other than a stop word ("On the next day" is one; "New
    Year's Day", "Christmas week" and "2 days before Thanksgiving" name a calendar date)."""
    matches = find_relative_dates(text)
    rest = list(text)
    for match in matches:
        rest[match.start : match.end] = " " * (match.end - match.start)
    others = re.findall(r"[^\W_]+", "".join(rest))
    return bool(matches) and not any(
        word[0].isdigit() or word[0].isupper() and word.lower() not in STOP_WORDS for word in others
    )


def find_names(text: str) -> List[Match]:
    """Person and facility names found by context heuristics (titles, signatures, relations)."""
    return resolve_overlaps(_find(NAME_RULES, text))


# Given names that are also English words, several of them in clinical text ("Iris", "Ray", "Senna",
# "Cord", "Floor", "Max"): found among Faker's given names by looking them up in the lower-case words of
# the demo, MACCROBAT and NCBI Disease texts, plus the usual English-word names.
_ENGLISH_GIVEN_NAMES = {
    "Art", "Aura", "Beta", "Bill", "Canal", "Carina", "Chase", "Chi", "Comfort", "Constant", "Cord",
    "Corona", "Crystal", "Dawn", "Don", "Ester", "Faith", "Feline", "Flora", "Floor", "Frank",
    "Gene", "Grace", "Grant", "Guy", "Harm", "Harsh", "Hemi", "Hope", "Ion", "Iris", "Jack", "Jet",
    "Joy", "Lady", "Lies", "Line", "Lot", "Man", "Mark", "Max", "Nail", "Neo", "Odd", "Oto", "Owe",
    "Pat", "Ray", "Rim", "Rose", "Rosette", "Said", "Santa", "Senna", "Sera", "Serine", "Sole", "Sue",
    "Tan", "Till", "Titin", "Tone", "Urban", "Valid", "Valves", "Ver", "Ward", "Will", "Willi",
}  # fmt: skip
# Words after a name that make it an eponym, not a person ("Wilson disease", "Babinski sign", "Addison
# crisis", "Ludwig angina").
_EPONYM_HEADS = frozenset(
    "disease syndrome sign test reflex maneuver manoeuvre procedure operation classification criteria "
    "scale score stain tumor tumour palsy phenomenon anomaly malformation fracture lymphoma sarcoma type "
    "method technique crisis angina murmur foot node nodes ulcer cyst fever body bodies cell cells joint "
    "hernia nodule nodules surgery repair incision position view triad law".split()
)
_EPONYM_AFTER = rf"(?![ \t]*(?:['’]s)?[ \t]*(?i:{'|'.join(sorted(_EPONYM_HEADS))})\b)"
# A run of name words at every word start (overlapping), so "Patient Jane Smith" yields "Jane Smith".
_LISTED_NAME = re.compile(rf"(?<![\w.'’-])(?=({_FULL_NAME})(?![\w-]|['’](?!s\b)){_EPONYM_AFTER})")


@cache
def given_names() -> FrozenSet[str]:
    """Given names of every Faker locale (Latin, Greek or Cyrillic letters), less English words.

    Faker's generic "en" locale is left out: its list holds English words ("Case", "Colon", "Male").
    """
    names = set()
    for locale in AVAILABLE_LOCALES:
        if locale == "en":
            continue
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except ImportError:  # a locale without a person provider of its own
            continue
        for attribute in ("first_names", "first_names_male", "first_names_female"):
            listed = getattr(provider, attribute, None)
            if isinstance(listed, (list, tuple, dict)):
                names.update(listed)
    return frozenset(
        name
        for name in names
        if re.fullmatch(rf"{_UPPER}{_LOWER}+", name)
        and name.lower() not in STOP_WORDS
        and name not in _ENGLISH_GIVEN_NAMES
        and name not in _NOT_NAME
        and not re.fullmatch(NAME_PARTICLES, name.lower())
    )


# Verbs whose subject is a person: "Maria reports", "Enrico shouted", "Asya spent a year".
_PERSON_VERB = (
    r"(?:reports|reported|states|stated|says|said|denies|denied|complains|complained|presents|presented|"
    r"was|is|has|had|notes|noted|returns|returned|arrived|came|went|called|calls|feels|felt|describes|"
    r"described|endorses|endorsed|admits|admitted|tells|told|wants|wanted|asks|asked|agrees|agreed|"
    r"declines|declined|underwent|lives|lived|works|worked|began|spent|shouted|thinks|thought|knows|"
    r"knew|walked|drove|fell|woke|smokes|drinks|takes|took)"
)
# A listed given name alone, where the context makes it a person: the subject of such a verb, a
# speaker at the start of a transcript line ("Ella: ..."), a greeting that goes on after its comma
# ("Hi Freddy, I'm writing about").
_LISTED_ALONE = re.compile(
    rf"(?<![\w.'’-])(?P<subject>{_NAME})(?=[ \t]+{_PERSON_VERB}\b)"
    rf"|(?m:^[ \t]*(?P<speaker>{_NAME})(?=[ \t]*:))"
    rf"|(?im:^[ \t]*(?:dear|hi|hello|hey)[ \t]+)(?P<greeting>{_FULL_NAME})(?=[ \t]*[,!])"
)
# An introduction in lower case: "my name is lena andersson".
_LOWER_INTRODUCTION = re.compile(rf"{_INTRODUCTION}(?-i:([a-zß-öø-ÿ]+)(?:[ \t]+([a-zß-öø-ÿ]+))?)\b")
# Given names that are also places ("France was", "Georgia is"): not a person alone, nor a month.
_PLACES = _COUNTRIES | set(_UsAddress.states)


def find_listed_names(text: str) -> List[Match]:
    """Person names that start with a listed given name.

    A listed given name followed by a second name ("Petr Kloz"), or alone where the context makes it a
    person (`_LISTED_ALONE`, `_LOWER_INTRODUCTION`). A given name alone is not enough elsewhere ("Wilson",
    "June" are eponyms and months in clinical text); names before or holding "disease", "sign", "crisis"...
    are eponyms and left alone ("Wilson disease", "Addison Crisis").
    """
    given = given_names()
    found = []
    for m in _LISTED_NAME.finditer(text):
        start, end = _trim_name(text, *m.span(1))
        words = text[start:end].split()
        if len(words) < 2 or words[0] not in given or re.fullmatch(r"[A-Z]\.?", words[-1]):
            continue
        if not any(word.lower() in _EPONYM_HEADS for word in words[1:]):  # not "Addison Crisis"
            found.append(Match(start, end, "PATIENT", "listed_name"))
    for m in _LISTED_ALONE.finditer(text):
        kind = m.lastgroup or ""
        start, end = _trim_name(text, *m.span(kind))
        first = text[start:end].split()[0] if start < end else ""
        if first not in given or first in _PLACES or re.fullmatch(_MONTH_NAME, first):
            continue
        # The subject is the first word of its phrase, not the last of a name or a code ("G6PD Wayne").
        before = text[max(0, start - 80) : start].rstrip(" \t")
        if kind == "subject" and before and before[-1] != "\n":
            if not re.fullmatch(r"[a-z]+|.*[^\w'’]", before.rsplit(None, 1)[-1]):
                continue
        found.append(Match(start, end, "PATIENT", f"listed_{kind}"))
    for m in _LOWER_INTRODUCTION.finditer(text):
        if m.group(1).title() not in given:
            continue
        second = m.group(2)
        end = m.end(2) if second and second not in STOP_WORDS else m.end(1)
        found.append(Match(m.start(1), end, "PATIENT", "listed_introduction"))
    return resolve_overlaps(found)


def find_identifiers(text: str, names: bool = True) -> List[Match]:
    """Shape matches, plus name heuristics where `names` is set; shapes win overlaps."""
    shapes = find_shapes(text)
    if not names:
        return shapes
    return resolve_overlaps(
        shapes + find_names(text), priority=lambda m: 0 if m.label not in NAME_LABELS else 1
    )


NAME_LABELS = {"PATIENT", "DOCTOR", "HOSPITAL", "COUNTRY"}


def resolve_overlaps(matches: Iterable[Match], priority: Callable[[Match], int] = lambda m: 0) -> List[Match]:
    """Keep non-overlapping matches: lower priority value first, then longer, then earlier."""
    ordered = sorted(matches, key=lambda m: (priority(m), -(m.end - m.start), m.start))
    kept: List[Match] = []
    for match in ordered:
        if all(match.end <= k.start or match.start >= k.end for k in kept):
            kept.append(match)
    return sorted(kept, key=lambda m: m.start)
