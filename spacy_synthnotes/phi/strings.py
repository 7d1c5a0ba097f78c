"""A note's PHI strings, compared as the leakage evaluator compares them: case-folded whole words.

`privacy.leakage` counts a training note's PHI string as leaked when it occurs
in a synthetic note; the residual check (`phi.residual`) finds the source
note's own strings in its synthetic note by the same rule and replaces them,
so what the check lets through is what the evaluator does not count.
"""

import re
from typing import Collection, Dict, List, Sequence, Set, Tuple

from spacy.tokens import Doc

WORD = re.compile(r"\w+|[^\w\s]")
MIN_CHARS = 3


def word_tokens(text: str) -> List[str]:
    """Words and punctuation marks, case kept: the unit of verbatim n-gram matching."""
    return WORD.findall(text)


def key(text: str) -> str:
    """A PHI string or text span as compared: case-folded words and punctuation, single-spaced."""
    return " ".join(word_tokens(text.casefold()))


def grams(text: str, max_n: int) -> Set[str]:
    """Every run of 1..max_n tokens of `text`, as keys (whole-word matching)."""
    tokens = word_tokens(text.casefold())
    return {" ".join(tokens[i : i + n]) for n in range(1, max_n + 1) for i in range(len(tokens) - n + 1)}


def phi_strings(
    text: str,
    phi: Sequence[Tuple[int, int, str]],
    entities: Sequence[Tuple[int, int]],
    min_chars: int = MIN_CHARS,
) -> Dict[str, Tuple[str, str]]:
    """The distinct PHI strings of one note: key -> (label, text as written).

    text (str): The note.
    phi (Sequence[Tuple[int, int, str]]): (start, end, label) of its PHI entities.
    entities (Sequence[Tuple[int, int]]): (start, end) of all its entities, sorted.
    min_chars (int): Shorter keys are left out ("Al", "12").
    RETURNS (Dict[str, Tuple[str, str]]): Strings the note also uses outside its entities are left
        out ("wall" as a surname and in "chest wall"): not identifying there.
    """
    found = {key(text[s:e]): (label, text[s:e]) for s, e, label in phi if len(key(text[s:e])) >= min_chars}
    if not found:
        return found
    cursor, outside = 0, []
    for start, end in entities:
        outside.append(text[cursor:start])
        cursor = end
    outside.append(text[cursor:])
    plain = grams("\n".join(outside), max(len(k.split()) for k in found))
    return {k: written for k, written in found.items() if k not in plain}


def doc_phi_strings(
    doc: Doc, labels: Collection[str], min_chars: int = MIN_CHARS
) -> Dict[str, Tuple[str, str]]:
    """`phi_strings` of an annotated Doc: its entities with a label in `labels` are its PHI."""
    return phi_strings(
        doc.text,
        [(e.start_char, e.end_char, e.label_) for e in doc.ents if e.label_ in labels],
        [(e.start_char, e.end_char) for e in doc.ents],
        min_chars,
    )


def find_phi_strings(text: str, strings: Dict[str, Tuple[str, str]]) -> List[Tuple[int, int, str]]:
    """(start, end, label) of every whole-word occurrence of `strings` (keys of `phi_strings`) in
    `text`, longest first where they overlap."""
    if not strings:
        return []
    tokens = list(WORD.finditer(text))
    folded = [t.group().casefold() for t in tokens]
    longest = max(len(k.split()) for k in strings)
    out: List[Tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        for n in range(min(longest, len(tokens) - i), 0, -1):
            found = strings.get(" ".join(folded[i : i + n]))
            if found is not None:
                out.append((tokens[i].start(), tokens[i + n - 1].end(), found[0]))
                i += n
                break
        else:
            i += 1
    return out
