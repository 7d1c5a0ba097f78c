"""spaCy DocBin reader (`.spacy` files), with the same checks as the text readers."""

from pathlib import Path
from typing import Iterator, List, Optional, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.util import registry

from ..extensions import install_extensions
from .common import DEFAULT_MAX_CHARS, AnnotatedCorpus, iter_files


class DocBinCorpus(AnnotatedCorpus):
    """Read Docs saved with `DocBin(store_user_data=True)`; entities are already aligned.

    Empty, over-long and unknown-label Docs are reported like the other readers'
    problems; a file that is not a DocBin raises a `CorpusError` naming it.

    path (Union[str, Path]): A `.spacy` file or a directory of them.
    See `AnnotatedCorpus` for labels, on_error, max_chars and limit.
    """

    def __init__(
        self,
        path: Union[str, Path],
        *,
        labels: Optional[List[str]] = None,
        on_error: str = "raise",
        max_chars: int = DEFAULT_MAX_CHARS,
        limit: int = 0,
    ):
        super().__init__(labels=labels, on_error=on_error, max_chars=max_chars, limit=limit)
        self.path = Path(path)

    def docs(self, nlp: Language) -> Iterator[Doc]:
        install_extensions()
        count = 0
        for path in iter_files(self.path, [".spacy"]):
            try:
                docbin = DocBin().from_bytes(path.read_bytes())
            except Exception as err:  # msgpack/zlib raise many types
                self.log.report(path, "file", f"not a spaCy DocBin ({type(err).__name__}: {err})")
                continue
            for index, doc in enumerate(docbin.get_docs(nlp.vocab)):
                if self.limit and count >= self.limit:
                    return
                if self._valid(path, index, doc):
                    count += 1
                    yield doc

    def _valid(self, path: Path, index: int, doc: Doc) -> bool:
        location = f"doc {index}"
        if not doc.text.strip():
            self.log.report(path, location, "empty text")
            return False
        if len(doc.text) > self.max_chars:
            self.log.report(
                path,
                location,
                f"text has {len(doc.text):,} characters, more than max_chars={self.max_chars:,}",
            )
            return False
        if self.labels is not None:
            unknown = sorted({e.label_ for e in doc.ents} - self.labels)
            if unknown:
                self.log.report(
                    path, location, f"unknown labels {unknown}; known labels: {sorted(self.labels)}"
                )
                doc.ents = [e for e in doc.ents if e.label_ in self.labels]
        return True


@registry.readers("spacy_synthnotes.DocBinCorpus.v1")
def create_docbin_reader(
    path: str,
    labels: Optional[List[str]] = None,
    on_error: str = "raise",
    max_chars: int = DEFAULT_MAX_CHARS,
    limit: int = 0,
) -> DocBinCorpus:
    """Registered DocBin reader (see `DocBinCorpus`)."""
    return DocBinCorpus(path, labels=labels, on_error=on_error, max_chars=max_chars, limit=limit)
