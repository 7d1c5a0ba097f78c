"""CoNLL-2003-style BIO reader: one token per line, the tag in the last column."""

import re
from pathlib import Path
from typing import Iterator, List, Optional, Tuple, Union

from spacy.util import registry

from .common import DEFAULT_MAX_CHARS, AnnotatedCorpus, CorpusError, Record, decode, iter_files

_TAG = re.compile(r"^(O|[BIES]-\S+)$")


class ConllCorpus(AnnotatedCorpus):
    """Read BIO (IOB2) or IOB1 tagged tokens.

    Blank lines end sentences; `-DOCSTART-` lines end documents. Tokens are
    joined by single spaces and sentences by newlines; the Doc keeps the file's
    tokens. An `I-X` that does not continue an `X` entity starts one (IOB1, as
    the original CoNLL-2003 files are written).

    path (Union[str, Path]): A file or a directory of `.conll`, `.bio`, `.iob`, `.tsv` files.
    n_sents (int): Also end a document after this many sentences (0 = only at
        `-DOCSTART-`, so a file without it is one document).
    encoding (str): The encoding of the files.
    See `AnnotatedCorpus` for labels, on_error, max_chars, limit and alignment_mode.
    """

    def __init__(
        self,
        path: Union[str, Path],
        *,
        n_sents: int = 0,
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
        self.n_sents = n_sents
        self.encoding = encoding

    def records(self) -> Iterator[Record]:
        for path in iter_files(self.path, [".conll", ".bio", ".iob", ".tsv"]):
            try:
                content = decode(path.read_bytes(), path, self.encoding)
            except CorpusError as err:
                self.log.report(err.path, err.location, err.problem)
                continue
            yield from self._documents(path, content.splitlines())

    def _documents(self, path: Path, lines: List[str]) -> Iterator[Record]:
        sentences: List[List[Tuple[str, str, int]]] = []
        sentence: List[Tuple[str, str, int]] = []
        first_line = 1
        for number, line in enumerate(lines + [""], start=1):
            fields = line.split()
            if fields and fields[0] == "-DOCSTART-":
                if sentence:
                    sentences.append(sentence)
                    sentence = []
                if sentences:
                    yield self._record(path, first_line, sentences)
                sentences, first_line = [], number + 1
                continue
            if not fields:
                if sentence:
                    sentences.append(sentence)
                    sentence = []
                if self.n_sents and len(sentences) >= self.n_sents:
                    yield self._record(path, first_line, sentences)
                    sentences, first_line = [], number + 1
                continue
            if len(fields) < 2 or not _TAG.match(fields[-1]):
                self.log.report(
                    path,
                    f"line {number}",
                    f"expected 'TOKEN ... TAG' with a BIO tag (O, B-X, I-X), got {line!r}",
                )
                fields = [fields[0], "O"]
            sentence.append((fields[0], fields[-1], number))
        if sentences:
            yield self._record(path, first_line, sentences)

    def _record(self, path: Path, first_line: int, sentences: List[List[Tuple[str, str, int]]]) -> Record:
        """One document: tokens joined by spaces, a newline token between sentences."""
        words: List[str] = []
        spaces: List[bool] = []
        spans = []
        offset = 0
        for s_index, sentence in enumerate(sentences):
            if s_index:
                spaces[-1] = False
                words.append("\n")
                spaces.append(False)
            open_span: Optional[List] = None
            for word, tag, number in sentence:
                prefix, _, label = tag.partition("-")
                continues = prefix in ("I", "E") and open_span is not None and open_span[2] == label
                if open_span is not None and not continues:
                    spans.append(tuple(open_span))
                    open_span = None
                if continues:
                    open_span[1] = offset + len(word)
                elif prefix != "O":
                    open_span = [offset, offset + len(word), label, f"line {number}"]
                words.append(word)
                spaces.append(True)
                offset += len(word) + 1
            if open_span is not None:
                spans.append(tuple(open_span))
        spaces[-1] = False
        text = "".join(w + (" " if s else "") for w, s in zip(words, spaces))
        return Record(
            path,
            f"document at line {first_line}",
            text,
            spans,
            meta={"id": f"{path.stem}:{first_line}"},
            words=words,
            spaces=spaces,
        )


@registry.readers("spacy_synthnotes.ConllCorpus.v1")
def create_conll_reader(
    path: str,
    n_sents: int = 0,
    encoding: str = "utf8",
    labels: Optional[List[str]] = None,
    on_error: str = "raise",
    max_chars: int = DEFAULT_MAX_CHARS,
    limit: int = 0,
    alignment_mode: str = "strict",
) -> ConllCorpus:
    """Registered CoNLL BIO reader (see `ConllCorpus`)."""
    return ConllCorpus(
        path,
        n_sents=n_sents,
        encoding=encoding,
        labels=labels,
        on_error=on_error,
        max_chars=max_chars,
        limit=limit,
        alignment_mode=alignment_mode,
    )
