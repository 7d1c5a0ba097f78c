"""Synthesize a corpus: read annotated notes, run the pipeline, write synthetic notes as they come."""

from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import spacy
import srsly
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from .extensions import NOTE_META, SYNTHETIC_ALIGNMENT, SYNTHETIC_REPORT
from .phi.strings import doc_phi_strings, grams
from .readers import doc_to_record, open_corpus

OUTPUT_FORMATS = ("jsonl", "docbin")


def synth_pipe_name(nlp: Language) -> str:
    """The name of the pipeline's `synth_notes` component."""
    return next(n for n in nlp.pipe_names if nlp.get_pipe_meta(n).factory == "synth_notes")


def load_pipeline(name: Union[str, Path]) -> Language:
    """Load a pipeline (directory or package) and check that it has a `synth_notes` component."""
    nlp = spacy.load(name)
    if not any(nlp.get_pipe_meta(n).factory == "synth_notes" for n in nlp.pipe_names):
        raise ValueError(
            f"Pipeline {name} has no synth_notes component (pipes: {nlp.pipe_names}). "
            "Add it with nlp.add_pipe('synth_notes') and save the pipeline, or assemble one "
            "from configs/synth_surrogate.cfg with `python -m spacy assemble`."
        )
    return nlp


def phi_leaks(source: Doc, synthetic_text: str, phi_labels: List[str]) -> List[Tuple[str, str]]:
    """The source note's own PHI strings found in its synthetic text, by the rule of the linked leakage
    the privacy evaluator reports (`phi.strings`): distinct strings of 3+ characters, whole words,
    case-folded; a string the source also writes outside its entities ("wall" as a surname and in
    "chest wall") is not counted.

    RETURNS (List[Tuple[str, str]]): (label, text as written in the source) of each leaked string.
    """
    own = doc_phi_strings(source, phi_labels)
    if not own:
        return []
    found = grams(synthetic_text, max(len(k.split()) for k in own)).intersection(own)
    return [own[k] for k in sorted(found)]


def output_record(doc: Doc, synthetic: Doc) -> Dict[str, Any]:
    """The JSONL record of a processed Doc: its synthetic text and spans, plus provenance."""
    meta = dict(doc._.get(NOTE_META) or {})
    record = doc_to_record(
        synthetic.text,
        [(e.start_char, e.end_char, e.label_) for e in synthetic.ents],
        {"source_id": meta.get("id"), **{k: v for k, v in meta.items() if k != "id"}},
    )
    record["report"] = doc._.get(SYNTHETIC_REPORT)
    record["alignment"] = doc._.get(SYNTHETIC_ALIGNMENT)
    return record


class Summary:
    """Counts over a synthesis run, printed by the CLI and written as JSON."""

    def __init__(self, phi_labels: List[str]):
        self.phi_labels = phi_labels
        self.notes = 0
        self.counts: Dict[str, int] = {}
        self.leaks: List[Dict[str, str]] = []
        self.inexact: List[Dict[str, Any]] = []
        self.dropped: List[str] = []

    def add(self, doc: Doc, synthetic: Optional[Doc]) -> bool:
        """Count one processed Doc and check its kept entities and PHI.

        RETURNS (bool): Whether the note has a synthetic version to write (False
            when the residual-PHI check dropped it).
        """
        self.notes += 1
        for key, value in (doc._.get(SYNTHETIC_REPORT) or {}).items():
            self.counts[key] = self.counts.get(key, 0) + value
        note_id = (doc._.get(NOTE_META) or {}).get("id", str(self.notes - 1))
        if synthetic is None:
            self.dropped.append(note_id)
            return False
        # Doc.text joins the tokens on every access: read it once.
        source_text, synthetic_text = doc.text, synthetic.text
        for record in doc._.get(SYNTHETIC_ALIGNMENT) or []:
            if record["action"] != "keep":
                continue
            (s, e, _), (ts, te, _) = record["source"], record["target"]
            if source_text[s:e] != synthetic_text[ts:te]:
                self.inexact.append(
                    {"note": note_id, "source": source_text[s:e], "synthetic": synthetic_text[ts:te]}
                )
        for label, text in phi_leaks(doc, synthetic_text, self.phi_labels):
            self.leaks.append({"note": note_id, "label": label, "text": text})
        return True

    def to_dict(self) -> Dict[str, Any]:
        return {
            "notes": self.notes,
            "written": self.notes - len(self.dropped),
            "dropped_notes": self.dropped,
            "counts": self.counts,
            "kept_entities_inexact": len(self.inexact),
            "phi_strings_leaked": len(self.leaks),
            "leaks": self.leaks[:100],
            "inexact": self.inexact[:100],
        }


def synthesize_corpus(
    nlp: Language,
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    *,
    input_format: str = "auto",
    output_format: Optional[str] = None,
    batch_size: int = 32,
    n_process: int = 1,
    on_error: str = "raise",
    limit: int = 0,
    progress: bool = False,
) -> Dict[str, Any]:
    """Read `input_path`, write the synthetic notes to `output_path`, return a summary.

    JSONL output is written record by record, so memory does not grow with the
    corpus; DocBin output is collected and written at the end.
    RETURNS (Dict[str, Any]): The summary (see `Summary.to_dict`) and the input problems.
    """
    output_path = Path(output_path)
    fmt = output_format or ("docbin" if output_path.suffix == ".spacy" else "jsonl")
    if fmt not in OUTPUT_FORMATS:
        raise ValueError(f"Unknown output format {fmt!r}; choose from {OUTPUT_FORMATS}.")
    corpus = open_corpus(input_path, input_format, on_error=on_error, limit=limit)
    summary = Summary(nlp.get_pipe(synth_pipe_name(nlp)).cfg["phi_labels"])
    docs: Iterator[Doc] = nlp.pipe(corpus.docs(nlp), batch_size=batch_size, n_process=n_process)
    if progress:
        from tqdm import tqdm

        docs = tqdm(docs, desc="synthesize", unit="note")
    output_path.parent.mkdir(parents=True, exist_ok=True)
    processed = ((doc, doc._.synthetic) for doc in docs)
    # Summary.add counts every note and says whether it has a synthetic version to write.
    written = ((doc, synthetic) for doc, synthetic in processed if summary.add(doc, synthetic))
    if fmt == "jsonl":
        with output_path.open("w", encoding="utf8") as file_:
            for doc, synthetic in written:
                file_.write(srsly.json_dumps(output_record(doc, synthetic)) + "\n")
    else:
        docbin = DocBin(store_user_data=True)
        for doc, synthetic in written:
            synthetic._.set(NOTE_META, doc._.get(NOTE_META))
            docbin.add(synthetic)
        docbin.to_disk(output_path)
    result = summary.to_dict()
    result["input_problems"] = [str(p) for p in corpus.problems]
    return result
