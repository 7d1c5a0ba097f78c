"""The `synth_phi` component: PHI entities from shape patterns, name heuristics and the NER before it."""

import re
from typing import Collection, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span

from ..labels import DEFAULT_PHI_LABELS
from .patterns import NAME_PARTICLES, find_listed_names, find_names, find_relative_dates, find_shapes

# Precedence of overlapping candidates, highest first (see `SynthPhi`).
SHAPE, NER_PHI, NAME_RULE, RELATIVE_DATE, NER_OTHER, LISTED_NAME = 0, 1, 2, 3, 4, 5
# Entities that hold a place in a postal address, and the label of the lines found to continue one.
ADDRESS_LABELS = {"STREET", "CITY", "STATE", "ZIP", "COUNTRY", "LOCATION", "LOCATION-OTHER"}
ADDRESS_LINE = "LOCATION"
# Words of an address line that are not capitalized ("Apt. 4", "c/o", "bus 3", "u. 15").
_ADDRESS_WORDS = {
    "apt",
    "apt.",
    "suite",
    "unit",
    "box",
    "floor",
    "flat",
    "bus",
    "c/o",
    "u.",
    "no.",
    "p.o.",
    "po",
}
_MAX_LINE_TOKENS = 6
_SENTENCE_END = {".", "?", "!", ";", ":"}
# Title-case lines above an address that are not the addressee's name.
_NOT_ADDRESSEE = {"address", "home", "mailing", "billing", "shipping", "work", "office", "contact", "patient"}


@Language.factory(
    "synth_phi",
    assigns=["doc.ents"],
    default_config={
        "shapes": True,
        "names": True,
        "name_list": True,
        "relative_dates": False,
        "phi_labels": None,
    },
)
def make_synth_phi(
    nlp: Language,
    name: str,
    shapes: bool,
    names: bool,
    name_list: bool,
    relative_dates: bool,
    phi_labels: Optional[List[str]],
) -> "SynthPhi":
    """Create a `synth_phi` component (see `SynthPhi`)."""
    return SynthPhi(
        name,
        shapes=shapes,
        names=names,
        name_list=name_list,
        relative_dates=relative_dates,
        phi_labels=phi_labels,
    )


