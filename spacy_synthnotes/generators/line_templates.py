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
"""

import random
from typing import Any, Dict, List, Sequence, Tuple

from .base import Segment

LineTemplate = Tuple[Tuple[str, ...], Tuple[str, ...]]  # (labels, pieces): one more piece than labels


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


def note_lines(text: str, entities: Sequence[Tuple[int, int, str]]) -> List[LineTemplate]:
    """The template of each line of a note that holds entities (see `line_groups`).

    text (str): The note.
    entities (Sequence[Tuple[int, int, str]]): (start, end, label), non-overlapping.
    RETURNS (List[LineTemplate]): (labels, pieces) per line, in order: the text around the entities,
        from the line start to the line end (without the line break).
    """
    out: List[LineTemplate] = []
    for line_start, line_end, members in line_groups(text, [(s, e) for s, e, _ in entities]):
        pieces, cursor = [], line_start
        for i in members:
            pieces.append(text[cursor : entities[i][0]])
            cursor = entities[i][1]
        pieces.append(text[cursor:line_end])
        out.append((tuple(entities[i][2] for i in members), tuple(pieces)))
    return out


def template_lines(
    text: str,
    spans: Sequence[Tuple[int, int, str]],
    written: Dict[int, str],
    templates: Sequence[Any],
    rng: random.Random,
) -> List[Tuple[int, List[Segment]]]:
    """The source lines written from released templates, as segments.

    text (str): The source note.
    spans (Sequence[Tuple[int, int, str]]): (start, end, label) of all its entities.
    written (Dict[int, str]): Index -> text of the entities to write (PHI as surrogates); a line with
        any other entity (dropped, or in another part) is not templated.
    templates (Sequence[Any]): The released templates: [labels, pieces, noisy count] each.
    rng (random.Random): Draws a template among those of a line's labels, weighted by count.
    RETURNS (List[Tuple[int, List[Segment]]]): (index of the line's first entity, its segments ending
        with a line break) for each templated line, in order.
    """
    options: Dict[Tuple[str, ...], List[Tuple[Sequence[str], float]]] = {}
    for labels, pieces, count in templates:
        options.setdefault(tuple(labels), []).append((pieces, float(count)))
    out: List[Tuple[int, List[Segment]]] = []
    for _, _, members in line_groups(text, [(s, e) for s, e, _ in spans]):
        labels = tuple(spans[i][2] for i in members)
        if labels not in options or any(i not in written for i in members):
            continue
        choices = options[labels]
        pieces = rng.choices([p for p, _ in choices], weights=[c for _, c in choices])[0]
        segments = [Segment(pieces[0])] if pieces[0] else []
        for i, piece in zip(members, pieces[1:]):
            segments.append(Segment(written[i], spans[i][2], i))
            if piece:
                segments.append(Segment(piece))
        out.append((members[0], segments + [Segment("\n")]))
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
