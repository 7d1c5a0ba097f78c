"""PHI detection scores as Philter and Belkadi et al. report them.

Token- and entity-level recall/precision, per label and HIPAA-only.

Token level: a gold PHI token is recalled when a predicted PHI entity covers
any of its characters, whatever the label (the de-identification view: a
hidden token is hidden). A predicted PHI token is correct when it overlaps a
gold PHI entity. Tokens are those of each Doc, so gold and predicted Docs may
be tokenized differently. As in Philter's evaluation, only word tokens (with a
letter or digit) count: a comma or a line of dashes inside a gold span
identifies no one. The same figures over every non-space token, punctuation
included, are reported beside them (`token_recall_all_tokens`,
`token_precision_all_tokens`). Given skip words (`PRESIDIO_SKIP_WORDS` is the
list Presidio's evaluator uses on its synthetic PII set), word tokens that are
not skip words are counted once more (`token_recall_skip_words`,
`token_precision_skip_words`). Entity level: exact character span, with or
without the label.
"""

import re
import string
from collections import defaultdict
from typing import Any, Collection, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.tokens import Doc

# HIPAA Safe Harbor identifiers among the i2b2 labels (Stubbs & Uzuner 2015): patient and
# relative names, dates, locations smaller than a state, contacts and IDs; ages only over 89.
# Doctor, hospital, organization, profession, state and country names are PHI in i2b2 but not HIPAA.
HIPAA_LABELS = {
    "NAME",
    "PATIENT",
    "PERSON",
    "PER",
    "USERNAME",
    "AGE",
    "DATE",
    "STREET",
    "CITY",
    "ZIP",
    "LOCATION",
    "LOCATION-OTHER",
    "GPE",
    "CONTACT",
    "PHONE",
    "FAX",
    "EMAIL",
    "URL",
    "IPADDR",
    "ID",
    "SSN",
    "MEDICALRECORD",
    "HEALTHPLAN",
    "ACCOUNT",
    "LICENSE",
    "VEHICLE",
    "DEVICE",
    "BIOID",
    "IDNUM",
}


def is_hipaa(label: str, text: str) -> bool:
    """Whether a gold PHI entity is a HIPAA identifier (ages only above 89)."""
    if label not in HIPAA_LABELS:
        return False
    if label == "AGE":
        match = re.search(r"\d+", text)
        if match is None:
            return bool(re.search(r"ninety|hundred", text, re.IGNORECASE))
        return int(match.group()) > 89
    return True


# The tokens presidio-research's evaluator (`get_skip_words`) counts neither as hits nor as misses:
# punctuation, spaCy's English stop words, and the generic words its templates put inside entity spans
# ("the corner of X and Y", "P.O. Box 12", "Suite 4", "on Monday morning", "Mr. Smith", "Acme Inc").
PRESIDIO_SKIP_WORDS = frozenset(
    set(string.punctuation)
    | set(STOP_WORDS)
    | set(
        "'s street st st. de rue via and a the or do as of corner address city state zip country po "
        "p.o. box apt unit suite mr. mrs. miss day days week weeks weekend month months year years y/o "
        "old age ago morning noon afternoon evening night this first last inc inc. ltd".split()
    )
)

Span3 = Tuple[int, int, str]
_WORD = re.compile(r"[^\W_]")


def _tokens(doc: Doc, skip_words: Collection[str] = ()) -> List[Tuple[int, int, Tuple[str, ...]]]:
    """(start, end, counts) of each non-space token: it is counted among "all"; among "words" too when
    it has a letter or digit, and then among "unskipped" unless it is one of `skip_words`."""
    tokens = []
    for t in doc:
        if t.is_space:
            continue
        kinds: Tuple[str, ...] = ("all",)
        if _WORD.search(t.text):
            kinds += ("words",) if t.text.lower().strip() in skip_words else ("words", "unskipped")
        tokens.append((t.idx, t.idx + len(t.text), kinds))
    return tokens