class SynthPhi:
    """Mark PHI as entities, merging rules and the NER with a fixed precedence.

    Place it after a statistical NER (or first, to use the rules alone) and
    before `synth_notes`. Candidates, highest precedence first:

    1. shape patterns: dates, phone/fax, email, URL, IP, SSN, MRN/account/ID
       numbers, ZIP codes, street addresses, ages over 89;
    2. PHI entities the NER before it predicted;
    3. name heuristics: titles ("Mr. X", "Dr. X"), credentials ("X Y, MD"),
       signatures, header fields ("Patient: X"), relatives ("daughter Mary"),
       introductions ("my name is X", "last name: X"), facility names
       ("... Hospital") and country names; and listed full names: a given
       name of Faker's name lists followed by a second name ("Petr Kloz",
       "Hülya Bouwmeester", also where the NER took them for a drug);
    4. with `relative_dates`, relative dates ("3 days later", "postoperative
       day 9", "the next day"): they name no calendar date, so they are not
       Safe Harbor identifiers, but an interval next to a known admission date
       narrows the dates down. Off by default, so synthetic notes keep their
       clinical timeline; on, they are DATE entities, and `synth_notes` moves
       their counts by 10-25% (see `spacy_synthnotes.intervals`);
    5. the NER's other (clinical) entities;
    6. listed given names alone: as the subject of a verb that takes a person
       ("Maria reports"), a transcript's speaker ("Ella: ...") or the name in
       a greeting ("Hi Freddy, I'm..."), found wherever the sources above
       found nothing.

    A name heuristic's or listed name's span that contains a shorter NER PHI
    entity ranks with the NER ("Martim A Pereira" around "Pereira").
    Overlapping candidates are resolved by precedence, then by length; a clinical
    entity that overlaps a PHI candidate is dropped (privacy first). Rule spans
    that do not fall on token boundaries are expanded to the tokens around them.
    With the shape patterns on, the two streets of an intersection then become
    one (see `intersections`) and postal addresses are extended over the lines
    of their block (see `address_blocks`).

    shapes (bool): Use the shape patterns (and intersections, address blocks).
    names (bool): Use the name heuristics.
    name_list (bool): Use the listed names.
    relative_dates (bool): Mark relative dates as DATE.
    phi_labels (Optional[Sequence[str]]): Which NER labels are PHI; None means
        the default PHI labels of `synth_notes`.
    """

    def __init__(
        self,
        name: str = "synth_phi",
        *,
        shapes: bool = True,
        names: bool = True,
        name_list: bool = True,
        relative_dates: bool = False,
        phi_labels: Optional[Sequence[str]] = None,
    ):
        self.name = name
        self.shapes = shapes
        self.names = names
        self.name_list = name_list
        self.relative_dates = relative_dates
        self.phi_labels = set(DEFAULT_PHI_LABELS if phi_labels is None else phi_labels)

    def __call__(self, doc: Doc) -> Doc:
        candidates: List[Tuple[int, Span]] = []
        for ent in filter(None, map(_trim_space, doc.ents)):
            candidates.append((NER_PHI if ent.label_ in self.phi_labels else NER_OTHER, ent))
        if self.shapes:
            candidates += self._spans(doc, find_shapes(doc.text), SHAPE)
        ner_phi = [span for priority, span in candidates if priority == NER_PHI]
        names = []
        if self.names:
            names += self._spans(doc, find_names(doc.text), NAME_RULE)
        if self.name_list:
            for match in find_listed_names(doc.text):
                # A full name outranks a clinical entity the NER made of it ("Jarmila Fiedlerová" as a
                # drug); a given name alone does not ("Addison").
                names += self._spans(doc, [match], NAME_RULE if match.rule == "listed_name" else LISTED_NAME)
        for priority, span in names:
            # The whole name around a part the NER found ("Martim A Pereira" around "Pereira").
            wider = any(o.start >= span.start and o.end <= span.end and len(o) < len(span) for o in ner_phi)
            candidates.append((NER_PHI if wider else priority, span))
        if self.relative_dates:
            candidates += self._spans(doc, find_relative_dates(doc.text), RELATIVE_DATE)
        ents = resolve(candidates)
        if self.shapes:
            ents = address_blocks(doc, intersections(doc, ents, self.phi_labels))
        doc.ents = ents
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterable[Doc]:
        for doc in stream:
            yield self(doc)

    @staticmethod
    def _spans(doc: Doc, matches, priority: int) -> List[Tuple[int, Span]]:
        out = []
        for match in matches:
            span = doc.char_span(match.start, match.end, label=match.label, alignment_mode="expand")
            if span is not None and len(span):
                out.append((priority, span))
        return out


def _trim_space(span: Span) -> Optional[Span]:
    """The span without the whitespace tokens at its edges ("CO\\n " -> "CO"); None if nothing is left."""
    start, end = span.start, span.end
    while start < end and span.doc[start].is_space:
        start += 1
    while end > start and span.doc[end - 1].is_space:
        end -= 1
    if start == end:
        return None
    return span if (start, end) == (span.start, span.end) else Span(span.doc, start, end, label=span.label)


def _address_line(tokens: Sequence, taken: Set[int]) -> bool:
    """Whether a line's tokens read as one line of a postal address ("Höfn", "Iceland 72399",
    "Apt. 322", "SMITH'S GREEN"): a few capitalized words, numbers and unit words, no sentence."""
    words = [t for t in tokens if not t.is_space]
    if not words or len(words) > _MAX_LINE_TOKENS:
        return False
    for token in words:
        text = token.text
        if token.i in taken or token.is_punct and text in {",", ".", "-", "(", ")", "#", "/"}:
            continue
        if not (text[0].isupper() or text[0].isdigit() or text.lower() in _ADDRESS_WORDS):
            return False
        if re.search(r"[:?!@=]", text):
            return False
    return True


def _addressee(doc: Doc, street_start: int, taken: Set[int]) -> Optional[Span]:
    """The name on the line above an address that starts a line ("Maureen Thibault" over "41086
    Kiannonkatu 98"), blank line allowed: two to four capitalized words or initials, name particles
    between them ("Dyan van Gijn"), and nothing else."""
    index = street_start - 1
    if index < 0 or not _newline(doc[index]) or doc[index].text.count("\n") > 2:
        return None
    end = index
    start = end
    while start > 0 and not _newline(doc[start - 1]):
        start -= 1
    words = [t for t in doc[start:end] if not t.is_space]
    if not 2 <= len(words) <= 4 or any(t.i in taken for t in words):
        return None
    if not (_name_word(words[0]) and _name_word(words[-1])):
        return None
    if not all(_name_word(t) or re.fullmatch(NAME_PARTICLES, t.text) for t in words[1:-1]):
        return None
    if any(t.lower_ in _NOT_ADDRESSEE for t in words):
        return None
    return Span(doc, words[0].i, words[-1].i + 1, label="PATIENT")


