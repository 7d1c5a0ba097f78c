"""What every corpus reader shares: span validation, error reporting, Doc and Example building."""

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example

from ..extensions import NOTE_META, install_extensions

logger = logging.getLogger("spacy_synthnotes")

ON_ERROR = ("raise", "skip")
ALIGNMENT_MODES = ("strict", "contract", "expand", "split")
_WARN_FIRST = 5
DEFAULT_MAX_CHARS = 1_000_000


class CorpusError(ValueError):
    """A problem in an input file, with the file and the line or record it is on."""

    def __init__(self, path: Path, location: str, problem: str):
        self.path = Path(path)
        self.location = location
        self.problem = problem
        super().__init__(f"{path}, {location}: {problem}")


@dataclass(frozen=True)
class Problem:
    """One input problem that was skipped instead of raised."""

    path: str
    location: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}, {self.location}: {self.problem}"


@dataclass
class Record:
    """An annotated text as a reader found it, before validation.

    spans hold (start, end, label, location) with `location` naming the line or
    field the span came from, for error messages.
    """

    path: Path
    location: str
    text: str
    spans: List[Tuple[int, int, str, str]]
    meta: Dict[str, Any] = field(default_factory=dict)
    words: Optional[List[str]] = None
    spaces: Optional[List[bool]] = None


class ProblemLog:
    """Raise on the first problem (`on_error="raise"`) or collect and log it ("skip")."""

    def __init__(self, on_error: str):
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
        self.on_error = on_error
        self.problems: List[Problem] = []

    def report(self, path: Path, location: str, problem: str) -> None:
        """Raise a CorpusError, or record the problem and log a warning."""
        if self.on_error == "raise":
            raise CorpusError(path, location, problem)
        item = Problem(str(path), location, problem)
        self.problems.append(item)
        if len(self.problems) <= _WARN_FIRST:
            logger.warning("Skipped: %s", item)
        elif len(self.problems) == _WARN_FIRST + 1:
            logger.warning("More problems skipped; the reader's `problems` lists them all.")


def decode(data: bytes, path: Path, encoding: str = "utf8", first_line: int = 1) -> str:
    """Decode file bytes, naming the line and byte of an undecodable sequence.

    first_line (int): The line number `data` starts on in its file.
    """
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + first_line
        raise CorpusError(
            path,
            f"line {line} (byte {err.start})",
            f"not valid {encoding}: {err.reason} ({data[err.start : err.end]!r}). "
            f"Re-encode the file as {encoding} or pass the reader's `encoding` option.",
        ) from None


