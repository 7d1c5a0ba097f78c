"""The residual-PHI check: the last scan of every synthetic note before it leaves the pipe.

It finds identifier-shaped strings (`patterns.find_identifiers`) and the source
note's own PHI strings, wherever the generator wrote them outside the entities
it placed: a causal LM that writes "Jones" freely in the note made from Ms.
Jones's note has put her name back, whatever shape it has.
"""

from typing import Callable, Dict, List, Optional, Tuple

from ..generators.base import PHI, NotePlan, Segment
from .patterns import Match, find_identifiers, resolve_overlaps
from .strings import find_phi_strings, phi_strings

SOURCE_RULE = "source_phi"

MODES = ("replace", "drop", "off")


def merge_plain(segments: List[Segment]) -> List[Segment]:
    """Join neighbouring non-entity segments, so a match cannot straddle two of them."""
    merged: List[Segment] = []
    for segment in segments:
        if not segment.text:
            continue
        if merged and segment.label is None and merged[-1].label is None:
            merged[-1] = Segment(merged[-1].text + segment.text)
        else:
            merged.append(segment)
    return merged


def source_phi(plan: NotePlan) -> Dict[str, Tuple[str, str]]:
    """The source note's PHI strings, as `privacy.leakage` counts them (`strings.phi_strings`)."""
    return phi_strings(
        plan.text,
        [(e.start, e.end, e.label) for e in plan.entities if e.action == PHI],
        [(e.start, e.end) for e in plan.entities],
    )


def residual_matches(
    segments: List[Segment], names: bool = True, own: Optional[Dict[str, Tuple[str, str]]] = None
) -> List[Match]:
    """Identifier-shaped strings of the note text, and the strings of `own` (`source_phi`), that are not
    inside an entity the pipe wrote; the longer of two overlapping matches is kept."""
    text = "".join(s.text for s in segments)
    entity_ranges = []
    offset = 0
    for segment in segments:
        if segment.label is not None:
            entity_ranges.append((offset, offset + len(segment.text)))
        offset += len(segment.text)
    found = find_identifiers(text, names=names)
    if own:
        found = resolve_overlaps(
            [
                *found,
                *(Match(start, end, label, SOURCE_RULE) for start, end, label in find_phi_strings(text, own)),
            ]
        )
    return [m for m in found if all(m.end <= start or m.start >= end for start, end in entity_ranges)]


def scrub(
    segments: List[Segment],
    replace: Callable[[str, str], str],
    names: bool = True,
    own: Optional[Dict[str, Tuple[str, str]]] = None,
) -> Tuple[List[Segment], List[Match]]:
    """Replace residual identifiers by surrogates, as new PHI entity segments.

    segments (List[Segment]): The generator's output for one note.
    replace (Callable[[str, str], str]): (text, label) -> surrogate, consistent within the note.
    names (bool): Also scan with the name heuristics, not only the shape patterns.
    own (Optional[Dict[str, Tuple[str, str]]]): The source note's PHI strings (`source_phi`).
    RETURNS (Tuple[List[Segment], List[Match]]): The new segments and the matches replaced.
    """
    segments = merge_plain(segments)
    matches = residual_matches(segments, names=names, own=own)
    if not matches:
        return segments, []
    out: List[Segment] = []
    offset = 0
    pending = list(matches)
    for segment in segments:
        end = offset + len(segment.text)
        if segment.label is not None:
            out.append(segment)
            offset = end
            continue
        cursor = offset
        while pending and pending[0].start < end:
            match = pending.pop(0)
            if match.start > cursor:
                out.append(Segment(segment.text[cursor - offset : match.start - offset]))
            original = segment.text[match.start - offset : match.end - offset]
            out.append(Segment(replace(original, match.label), match.label))
            cursor = match.end
        if cursor < end:
            out.append(Segment(segment.text[cursor - offset :]))
        offset = end
    return out, matches