def _name_word(token) -> bool:
    """A capitalized word or an initial."""
    return token.is_title and token.is_alpha or re.fullmatch(r"[A-Z]\.?", token.text) is not None


def _newline(token) -> bool:
    return token.is_space and "\n" in token.text


def intersections(doc: Doc, ents: List[Span], phi_labels: Collection[str]) -> List[Span]:
    """Join the two streets of an intersection into one `STREET` entity.

    Two kinds. A street after "corner of" (or one that holds it), then "and" or "&" (at most
    three words or full stops the NER left out may come first: "Pentelis Str. and"), then the
    second street: the run of capitalized words, numbers and PHI entities of any label up to the
    end of the line or of the sentence (the NER may take a street for a town or a name, "the
    corner of Elm Road and King Forges", or find part of it); a clinical entity joins only if all
    its words are in title case ("Vedzizhev Greens" taken for a drug, never "HTN"). Or two streets
    with only "and" or "&" between them and no house number in the first ("Broadway and 5th Ave").
    An intersection is one place, and one surrogate then replaces it ("the corner of ... and ..."
    keeps its form, see `spacy_synthnotes.surrogates`); two streets with numbers ("12 Elm St and
    40 Oak Ave") stay two.

    doc (Doc): The note.
    ents (List[Span]): Its resolved entities, in order.
    phi_labels (Collection[str]): The PHI labels.
    RETURNS (List[Span]): The entities with each intersection as one span.
    """
    entity_at = {i: ent for ent in ents for i in range(ent.start, ent.end)}
    joined: List[Span] = []
    index = 0
    while index < len(ents):
        first = ents[index]
        end = None
        if first.label_ == "STREET":
            start = _corner_start(doc, first.start, joined[-1].end if joined else 0)
            if start is not None or _CORNER.search(first.text):
                end = _second_street_end(doc, first, entity_at, phi_labels)
            elif index + 1 < len(ents) and _two_streets(doc, first, ents[index + 1]):
                end = ents[index + 1].end
        if end is None:
            joined.append(first)
            index += 1
            continue
        joined.append(Span(doc, first.start if start is None else start, end, label="STREET"))
        index += 1
        while index < len(ents) and ents[index].start < end:
            index += 1
    return joined


_CORNER = re.compile(r"(?i)\bcorner of ")
# Where the second street of a corner ends at the latest.
_STOP = _SENTENCE_END | {",", "(", ")", '"'}
_MAX_STREET_TOKENS = 6


def _second_street_end(
    doc: Doc, first: Span, entity_at: Dict[int, Span], phi_labels: Collection[str]
) -> Optional[int]:
    """Where the second street of a corner ends (see `intersections`), or None if there is none."""
    inside = any(t.lower_ in {"and", "&"} for t in first)  # the NER took "and" and part of the second
    index = first.end
    if not inside:
        while index < len(doc) and index < first.end + 3 and (doc[index].is_alpha or doc[index].text == "."):
            if doc[index].lower_ in {"and", "&"} or index in entity_at:
                break
            index += 1
        if index >= len(doc) or doc[index].lower_ not in {"and", "&"}:
            return None
        index += 1
    end = index
    while end < len(doc) and end - index < _MAX_STREET_TOKENS:
        token = doc[end]
        if token.is_space or token.text in _STOP:
            break
        ent = entity_at.get(end)
        if ent is not None:
            clinical_street = all(t.is_title or t.is_punct for t in ent)
            if ent.start < end or not (ent.label_ in phi_labels or clinical_street):
                break
            end = ent.end
            continue
        if not (token.text[0].isupper() or token.is_digit):
            break
        end += 1
    return end if end > index or inside else None


def _two_streets(doc: Doc, first: Span, second: Span) -> bool:
    """Whether two entities are streets with only "and" or "&" between them, the first without a
    house number ("Broadway & 5th Ave")."""
    between = doc[first.end : second.start]
    return (
        second.label_ == "STREET"
        and len(between) == 1
        and between[0].lower_ in {"and", "&"}
        and not any(c.isdigit() for c in first.text)
    )