def _overlaps(start: int, end: int, spans: Iterable[Tuple[int, int]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def _ratio(num: int, den: int) -> Optional[float]:
    return num / den if den else None


class PhiScorer:
    """Accumulate gold/predicted PHI over Doc pairs; `scores()` gives the figures.

    phi_labels (Iterable[str]): Labels that are PHI, in gold and predicted Docs.
    label_map (Optional[Dict[str, str]]): Gold label -> our label (e.g. Presidio's
        PERSON -> PATIENT); gold labels not in it are kept as they are.
    skip_words (Optional[Collection[str]]): Lower-case tokens left out of the
        `..._skip_words` figures (e.g. PRESIDIO_SKIP_WORDS); None: no such figures.
    """

    def __init__(
        self,
        phi_labels: Iterable[str],
        label_map: Optional[Dict[str, str]] = None,
        skip_words: Optional[Collection[str]] = None,
    ):
        self.phi_labels: Set[str] = set(phi_labels)
        self.label_map = label_map or {}
        self.skip_words = skip_words
        # Token counts keyed by (key, kind): kind "words" (word tokens), "all" (every non-space token)
        # or "unskipped" (word tokens that are not skip words).
        self.token_gold: Dict[Tuple[str, str], int] = defaultdict(int)
        self.token_hit: Dict[Tuple[str, str], int] = defaultdict(int)
        self.pred_tokens: Dict[Tuple[str, str], int] = defaultdict(int)
        self.pred_correct: Dict[Tuple[str, str], int] = defaultdict(int)
        self.ent_gold: Dict[str, int] = defaultdict(int)
        self.ent_hit: Dict[str, int] = defaultdict(int)
        self.ent_hit_label: Dict[str, int] = defaultdict(int)
        self.ent_touched: Dict[str, int] = defaultdict(int)
        self.ent_pred: Dict[str, int] = defaultdict(int)
        self.ent_pred_correct: Dict[str, int] = defaultdict(int)
        self.misses: List[Dict[str, Any]] = []

    def gold_spans(self, doc: Doc) -> List[Span3]:
        spans = []
        for ent in doc.ents:
            label = self.label_map.get(ent.label_, ent.label_)
            if label in self.phi_labels:
                spans.append((ent.start_char, ent.end_char, label))
        return spans

    def add(self, gold: Doc, pred: Doc, doc_id: str = "") -> None:
        """Score one note; `pred` is the pipeline's output on the gold text."""
        if gold.text != pred.text:
            raise ValueError(f"Gold and predicted texts differ for document {doc_id!r}")
        gold_spans = self.gold_spans(gold)
        pred_spans = [(e.start_char, e.end_char, e.label_) for e in pred.ents if e.label_ in self.phi_labels]
        pred_ranges = [(s, e) for s, e, _ in pred_spans]
        gold_ranges = [(s, e) for s, e, _ in gold_spans]
        text = gold.text
        gold_tokens = _tokens(gold, self.skip_words or ())
        for start, end, label in gold_spans:
            keys = ["all", f"label:{label}"]
            if is_hipaa(label, text[start:end]):
                keys.append("hipaa")
            missed = []
            touched = False
            for ts, te, kinds in gold_tokens:
                if ts < end and start < te:
                    hit = _overlaps(ts, te, pred_ranges)
                    for key in keys:
                        for kind in kinds:
                            self.token_gold[key, kind] += 1
                            self.token_hit[key, kind] += hit
                    touched = touched or hit
                    if "words" in kinds and not hit:
                        missed.append(text[ts:te])
            exact = [(s, e, lab) for s, e, lab in pred_spans if s == start and e == end]
            for key in keys:
                self.ent_gold[key] += 1
                self.ent_hit[key] += bool(exact)
                self.ent_hit_label[key] += any(lab == label for _, _, lab in exact)
                self.ent_touched[key] += touched
            if missed:
                self.misses.append(
                    {
                        "doc": doc_id,
                        "label": label,
                        "hipaa": "hipaa" in keys,
                        "text": text[start:end],
                        "missed_tokens": missed,
                        "context": text[max(0, start - 40) : end + 40],
                    }
                )
        gold_keys = {(s, e) for s, e, _ in gold_spans}
        for start, end, label in pred_spans:
            for key in ("all", f"label:{label}"):
                self.ent_pred[key] += 1
                self.ent_pred_correct[key] += (start, end) in gold_keys
        for ts, te, kinds in _tokens(pred, self.skip_words or ()):
            covering = [lab for s, e, lab in pred_spans if ts < e and s < te]
            if not covering:
                continue
            correct = _overlaps(ts, te, gold_ranges)
            for key in ("all", f"label:{covering[0]}"):
                for kind in kinds:
                    self.pred_tokens[key, kind] += 1
                    self.pred_correct[key, kind] += correct

    def scores(self) -> Dict[str, Any]:
        """Token and entity recall/precision overall, HIPAA-only and per label, and the misses."""

        def block(key: str, precision_key: str) -> Dict[str, Any]:
            def recall(kind: str) -> Optional[float]:
                return _ratio(self.token_hit[key, kind], self.token_gold[key, kind])

            def precision(kind: str) -> Optional[float]:
                return _ratio(self.pred_correct[precision_key, kind], self.pred_tokens[precision_key, kind])

            figures = {
                "token_recall": recall("words"),
                "token_precision": precision("words"),
                "token_recall_all_tokens": recall("all"),
                "token_precision_all_tokens": precision("all"),
                "entity_recall": _ratio(self.ent_hit[key], self.ent_gold[key]),
                "entity_recall_with_label": _ratio(self.ent_hit_label[key], self.ent_gold[key]),
                # Partial match: at least one token of the gold entity is covered.
                "entity_recall_partial": _ratio(self.ent_touched[key], self.ent_gold[key]),
                "entity_precision": _ratio(
                    self.ent_pred_correct[precision_key], self.ent_pred[precision_key]
                ),
                "gold_tokens": self.token_gold[key, "words"],
                "gold_entities": self.ent_gold[key],
            }
            if self.skip_words is not None:
                figures["token_recall_skip_words"] = recall("unskipped")
                figures["token_precision_skip_words"] = precision("unskipped")
            return figures

        labels = sorted(
            {k[6:] for k, _ in list(self.token_gold) + list(self.pred_tokens) if k.startswith("label:")}
        )
        return {
            "all": block("all", "all"),
            # HIPAA recall counts HIPAA gold only; a prediction on other PHI is not a false positive.
            "hipaa": block("hipaa", "all"),
            "per_label": {label: block(f"label:{label}", f"label:{label}") for label in labels},
            "misses": self.misses,
        }


def evaluate_phi(
    gold_docs: Sequence[Doc],
    predict,
    phi_labels: Iterable[str],
    label_map: Optional[Dict[str, str]] = None,
    batch_size: int = 32,
    skip_words: Optional[Collection[str]] = None,
) -> Dict[str, Any]:
    """Run `predict` (a Language) on the gold texts and score its PHI entities.

    gold_docs (Sequence[Doc]): Annotated Docs.
    predict (Language): The PHI pipeline; it gets the plain text of each note.
    phi_labels (Iterable[str]): PHI labels (ours).
    label_map (Optional[Dict[str, str]]): Gold label -> our label.
    batch_size (int): Texts per `predict.pipe` batch.
    skip_words (Optional[Collection[str]]): See `PhiScorer`.
    RETURNS (Dict[str, Any]): See `PhiScorer.scores`.
    """
    scorer = PhiScorer(phi_labels, label_map, skip_words)
    texts = (doc.text for doc in gold_docs)
    for index, (gold, pred) in enumerate(zip(gold_docs, predict.pipe(texts, batch_size=batch_size))):
        meta = gold._.get("note_meta") or {}
        scorer.add(gold, pred, str(meta.get("id", index)))
    return scorer.scores()
