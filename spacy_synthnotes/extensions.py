"""Doc extension attributes set by this package.

The synthetic note is stored as plain data (`Doc.to_bytes()` output) so that Docs
can cross process boundaries (`nlp.pipe(n_process=...)` ships Docs with msgpack,
which cannot hold a `Doc`); `doc._.synthetic` rebuilds the Doc on access.
"""

from typing import Optional

from spacy.tokens import Doc

SYNTHETIC = "synthetic"
SYNTHETIC_DATA = "synthetic_data"
SYNTHETIC_ALIGNMENT = "synthetic_alignment"
SYNTHETIC_REPORT = "synthetic_report"
NOTE_META = "note_meta"


def get_synthetic(doc: Doc) -> Optional[Doc]:
    """Rebuild the synthetic Doc from its stored bytes (a new object on every access).

    doc (Doc): The source Doc, processed by `synth_notes`.
    RETURNS (Optional[Doc]): The synthetic Doc on the source Doc's vocab, or None
        if the pipe has not run on `doc`.
    """
    data = doc._.get(SYNTHETIC_DATA)
    if data is None:
        return None
    return Doc(doc.vocab).from_bytes(data)


def install_extensions() -> None:
    """Register the Doc extensions; safe to call more than once."""
    if not Doc.has_extension(SYNTHETIC_DATA):
        Doc.set_extension(SYNTHETIC_DATA, default=None)
    if not Doc.has_extension(SYNTHETIC):
        Doc.set_extension(SYNTHETIC, getter=get_synthetic)
    if not Doc.has_extension(SYNTHETIC_ALIGNMENT):
        Doc.set_extension(SYNTHETIC_ALIGNMENT, default=None)
    if not Doc.has_extension(SYNTHETIC_REPORT):
        Doc.set_extension(SYNTHETIC_REPORT, default=None)
    if not Doc.has_extension(NOTE_META):
        Doc.set_extension(NOTE_META, default=None)