def _corner_start(doc: Doc, street_start: int, free_from: int) -> Optional[int]:
    """Where "corner of" (with "the" or "a" before it) starts just before a street; None if it is
    not there or another entity holds it."""
    start = street_start - 2
    if start < free_from or doc[start].lower_ != "corner" or doc[start + 1].lower_ != "of":
        return None
    if start - 1 >= free_from and doc[start - 1].lower_ in {"the", "a"}:
        start -= 1
    return start


def address_blocks(doc: Doc, ents: List[Span]) -> List[Span]:
    """Extend postal addresses over their block of lines.

    Below a line that ends with a street (and the town, postcode or country after it), each line
    that reads like an address line ("Höfn", "Iceland 72399", "Suite 4") becomes a `LOCATION`
    entity (`ZIP` for numbers), until a blank line, a sentence, a field ("Phone: ...") or another
    kind of entity (a clinical entity that is a state or region code, "PA" or "CT", is taken over
    by the line; quote or bullet marks before a line are passed over, "> Höfn"). A bare number just
    before a street joins it ("2035 Gewerbepark 45"), also before a place entity that ends with a number
    of its own, a street the NER took for a town ("4923 Parmova 109", see `_numbered_street`); one or
    two capitalized words before a street's house number may start it (see `_with_name_before`); and a
    name alone on the line above the street is the addressee (`PATIENT`).

    doc (Doc): The note.
    ents (List[Span]): Its resolved entities.
    RETURNS (List[Span]): The entities with the streets extended and the address lines added.
    """
    ents = [_numbered_street(doc, ent) for ent in ents]
    # A lone number the NER took for a postcode just before a street is its house number.
    numbers = {e.start for e in ents if len(e) == 1 and e.label_ == "ZIP" and e[0].is_digit}
    joined = set()
    for ent in ents:
        before = doc[ent.start - 1] if ent.start > 0 else None
        if ent.label_ == "STREET" and before is not None and before.is_digit and before.whitespace_:
            if before.i in numbers or not any(other.end == ent.start for other in ents):
                joined.add(before.i)
    extended = []
    for ent in ents:
        if ent.start in joined and ent.start in numbers:
            continue
        if ent.label_ == "STREET" and ent.start - 1 in joined:
            ent = Span(doc, ent.start - 1, ent.end, label=ent.label_)
        extended.append(ent)
    occupied = {i for ent in extended for i in range(ent.start, ent.end)}
    extended = [_with_name_before(doc, ent, occupied) for ent in extended]
    # A state or region code is often a clinical abbreviation too ("PA", "CT", "MS"): on an address
    # line, a clinical entity that is one such code is the address's.
    codes = {ent.start for ent in extended if _region_code(ent) and ent.label_ not in ADDRESS_LABELS}
    taken = {i for ent in extended for i in range(ent.start, ent.end) if ent.start not in codes}
    label_of = {
        i: ent.label_ for ent in extended for i in range(ent.start, ent.end) if ent.start not in codes
    }
    added: List[Span] = []
    for ent in extended:
        if ent.label_ != "STREET":
            continue
        addressee = _addressee(doc, ent.start, taken)
        if addressee is not None:
            added.append(addressee)
            taken.update(range(addressee.start, addressee.end))
        index = ent.end
        # The rest of the street's line may only hold address entities, punctuation and, not after a
        # full stop, the town ("Apt. 615 Moosleerau Switzerland", "Suite 104 Veszprém VE").
        while index < len(doc) and not _newline(doc[index]):
            token = doc[index]
            if token.is_punct and token.text in _SENTENCE_END:
                break
            if token.i not in taken and not token.is_punct and not token.is_space:
                # Not after a full stop: "40 Elm St. HTN" may be a new sentence.
                previous = next(t for t in reversed(doc[:index]) if not t.is_space)
                town = None if previous.text.endswith(".") else _town(doc, index, taken, label_of)
                if town is None:
                    break
                added.append(town)
                taken.update(range(town.start, town.end))
                index = town.end
                continue
            if not (token.is_punct or token.is_space or label_of.get(token.i) in ADDRESS_LABELS):
                break
            index += 1
        while index < len(doc) and _newline(doc[index]) and doc[index].text.count("\n") == 1:
            line_end = index + 1
            while line_end < len(doc) and not _newline(doc[line_end]):
                line_end += 1
            line = [t for t in doc[index + 1 : line_end] if not t.is_space]
            while line and _LINE_MARK.fullmatch(line[0].text):  # a quoted or bulleted block ("> Höfn")
                line.pop(0)
            if any(label_of.get(t.i, ADDRESS_LINE) not in ADDRESS_LABELS for t in line):
                break
            if not _address_line(line, taken):
                break
            run: List[int] = []
            for token in line + [None]:
                if token is not None and token.i not in taken:
                    run.append(token.i)
                    continue
                while run and doc[run[-1]].is_punct:
                    run.pop()
                while run and doc[run[0]].is_punct:
                    run.pop(0)
                if run:
                    # A run of numbers ("72399", "H-7907") is a postcode; words are a town or a region.
                    postcode = all(any(c.isdigit() for c in doc[i].text) for i in run)
                    added.append(Span(doc, run[0], run[-1] + 1, label="ZIP" if postcode else ADDRESS_LINE))
                    taken.update(range(run[0], run[-1] + 1))
                run = []
            index = line_end
    kept = [ent for ent in extended if ent.start not in codes or ent.start not in taken]
    return sorted(kept + added, key=lambda span: span.start)