class AnnotatedCorpus:
    """Base of the readers: turns `Record`s into validated Docs and Examples.

    Subclasses implement `records()`. A corpus object is what a registered
    reader returns, so it plugs into `[corpora.train]` of a spaCy training
    config: calling it with `nlp` yields `Example`s.

    labels (Optional[Sequence[str]]): Known labels; a span with another label is
        a problem. None accepts every label.
    on_error (str): "raise" (default) raises `CorpusError` on the first problem;
        "skip" drops the bad span (or record), logs it and keeps it in `problems`.
    max_chars (int): Longest text accepted, in characters.
    limit (int): Read at most this many records (0 = all).
    alignment_mode (str): "strict" reports a span that does not fall on token
        boundaries; "contract" / "expand" snap it to the tokens inside / around it
        (spaCy's `Doc.char_span` modes); "split" splits the tokens a span boundary
        falls inside, so every span keeps its exact characters (for text whose
        entities are glued to their neighbours, as a generator may write them).

    Whitespace at either end of a span (a space, a line break, a hair space) is trimmed
    off, since spaCy's NER cannot be trained on such a span; a span of whitespace alone
    is a problem.
    """

    def __init__(
        self,
        labels: Optional[Sequence[str]] = None,
        on_error: str = "raise",
        max_chars: int = DEFAULT_MAX_CHARS,
        limit: int = 0,
        alignment_mode: str = "strict",
    ):
        if alignment_mode not in ALIGNMENT_MODES:
            raise ValueError(f"alignment_mode must be one of {ALIGNMENT_MODES}, got {alignment_mode!r}")
        self.alignment_mode = alignment_mode
        self.labels = None if labels is None else set(labels)
        self.log = ProblemLog(on_error)
        self.max_chars = max_chars
        self.limit = limit

    @property
    def problems(self) -> List[Problem]:
        """The problems skipped so far (empty with on_error="raise")."""
        return self.log.problems

    def records(self) -> Iterator[Record]:  # pragma: no cover - abstract
        raise NotImplementedError

    def docs(self, nlp: Language) -> Iterator[Doc]:
        """Yield one Doc per valid record, with its entities set."""
        install_extensions()
        count = 0
        for record in self.records():
            if self.limit and count >= self.limit:
                break
            doc = self.to_doc(nlp, record)
            if doc is not None:
                count += 1
                yield doc

    def __call__(self, nlp: Language) -> Iterator[Example]:
        """Yield training Examples: the tokenized text and the annotated reference."""
        for doc in self.docs(nlp):
            predicted = Doc(doc.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])
            yield Example(predicted, doc)

    def to_doc(self, nlp: Language, record: Record) -> Optional[Doc]:
        """Validate a record and build its Doc; None if the record is skipped."""
        if not record.text.strip():
            self.log.report(record.path, record.location, "empty text")
            return None
        if len(record.text) > self.max_chars:
            self.log.report(
                record.path,
                record.location,
                f"text has {len(record.text):,} characters, more than max_chars={self.max_chars:,}",
            )
            return None
        if record.words is not None:
            doc = Doc(nlp.vocab, words=record.words, spaces=record.spaces)
        else:
            doc = nlp.make_doc(record.text)
            if self.alignment_mode == "split":
                doc = split_at(doc, [b for start, end, _, _ in record.spans for b in (start, end)])
        doc._.set(NOTE_META, dict(record.meta) if record.meta else None)
        doc.ents = list(self._valid_spans(doc, record))
        return doc

    def _valid_spans(self, doc: Doc, record: Record):
        previous_end, previous_where = -1, ""
        n = len(record.text)
        spans = []
        for start, end, label, where in record.spans:
            if isinstance(start, int) and isinstance(end, int) and not isinstance(start, bool):
                spans.append((start, end, label, where))
            else:
                self.log.report(
                    record.path,
                    f"{record.location}, {where}",
                    f"span offsets must be integers, got {start!r}, {end!r}",
                )
        for start, end, label, where in sorted(spans, key=lambda s: (s[0], -s[1])):
            location = f"{record.location}, {where}"
            if not 0 <= start < end <= n:
                self.log.report(
                    record.path,
                    location,
                    f"span {start}-{end} ({label}) is out of range for a text of {n} characters",
                )
                continue
            start, end = trimmed(record.text, start, end)
            if start == end:
                self.log.report(record.path, location, f"span ({label}) holds only whitespace")
                continue
            if self.labels is not None and label not in self.labels:
                self.log.report(
                    record.path, location, f"unknown label {label!r}; known labels: {sorted(self.labels)}"
                )
                continue
            if start < previous_end:
                self.log.report(
                    record.path,
                    location,
                    f"span {start}-{end} ({label}) overlaps the span at {previous_where}",
                )
                continue
            # After "split" every boundary is a token boundary: strict is exact.
            mode = "strict" if self.alignment_mode == "split" else self.alignment_mode
            span = doc.char_span(start, end, label=label, alignment_mode=mode)
            if span is None or not len(span):
                self.log.report(
                    record.path,
                    location,
                    f"span {start}-{end} ({label}) {record.text[start:end]!r} does not fall on token "
                    f"boundaries; context: {record.text[max(0, start - 20) : end + 20]!r}",
                )
                continue
            if span.start_char < previous_end:
                self.log.report(
                    record.path,
                    location,
                    f"span {start}-{end} ({label}) overlaps the span at {previous_where} once snapped to "
                    f"tokens ({span.start_char}-{span.end_char})",
                )
                continue
            previous_end, previous_where = span.end_char, where
            yield span


def trimmed(text: str, start: int, end: int) -> Tuple[int, int]:
    """Span offsets without leading or trailing whitespace (a NER cannot learn a span that has it)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_at(doc: Doc, boundaries: Iterable[object]) -> Doc:
    """`doc` with its tokens split at each character offset that falls inside a token.

    doc (Doc): A tokenized text (no annotations are carried over).
    boundaries (Iterable[object]): Character offsets; anything that is not an int is ignored.
    RETURNS (Doc): `doc` itself if no offset falls inside a token, else a new Doc of the same text.
    """
    cuts = sorted({b for b in boundaries if isinstance(b, int) and not isinstance(b, bool)})
    words: List[str] = []
    spaces: List[bool] = []
    for token in doc:
        points = [c - token.idx for c in cuts if token.idx < c < token.idx + len(token.text)]
        edges = [0, *points, len(token.text)]
        words.extend(token.text[a:b] for a, b in zip(edges, edges[1:]))
        spaces.extend([False] * len(points) + [bool(token.whitespace_)])
    if len(words) == len(doc):
        return doc
    return Doc(doc.vocab, words=words, spaces=spaces)


def iter_files(path: Path, suffixes: Iterable[str]) -> List[Path]:
    """The files under `path` (or `path` itself) with one of `suffixes`, sorted."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(path, "path", "does not exist")
    suffixes = tuple(suffixes)
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(suffixes))
