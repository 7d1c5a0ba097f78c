"""Line templates released with differential privacy: the whole lines a note writes its entities on.

Clinical notes hold many formatted lines ("MRN: 1234567", "Attending: Dr. X,
MD", "2. metoprolol 25 mg PO BID"). A line's template is its text with each
entity cut out: the labels in order and the text around them (`note_lines`).
`train-causal` (`[training.contexts] lines`) counts each unit (patient) once
for each distinct template it has, up to `lines` of them (drawn at random), in
the same Gaussian release as the entity contexts (`entity_contexts`), so only
templates that many units share are kept.

EntityConditioned.v3 writes with them: each line of the source note whose
entities (all of them kept, labels in order) match released templates is
written from one of those templates, drawn by noisy count, with the plan's
entities in the slots (`template_lines`). The model still writes the whole note
from the whole plan (a model trained on whole notes, left without the header
entities, wrote header-like text of its own around no entity, with names in
it); then the lines where it wrote the templated entities give way to the
template lines (`merge_lines`). What comes from the source is what the plan
already gives (its entities, their order) and which of them shared a line; the
words around them come from the released templates.

With `[training.contexts] sentences = true` a template is one sentence of a
line instead of the whole line (`sentence_cuts`): a line such as "SOCIAL
HISTORY: Works as a chef. Lives in Reno, NV with her son Tom. Denies tobacco
use." is rarely shared whole, its sentences often are. The release records it
and v3 cuts the source the same way; the templated sentences of a line are
written together on one line, one space apart, and a sentence without entities
is not written from a template. A short template carries its own assertion ("No
{PROBLEM}.", "Denies {PROBLEM}."), so a sentence is written only from templates
that hold a negation cue when it does, and none when it does not (`negated`).
"""

import random
import re
from typing import Any, Dict, List, Sequence, Tuple

from .base import Segment

LineTemplate = Tuple[Tuple[str, ...], Tuple[str, ...]]  # (labels, pieces): one more piece than labels

# a sentence ends at . ! or ? followed by blanks and a capital (or an opening bracket, "#" or a digit)
_SENTENCE_END = re.compile(r"(?<=[.!?])[ \t]+(?=[A-Z0-9#(\[])")
# words whose stop ends an abbreviation, not a sentence
_TITLES = {"Dr", "Mr", "Mrs", "Ms", "Mx", "Pt", "St", "Jr", "Sr", "Prof", "vs", "approx", "No"}
# the cue words of a negated finding (NegEx's commonest): "No {PROBLEM}.", "Denies {PROBLEM}."
_NEGATION = re.compile(
    r"\b(?:no|not|denies|denied|denying|without|negative for|free of|never"
    r"|rules? out|ruled out|r/o|absence of)\b",
    re.IGNORECASE,
)


def line_groups(text: str, spans: Sequence[Tuple[int, int]]) -> List[Tuple[int, int, List[int]]]:
    """The lines of `text` that hold spans, with the spans on each.

    text (str): The note.
    spans (Sequence[Tuple[int, int]]): (start, end) of its entities, non-overlapping.
    RETURNS (List[Tuple[int, int, List[int]]]): (line start, line end, indices of the spans on it, in
        text order) for each line that holds at least one span; a line that a span crosses into or out
        of is left out.
    """
    crossed, groups = set(), {}
    for index in sorted(range(len(spans)), key=lambda i: spans[i]):
        start, end = spans[index]
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", start)
        line_end = len(text) if line_end == -1 else line_end
        if end > line_end:  # every line the span touches has no template
            while line_start < end:
                crossed.add(line_start)
                line_start = text.find("\n", line_start) + 1 or end
            continue
        groups.setdefault(line_start, (line_end, []))[1].append(index)
    return [(start, end, members) for start, (end, members) in sorted(groups.items()) if start not in crossed]