# Marks before the lines of a quoted or bulleted block.
_LINE_MARK = re.compile(r"[>?*•·|]+")


def _numbered_street(doc: Doc, ent: Span) -> Span:
    """A place entity after a house number that ends with a number of its own is a street the NER took
    for a town ("4923 Parmova 109")."""
    if ent.label_ == "STREET" or ent.label_ not in ADDRESS_LABELS or ent.start == 0:
        return ent
    before = doc[ent.start - 1]
    if before.is_digit and before.whitespace_ and ent[0].is_title and ent[-1].is_digit:
        return Span(doc, ent.start, ent.end, label="STREET")
    return ent


# Words after which a street may start ("at Tungata 11 Rott Crossroad").
_BEFORE_STREET = {"at", "to", "in", "on", "is", "with", "and", "from", "near", ":"}


def _with_name_before(doc: Doc, ent: Span, occupied: Set[int]) -> Span:
    """A street that starts with its house number, after one or two capitalized words that start the
    line or follow "at", "to", "in"...: the words are the first part of the street ("It's in Tungata
    11 Rott Crossroad", "to Aqqusinersuaq 176 Pinto Hill")."""
    if ent.label_ != "STREET" or not ent[0].is_digit:
        return ent
    start = ent.start
    while start > 0 and ent.start - start < 2:
        token = doc[start - 1]
        capitalized = token.is_alpha and (token.is_title or token.is_upper)
        if token.i in occupied or not token.whitespace_ or not capitalized or token.is_stop:
            break
        if token.lower_ in _ADDRESS_WORDS:
            break
        start -= 1
    before = doc[start - 1] if start > 0 else None
    if start < ent.start and (before is None or _newline(before) or before.lower_ in _BEFORE_STREET):
        return Span(doc, start, ent.end, label="STREET")
    return ent


def _town(doc: Doc, start: int, taken: Set[int], label_of: Dict[int, str]) -> Optional[Span]:
    """Capitalized words from `start` to the end of the line or sentence, or to an address entity
    ("Moosleerau Switzerland", "SAINT-PRIEST"): at most four words, not a field name ("Phone:"), as a
    `LOCATION`; else None."""
    end = start
    while end < len(doc) and not _newline(doc[end]) and end not in taken:
        token = doc[end]
        if token.is_punct and token.text in _SENTENCE_END | {","}:
            break
        end += 1
    if end < len(doc) and (doc[end].text == ":" or label_of.get(end, ADDRESS_LINE) not in ADDRESS_LABELS):
        return None  # a field ("Phone:") or another kind of entity follows
    words = [t for t in doc[start:end] if not (t.is_space or t.is_punct and t.text in {"-", "'"})]
    if not 1 <= len(words) <= _MAX_LINE_TOKENS - 2:
        return None
    if not all(t.is_alpha and (t.is_title or t.is_upper) and t.lower_ not in _ADDRESS_WORDS for t in words):
        return None
    return Span(doc, words[0].i, words[-1].i + 1, label=ADDRESS_LINE)


def _region_code(span: Span) -> bool:
    """Whether a span is a single token of two or three capital letters ("PA", "CT", "NSW")."""
    return len(span) == 1 and re.fullmatch(r"[A-Z]{2,3}", span.text) is not None


def resolve(candidates: List[Tuple[int, Span]]) -> List[Span]:
    """Non-overlapping spans: by precedence, then longest, then earliest."""
    ordered = sorted(candidates, key=lambda c: (c[0], -len(c[1]), c[1].start))
    taken: Set[int] = set()
    kept = []
    for _, span in ordered:
        tokens = set(range(span.start, span.end))
        if not tokens & taken:
            taken |= tokens
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)
