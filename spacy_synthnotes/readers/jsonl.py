"""JSONL reader: one `{"text": ..., "spans": [...]}` object per line, as Prodigy writes it."""

import json
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from spacy.util import registry

from .common import DEFAULT_MAX_CHARS, AnnotatedCorpus, CorpusError, Record, decode, iter_files


class JsonlCorpus(AnnotatedCorpus):
    """Read JSONL records with character spans.

    A record has "text" and either "spans" (Prodigy: a list of objects with
    "start", "end", "label") or "entities" (a list of `[start, end, label]` or
    objects). "meta" (an object) and "id" are kept in `doc._.note_meta`.
    Prodigy records whose "answer" is not "accept" are skipped and reported.

    path (Union[str, Path]): A `.jsonl` file or a directory of them.
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
        for path in iter_files(self.path, [".jsonl"]):
            with path.open("rb") as file_:
                for number, raw in enumerate(file_, start=1):
                    if not raw.strip():
                        continue
                    try:
                        line = decode(raw, path, self.encoding, first_line=number)
                    except CorpusError as err:
                        self.log.report(err.path, err.location, err.problem)
                        continue
                    record = self._parse(path, number, line)
                    if record is not None:
                        yield record

    def _parse(self, path: Path, number: int, line: str) -> Optional[Record]:
        location = f"line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            self.log.report(path, location, f"invalid JSON: {err.msg} at column {err.colno}")
            return None
        if not isinstance(data, dict):
            self.log.report(path, location, f"expected a JSON object, got {type(data).__name__}")
            return None
        if data.get("answer", "accept") != "accept":
            self.log.report(path, location, f"Prodigy answer is {data['answer']!r}, not 'accept'")
            return None
        text = data.get("text")
        if not isinstance(text, str):
            self.log.report(path, location, 'missing "text" string')
            return None
        raw_spans = data.get("spans", data.get("entities", []))
        if not isinstance(raw_spans, list):
            self.log.report(path, location, '"spans" / "entities" must be a list')
            return None
        spans = []
        for i, item in enumerate(raw_spans):
            span = _span(item)
            if span is None:
                self.log.report(
                    path, f"{location}, span {i}", f"cannot read a (start, end, label) from {item!r}"
                )
                continue
            spans.append((*span, f"span {i}"))
        meta = dict(data.get("meta") or {})
        if "id" in data:
            meta.setdefault("id", data["id"])
        return Record(path, location, text, spans, meta=meta)


def _span(item: Any) -> Optional[Tuple[Any, Any, str]]:
    if isinstance(item, dict) and {"start", "end", "label"} <= set(item):
        return item["start"], item["end"], str(item["label"])
    if isinstance(item, (list, tuple)) and len(item) == 3:
        return item[0], item[1], str(item[2])
    return None


def doc_to_record(
    text: str, ents: List[Tuple[int, int, str]], meta: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    """The JSONL record of a text and its entities, readable by `JsonlCorpus`."""
    record: Dict[str, Any] = {
        "text": text,
        "spans": [{"start": s, "end": e, "label": label} for s, e, label in ents],
    }
    if meta:
        record["meta"] = meta
    return record


@registry.readers("spacy_synthnotes.JsonlCorpus.v1")
def create_jsonl_reader(
    path: str,
    encoding: str = "utf8",
    labels: Optional[List[str]] = None,
    on_error: str = "raise",
    max_chars: int = DEFAULT_MAX_CHARS,
    limit: int = 0,
    alignment_mode: str = "strict",
) -> JsonlCorpus:
    """Registered JSONL reader (see `JsonlCorpus`)."""
    return JsonlCorpus(
        path,
        encoding=encoding,
        labels=labels,
        on_error=on_error,
        max_chars=max_chars,
        limit=limit,
        alignment_mode=alignment_mode,
    )
