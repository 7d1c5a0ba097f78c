"""brat standoff reader: a directory of `.txt` files, each with its `.ann` beside it."""

from pathlib import Path
from typing import Iterator, List, Optional, Tuple, Union

from spacy.util import registry

from .common import DEFAULT_MAX_CHARS, AnnotatedCorpus, CorpusError, Record, decode, iter_files


class BratCorpus(AnnotatedCorpus):
    """Read brat standoff annotations: text-bound annotations (`T` lines) become entities.

    Events, relations, attributes and notes are ignored. Discontinuous spans
    ("0 5;10 15") cannot be one entity and are reported as problems, as are
    annotations whose text does not match the `.txt` at their offsets.

    path (Union[str, Path]): A directory (searched recursively) or one `.txt` file.
    encoding (str): The encoding of the files.
    See `AnnotatedCorpus` for labels, on_error, max_chars, limit and alignment_mode.
    """

    def __init__(
        self,
        path: Union[str, Path],
        *,
        encoding: str = "utf8",
        labels: Optional[List[str]] = None,
        on_error: str = "raise",
        max_chars: int = DEFAULT_MAX_CHARS,
        limit: int = 0,
        alignment_mode: str = "strict",
    ):
        super().__init__(
            labels=labels, on_error=on_error, max_chars=max_chars, limit=limit, alignment_mode=alignment_mode
        )
        self.path = Path(path)
        self.encoding = encoding

    def records(self) -> Iterator[Record]:
        for txt in iter_files(self.path, [".txt"]):
            ann = txt.with_suffix(".ann")
            if not ann.exists():
                self.log.report(ann, "file", "missing: every .txt needs its .ann beside it")
                continue
            try:
                text = decode(txt.read_bytes(), txt, self.encoding)
                content = decode(ann.read_bytes(), ann, self.encoding)
            except CorpusError as err:
                self.log.report(err.path, err.location, err.problem)
                continue
            spans = list(self._spans(ann, content, text))
            yield Record(txt, "document", text, spans, meta={"id": txt.stem})

    def _spans(self, ann: Path, content: str, text: str) -> Iterator[Tuple[int, int, str, str]]:
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.startswith("T"):
                continue
            where = f"{ann.name} line {number}"
            fields = line.split("\t")
            if len(fields) < 2 or len(fields[1].split(" ")) < 3:
                self.log.report(ann, f"line {number}", f"malformed text-bound annotation: {line!r}")
                continue
            label, _, offsets = fields[1].partition(" ")
            if ";" in offsets:
                self.log.report(
                    ann, f"line {number}", f"discontinuous span {offsets!r} ({label}) cannot be one entity"
                )
                continue
            try:
                start, end = (int(x) for x in offsets.split(" "))
            except ValueError:
                self.log.report(ann, f"line {number}", f"offsets are not two integers: {offsets!r}")
                continue
            if len(fields) >= 3 and 0 <= start < end <= len(text) and text[start:end] != fields[2]:
                self.log.report(
                    ann,
                    f"line {number}",
                    f"annotated text {fields[2]!r} differs from the .txt at {start}-{end}: "
                    f"{text[start:end]!r}",
                )
                continue
            yield start, end, label, where


@registry.readers("spacy_synthnotes.BratCorpus.v1")
def create_brat_reader(
    path: str,
    encoding: str = "utf8",
    labels: Optional[List[str]] = None,
    on_error: str = "raise",
    max_chars: int = DEFAULT_MAX_CHARS,
    limit: int = 0,
    alignment_mode: str = "strict",
) -> BratCorpus:
    """Registered brat standoff reader (see `BratCorpus`)."""
    return BratCorpus(
        path,
        encoding=encoding,
        labels=labels,
        on_error=on_error,
        max_chars=max_chars,
        limit=limit,
        alignment_mode=alignment_mode,
    )
