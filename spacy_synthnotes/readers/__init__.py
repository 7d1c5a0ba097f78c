"""Corpus readers registered in `spacy.registry.readers`, and `read_docs` to pick one by path."""

from pathlib import Path
from typing import Union

from .brat import BratCorpus, create_brat_reader
from .common import AnnotatedCorpus, CorpusError, Problem
from .conll import ConllCorpus, create_conll_reader
from .docbin import DocBinCorpus, create_docbin_reader
from .jsonl import JsonlCorpus, create_jsonl_reader, doc_to_record

FORMATS = {"brat": BratCorpus, "jsonl": JsonlCorpus, "docbin": DocBinCorpus, "conll": ConllCorpus}


def guess_format(path: Union[str, Path]) -> str:
    """The input format of `path` by its suffix, or "brat" for a directory of .txt/.ann files."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return "jsonl"
    if suffix == ".spacy":
        return "docbin"
    if suffix in (".conll", ".bio", ".iob", ".tsv"):
        return "conll"
    if path.is_dir():
        for candidate in ("docbin", "jsonl"):
            pattern = "*.spacy" if candidate == "docbin" else "*.jsonl"
            if next(path.rglob(pattern), None) is not None:
                return candidate
        return "brat"
    raise CorpusError(
        path, "path", "cannot tell the format from the suffix; use .jsonl, .spacy, .conll or a brat directory"
    )


def open_corpus(path: Union[str, Path], fmt: str = "auto", **options) -> AnnotatedCorpus:
    """A reader for `path` in format `fmt` ("auto", "brat", "jsonl", "docbin" or "conll")."""
    fmt = guess_format(path) if fmt == "auto" else fmt
    if fmt not in FORMATS:
        raise ValueError(f"Unknown input format {fmt!r}; choose from {sorted(FORMATS)} or 'auto'.")
    return FORMATS[fmt](path, **options)


__all__ = [
    "AnnotatedCorpus",
    "BratCorpus",
    "ConllCorpus",
    "CorpusError",
    "DocBinCorpus",
    "JsonlCorpus",
    "Problem",
    "create_brat_reader",
    "create_conll_reader",
    "create_docbin_reader",
    "create_jsonl_reader",
    "doc_to_record",
    "guess_format",
    "open_corpus",
]
