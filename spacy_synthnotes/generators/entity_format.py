"""The text format of the entity-conditioned generator: a plan as the prompt, a marked note as the target.

    <|plan|>note type: progress note
    PROBLEM: chest pain
    DRUG: lisinopril
    PATIENT: Mary Jones
    <|note|>Ms. <|e|>Mary Jones<|/e|> c/o <|e|>chest pain<|/e|>, started <|e|>lisinopril<|/e|> ...<|end|>

A note too long for the model's context is written in parts: `note_parts` cuts
it at line ends into pieces whose plan and marked text fit, each piece is an
example of its own with `part: k of n` after the note type, and the generator
writes a long note part by part from the same cuts of its source.

Entities are listed in note order. In the target every entity is wrapped in
`<|e|>...<|/e|>`; `parse_marked` turns generated text back into segments, each
marked span matched to an unused plan entity with the same text, so its label
and character span are exact. Markers that match nothing, unclosed markers and
plan entities never written are counted, never guessed.
"""

from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .base import Segment

PLAN = "<|plan|>"
NOTE = "<|note|>"
END = "<|end|>"
OPEN = "<|e|>"
CLOSE = "<|/e|>"
PAD = "<|pad|>"
SPECIAL_TOKENS = [PLAN, NOTE, END, OPEN, CLOSE, PAD]


def clean(text: str) -> str:
    """Entity text as it goes into the plan: one line, no marker strings."""
    for token in SPECIAL_TOKENS:
        text = text.replace(token, " ")
    return " ".join(text.split())


def serialize_plan(
    entities: Sequence[Tuple[str, str]],
    note_type: Optional[str] = None,
    part: Optional[Tuple[int, int]] = None,
) -> str:
    """The prompt: the note type (and `part: k of n` for a part of a long note), one `LABEL: text`
    line per entity, in order, then `<|note|>`."""
    lines = [f"note type: {clean(note_type or 'note')}"]
    if part is not None and part[1] > 1:
        lines.append(f"part: {part[0]} of {part[1]}")
    lines += [f"{label}: {clean(text)}" for label, text in entities]
    return PLAN + "\n".join(lines) + "\n" + NOTE


def mark_note(text: str, entities: Sequence[Tuple[int, int, str]]) -> str:
    """The target: `text` with each (start, end, label) entity wrapped in markers, then `<|end|>`."""
    parts, cursor = [], 0
    for start, end, _ in sorted(entities):
        parts += [text[cursor:start], OPEN, text[start:end], CLOSE]
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts) + END


def note_parts(
    text: str,
    entities: Sequence[Tuple[int, int]],
    cost: Callable[[int, int], int],
    budget: int,
) -> List[Tuple[int, int]]:
    """Cut a note at line ends into parts whose `cost` (tokens of the part's prompt and target) fits.

    text (str): The note.
    entities (Sequence[Tuple[int, int]]): (start, end) of its entities: no cut falls inside one.
    cost (Callable[[int, int], int]): Tokens of the part text[start:end] as an example.
    budget (int): Most tokens of a part (the model's context).
    RETURNS (List[Tuple[int, int]]): (start, end) of each part, in order, covering the whole text.
        Lines are added to a part while it fits; a single line that does not fit is a part of its own
        (it is cut at the context like any over-long example). A note that fits is one part.
    """
    if not text or cost(0, len(text)) <= budget:
        return [(0, len(text))]
    inside = [False] * (len(text) + 1)
    for start, end in entities:
        for i in range(start + 1, end):
            inside[i] = True
    cuts = [i + 1 for i, char in enumerate(text) if char == "\n" and i + 1 < len(text) and not inside[i + 1]]
    parts: List[Tuple[int, int]] = []
    start, end = 0, None
    for cut in cuts + [len(text)]:
        if end is not None and cost(start, cut) > budget:
            parts.append((start, end))
            start = end
        end = cut
    parts.append((start, len(text)))
    return parts


def part_cost(
    text: str,
    entities: Sequence[Tuple[int, int, str, str]],
    note_type: Optional[str],
    count: Callable[[str], int],
) -> Callable[[int, int], int]:
    """The `cost` that `note_parts` takes: tokens of the example a part of `text` makes.

    text (str): The note.
    entities (Sequence[Tuple[int, int, str, str]]): (start, end, label, plan text) of the entities the
        plan lists; those inside a part are listed in its prompt and marked in its target.
    note_type (Optional[str]): The note type of the plan.
    count (Callable[[str], int]): Tokens of a string (the tokenizer of the model).
    RETURNS (Callable[[int, int], int]): Tokens of the prompt and target of text[start:end], costed with
        a `part: k of n` line.
    """
    ordered = sorted(entities)

    def cost(start: int, end: int) -> int:
        inside = [entity for entity in ordered if start <= entity[0] and entity[1] <= end]
        prompt = serialize_plan([(label, plan_text) for _, _, label, plan_text in inside], note_type, (2, 2))
        target = mark_note(text[start:end], [(s - start, e - start, label) for s, e, label, _ in inside])
        return count(prompt + target)

    return cost


def parse_marked(generated: str, entities: Sequence[Tuple[str, str]]) -> Tuple[List[Segment], Dict[str, int]]:
    """Segments of a generated note; `entities` are the plan's (label, text), in plan order.

    RETURNS (Tuple[List[Segment], Dict[str, int]]): the segments (entity
        segments carry the plan index as `source`) and counts: `entities_written`,
        `entities_missing` (plan entities never written), `unknown_markers`
        (marked text matching no unused plan entity: kept as plain text) and
        `unclosed_markers`.
    """
    text = generated.split(END, 1)[0]
    for token in (PLAN, NOTE, PAD):
        text = text.replace(token, "")
    unused: Dict[str, List[int]] = {}
    for i, (_, entity_text) in enumerate(entities):
        unused.setdefault(clean(entity_text), []).append(i)
    segments: List[Segment] = []
    counts = {"entities_written": 0, "entities_missing": 0, "unknown_markers": 0, "unclosed_markers": 0}
    cursor = 0
    while True:
        start = text.find(OPEN, cursor)
        if start < 0:
            segments.append(Segment(text[cursor:].replace(CLOSE, "")))
            break
        segments.append(Segment(text[cursor:start].replace(CLOSE, "")))
        end = text.find(CLOSE, start)
        following = text.find(OPEN, start + len(OPEN))
        if end < 0 or 0 <= following < end:
            counts["unclosed_markers"] += 1
            cursor = start + len(OPEN)
            continue
        inner = text[start + len(OPEN) : end]
        candidates = unused.get(clean(inner))
        if candidates and inner == inner.strip() and inner:
            index = candidates.pop(0)
            segments.append(Segment(inner, entities[index][0], index))
            counts["entities_written"] += 1
        else:
            segments.append(Segment(inner))
            counts["unknown_markers"] += 1
        cursor = end + len(CLOSE)
    counts["entities_missing"] = sum(len(v) for v in unused.values())
    return [s for s in segments if s.text], counts