def sentence_cuts(text: str, start: int, end: int, spans: Sequence[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """The sentences of one line, as (start, end) without the blanks between them.

    text (str): The note.
    start (int): The line's start.
    end (int): The line's end (its line break or the note's end).
    spans (Sequence[Tuple[int, int]]): The note's entities: no cut falls inside one.
    RETURNS (List[Tuple[int, int]]): The sentences in order, covering the line but for the blanks at
        each cut. A cut is a stop (. ! ?) followed by blanks and a capital, digit, "#" or bracket, where
        the word before the stop is not a title ("Dr.", "Mrs.", "Pt."), a single letter, or a number
        that is the sentence's only word (a list number: "1. Aspirin").
    """
    out, begin = [], start
    for match in _SENTENCE_END.finditer(text, start, end):
        words = text[begin : match.start()].split()
        last = words[-1][:-1] if text[match.start() - 1] == "." else ""
        abbreviation = last in _TITLES or (len(last) == 1 and last.isalpha())
        if abbreviation or (len(words) == 1 and last.isdigit()):
            continue
        if any(s < match.end() and match.start() < e for s, e in spans):
            continue
        out.append((begin, match.start()))
        begin = match.end()
    return out + [(begin, end)]


def negated(pieces: Sequence[str]) -> bool:
    """Whether the words around a sentence's entities hold a negation cue ("no", "denies", "without",
    "negative for", "rule out", ...).

    pieces (Sequence[str]): The text around the entities (a template's pieces).
    RETURNS (bool): True when a cue word is there.
    """
    return any(_NEGATION.search(piece) for piece in pieces)


def template_units(
    text: str, spans: Sequence[Tuple[int, int]], sentences: bool = False
) -> List[Tuple[int, int, List[int]]]:
    """The units templates are taken of: the lines of `line_groups`, or their sentences.

    text (str): The note.
    spans (Sequence[Tuple[int, int]]): (start, end) of its entities, non-overlapping.
    sentences (bool): Cut each line into sentences (`sentence_cuts`); those without spans are left out.
    RETURNS (List[Tuple[int, int, List[int]]]): (unit start, unit end, indices of its spans in text
        order), in text order.
    """
    lines = line_groups(text, spans)
    if not sentences:
        return lines
    out = []
    for line_start, line_end, members in lines:
        for start, end in sentence_cuts(text, line_start, line_end, spans):
            inside = [i for i in members if start <= spans[i][0] and spans[i][1] <= end]
            if inside:
                out.append((start, end, inside))
    return out


def note_lines(
    text: str, entities: Sequence[Tuple[int, int, str]], sentences: bool = False
) -> List[LineTemplate]:
    """The template of each line (or sentence) of a note that holds entities (see `template_units`).

    text (str): The note.
    entities (Sequence[Tuple[int, int, str]]): (start, end, label), non-overlapping.
    sentences (bool): One template per sentence of a line instead of per line.
    RETURNS (List[LineTemplate]): (labels, pieces) per unit, in order: the text around the entities,
        from the unit's start to its end (without the line break or the blanks after a sentence).
    """
    return [
        (
            tuple(entities[i][2] for i in members),
            unit_pieces(text, start, end, [entities[i] for i in members]),
        )
        for start, end, members in template_units(text, [(s, e) for s, e, _ in entities], sentences)
    ]


def unit_pieces(text: str, start: int, end: int, inside: Sequence[Tuple[int, int, Any]]) -> Tuple[str, ...]:
    """The text of `text[start:end]` around the entities `inside` it (in text order): one more piece
    than entities."""
    cuts = [start] + [x for entity in inside for x in entity[:2]] + [end]
    return tuple(text[cuts[k] : cuts[k + 1]] for k in range(0, len(cuts), 2))


def template_lines(
    text: str,
    spans: Sequence[Tuple[int, int, str]],
    written: Dict[int, str],
    templates: Sequence[Any],
    rng: random.Random,
    sentences: bool = False,
) -> List[Tuple[int, List[Segment]]]:
    """The source lines written from released templates, as segments.

    text (str): The source note.
    spans (Sequence[Tuple[int, int, str]]): (start, end, label) of all its entities.
    written (Dict[int, str]): Index -> text of the entities to write (PHI as surrogates); a line with
        any other entity (dropped, or in another part) is not templated.
    templates (Sequence[Any]): The released templates: [labels, pieces, noisy count] each.
    rng (random.Random): Draws a template among those of a unit's labels, weighted by count.
    sentences (bool): The templates are of sentences (the release's record says so): the templated
        sentences that follow each other on a source line are written on one line, one space apart,
        and a sentence is written only from templates that are negated (`negated`) when it is, and not
        when it is not, so "Pt c/o {PROBLEM}." never comes back as "Denies {PROBLEM}.".
    RETURNS (List[Tuple[int, List[Segment]]]): (index of the line's first entity, its segments ending
        with a line break) for each templated line (or run of sentences), in order.
    """
    options: Dict[Tuple[str, ...], List[Tuple[Sequence[str], float]]] = {}
    for labels, pieces, count in templates:
        options.setdefault(tuple(labels), []).append((pieces, float(count)))
    out: List[Tuple[int, List[Segment]]] = []
    run_end = -1  # where the last templated unit ended
    for start, end, members in template_units(text, [(s, e) for s, e, _ in spans], sentences):
        labels = tuple(spans[i][2] for i in members)
        if labels not in options or any(i not in written for i in members):
            continue
        choices = options[labels]
        if sentences:
            negation = negated(unit_pieces(text, start, end, [spans[i] for i in members]))
            choices = [(p, c) for p, c in choices if negated(p) == negation]
            if not choices:
                continue
        pieces = rng.choices([p for p, _ in choices], weights=[c for _, c in choices])[0]
        segments = [Segment(pieces[0])] if pieces[0] else []
        for i, piece in zip(members, pieces[1:]):
            segments.append(Segment(written[i], spans[i][2], i))
            if piece:
                segments.append(Segment(piece))
        if (
            0 <= run_end < start
            and "\n" not in text[run_end:start]
            and not any(run_end <= s < start for s, _, _ in spans)
        ):  # the next templated sentence of the same line, no entity between: the run goes on
            out[-1][1][-1] = Segment(" ")  # its line break becomes the space between the sentences
            out[-1][1].extend(segments + [Segment("\n")])
        else:
            out.append((members[0], segments + [Segment("\n")]))
        run_end = end
    return out


def merge_lines(segments: Sequence[Segment], lines: Sequence[Tuple[int, List[Segment]]]) -> List[Segment]:
    """Put template lines in place of the generated lines that wrote their entities.

    segments (Sequence[Segment]): The generated note, which wrote every plan entity (templated or not);
        its entities carry their source index.
    lines (Sequence[Tuple[int, List[Segment]]]): `template_lines` output.
    RETURNS (List[Segment]): The note: a generated line that holds templated entities loses them, and
        the whole line goes when no other entity is left on it; the template lines take its place, in
        source order. A template line whose entities the model did not write goes before the first
        generated line whose first entity comes later in the source, or at the end. Every template
        line starts on a line of its own.
    """
    if not lines:
        return list(segments)
    rows: List[List[Segment]] = [[]]
    for segment in segments:
        if segment.label is not None or "\n" not in segment.text:
            rows[-1].append(segment)
            continue
        *complete, rest = segment.text.split("\n")
        for piece in complete:
            rows[-1].append(Segment(piece + "\n"))
            rows.append([])
        if rest:
            rows[-1].append(Segment(rest))
    pending = sorted(lines, key=lambda line: line[0])
    templated = {s.source for _, line in lines for s in line if s.source is not None}
    out: List[Segment] = []

    def put(line: List[Segment]) -> None:
        if out and not out[-1].text.endswith("\n"):
            out.append(Segment("\n"))
        out.extend(line)

    for row in rows:
        sources = [s.source for s in row if s.source is not None]
        while sources and pending and pending[0][0] < min(sources):
            put(pending.pop(0)[1])
        replaced = [source for source in sources if source in templated]
        if not replaced:
            out.extend(row)
            continue
        if len(replaced) < len(sources):  # the row's other entities stay, on a line of their own
            rest = [s for s in row if s.source not in templated]
            blank = ""  # no trailing blanks where templated entities were cut from the line's end
            while rest[-1].label is None and not rest[-1].text.strip():
                blank = rest.pop().text + blank
            put(rest + ([Segment("\n")] if "\n" in blank else []))
        while pending and pending[0][0] <= max(replaced):
            put(pending.pop(0)[1])
    for _, line in pending:
        put(line)
    return out
