"""The text format of the entity-conditioned generator: a plan as the prompt, a marked note as the target.

    <|plan|>note type: progress note
    PROBLEM: chest pain
    DRUG: lisinopril
    PATIENT: Mary Jones
    <|note|>Ms. <|e|>Mary Jones<|/e|> c/o <|e|>chest pain<|/e|>, started <|e|>lisinopril<|/e|> ...<|end|>

Entities are listed in note order. In the target every entity is wrapped in
`<|e|>...<|/e|>`; `parse_marked` turns generated text back into segments, each
marked span matched to an unused plan entity with the same text, so its label
and character span are exact. Markers that match nothing, unclosed markers and
plan entities never written are counted, never guessed.
"""

from typing import Dict, List, Optional, Sequence, Tuple

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


def serialize_plan(entities: Sequence[Tuple[str, str]], note_type: Optional[str] = None) -> str:
    """The prompt: the note type and one `LABEL: text` line per entity, in order, then `<|note|>`."""
    lines = [f"note type: {clean(note_type or 'note')}"]
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
