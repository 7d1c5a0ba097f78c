"""Masked-LM infilling (Belkadi et al. 2023): keep the entities, mask other words, refill them.

Kept clinical entities stay verbatim and PHI becomes surrogates; a fraction of
the remaining words is masked and refilled by a masked language model, so each
synthetic note is new text around the same clinical facts. Non-autoregressive:
with `fill = "parallel"` every mask of a window is predicted in one forward
pass, and `rounds` passes re-predict the least confident fills (Mask-Predict);
`fill = "iterative"` fills one span of masks per pass, left to right.

Whole words only: each masked word is one `[MASK]`, and only vocabulary entries
that start a word and are alphabetic may fill it, so no "##" piece ever reaches
the text; spacing and punctuation around words are the source's. No fill is a
word of the note's own PHI, in any case: a model may still write a common surname
or first name where it fits ("Follow up with Jones"), and in a note about a Ms.
Jones that would put her name back into the note made from hers.
"""

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import torch
from spacy.util import registry

from ..batching import length_batches
from ..phi.strings import word_tokens
from ..surrogates import like_case
from .base import DROP, PHI, NotePlan, Segment, Synthesis
from .local_model import LocalModelGenerator
from .mlm_head import encoder_inputs, piece_select, project, states_at

FILLS = ("parallel", "iterative")
_LETTERS = re.compile(r"[^\W\d_]+")
# Maskable: a whole alphabetic word of 2+ letters, not glued to digits ("SpO2"), not an
# all-capitals abbreviation or unit ("HR", "BP", "PO", "NC"), which carry clinical meaning.
_WORD = re.compile(r"(?<![\w])[A-Za-z][a-z]*[a-z](?:'[a-z]+)?(?![\w])")


@dataclass
class _Piece:
    """A piece of the note: kept text, a maskable word, or an entity."""

    text: str
    kind: str  # "text" | "word" | "entity"
    label: Optional[str] = None
    source: Optional[int] = None
    ids: List[int] = field(default_factory=list)
    masked: bool = False
    fill: Optional[int] = None
    confidence: float = 0.0


class MaskedInfillGenerator(LocalModelGenerator):
    """Refill masked words of each note with a masked language model.

    model (str): A directory written by `train-mlm` (its `model-best`), or any
        local Hugging Face masked-LM directory. Loaded on first use.
    mask_rate (float): Fraction of maskable words (outside entities) to mask.
    rounds (int): Parallel passes per window (Mask-Predict refinement).
    fill (str): "parallel" or "iterative".
    mask_pos (Optional[List[str]]): Mask only words with these coarse POS tags
        (needs a tagger or morphologizer before the pipe); None masks any word.
    temperature, top_k, top_p: Sampling settings.
    protect_labels (Optional[List[str]]): Labels whose entities are never masked;
        None protects every entity. Kept entities of other labels become text.
    context_words (int): Words on each side of an entity that are never masked (the cues a NER
        learns from: "Dr.", "Pt:", "started"); the masks fall on the other words, as many as
        `mask_rate` of all maskable words or all of the others if fewer. 0 masks any word.
    max_run (int): Longest run of source tokens (words, numbers, punctuation marks, as the
        verbatim n-gram check counts them) left unchanged wherever a maskable word can break it:
        masks go first to the fewest words that do, then at random up to `mask_rate`. 0 = off
        (masks at random only, where long runs survive by chance).
    max_length (int): Context in tokens (at most the model's); longer notes use sliding windows.
    batch_size (int): Windows per forward pass, across notes.
    locale (str): Faker locale of the PHI surrogates.
    seed (int): Mixed into each note's seed (from the pipe), for masks and sampling.
    """

    def __init__(
        self,
        model: str,
        *,
        mask_rate: float = 0.5,
        rounds: int = 2,
        fill: str = "parallel",
        mask_pos: Optional[List[str]] = None,
        temperature: float = 1.0,
        top_k: int = 50,
        top_p: float = 0.95,
        protect_labels: Optional[List[str]] = None,
        context_words: int = 0,
        max_run: int = 0,
        max_length: int = 256,
        batch_size: int = 16,
        locale: str = "en_US",
        seed: int = 0,
    ):
        if not 0.0 < mask_rate <= 1.0:
            raise ValueError(f"mask_rate must be in (0, 1], got {mask_rate}")
        if context_words < 0:
            raise ValueError(f"context_words must be >= 0, got {context_words}")
        if max_run < 0:
            raise ValueError(f"max_run must be >= 0, got {max_run}")
        if fill not in FILLS:
            raise ValueError(f"fill must be one of {FILLS}, got {fill!r}")
        if rounds < 1 or max_length < 16 or batch_size < 1 or temperature <= 0:
            raise ValueError("rounds and batch_size must be >= 1, max_length >= 16, temperature > 0")
        self.cfg: Dict[str, Any] = {
            "model": str(model),
            "mask_rate": mask_rate,
            "rounds": rounds,
            "fill": fill,
            "mask_pos": mask_pos,
            "temperature": temperature,
            "top_k": top_k,
            "top_p": top_p,
            "protect_labels": protect_labels,
            "context_words": context_words,
            "max_run": max_run,
            "max_length": max_length,
            "batch_size": batch_size,
            "locale": locale,
            "seed": seed,
        }
        super().__init__(self.cfg)
        self._allowed: Optional[torch.Tensor] = None
        self._word_ids: Dict[str, List[int]] = {}

    # -- model --------------------------------------------------------------------------------
    kind = "MaskedInfill model"
    expected = "masked-LM directory (config.json, weights and tokenizer files)"

    def read(self, path: Path):
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        return AutoModelForMaskedLM.from_pretrained(str(path), local_files_only=True), tokenizer

    def loaded(self, path: Path, model, tokenizer) -> None:
        if tokenizer.mask_token_id is None:
            raise ValueError(f"The tokenizer in {path} has no mask token")
        limit = getattr(model.config, "max_position_embeddings", None) or self.cfg["max_length"]
        self._context = min(self.cfg["max_length"], limit)
        self._allowed = self._word_start_vocab(tokenizer)
        self._word_ids = self._ids_by_word(tokenizer, self._allowed)

    @staticmethod
    def _word_start_vocab(tokenizer) -> "torch.Tensor":
        """Boolean mask over the vocabulary: entries that can fill a whole word."""
        allowed = torch.zeros(len(tokenizer), dtype=torch.bool)
        special = set(tokenizer.all_special_ids)
        for token, index in tokenizer.get_vocab().items():
            if index in special or index >= len(allowed):
                continue
            word = token[1:] if token.startswith(("Ġ", "▁")) else token
            if word.isalpha() and word.isascii() and (len(word) > 1 or word.lower() in ("a", "i")):
                allowed[index] = not token.startswith("##")
        return allowed

    @staticmethod
    def _ids_by_word(tokenizer, allowed: "torch.Tensor") -> Dict[str, List[int]]:
        """The vocabulary entries that can fill a word, by the lowercased word they write."""
        by_word: Dict[str, List[int]] = {}
        for token, index in tokenizer.get_vocab().items():
            if index < len(allowed) and allowed[index]:
                by_word.setdefault(token.lstrip("Ġ▁").lower(), []).append(index)
        return by_word

    def phi_word_ids(self, plan: NotePlan) -> List[int]:
        """Vocabulary ids of the words of the note's own PHI, in any case: never written by a fill."""
        if self._model is None:
            self.load(self.cfg["model"])
        words = {
            word.lower() for ent in plan.entities if ent.action == PHI for word in _LETTERS.findall(ent.text)
        }
        return sorted(index for word in words for index in self._word_ids.get(word, ()))

    # -- generation -----------------------------------------------------------------------------
    def __call__(self, plans: Sequence[NotePlan]) -> List[Synthesis]:
        notes = [self._prepare(plan) for plan in plans]
        generators = [
            torch.Generator().manual_seed((plan.seed ^ self.cfg["seed"]) % (2**63)) for plan in plans
        ]
        banned = [self.phi_word_ids(plan) for plan in plans]
        counts = [{"masked_words": 0, "changed_words": 0, "forward_passes": 0} for _ in plans]
        for note, gen, count in zip(notes, generators, counts):
            self._choose_masks(note, gen)
            count["masked_words"] = sum(p.masked for p in note)
        if self.cfg["fill"] == "parallel":
            self._fill_parallel(notes, generators, banned, counts)
        else:
            self._fill_iterative(notes, generators, banned, counts)
        return [self._segments(note, count) for note, count in zip(notes, counts)]

    def _prepare(self, plan: NotePlan) -> List[_Piece]:
        table = self.surrogates_for(plan)
        protect = self.cfg["protect_labels"]
        pieces: List[_Piece] = []
        cursor = 0
        for index, ent in enumerate(plan.entities):
            protected = ent.action == PHI or (
                ent.action != DROP and (protect is None or ent.label in protect)
            )
            if not protected:
                continue
            self._split(plan.text[cursor : ent.start], cursor, plan, pieces)
            text = table.replace(ent.text, ent.label) if ent.action == PHI else ent.text
            pieces.append(_Piece(text, "entity", ent.label, index))
            cursor = ent.end
        self._split(plan.text[cursor:], cursor, plan, pieces)
        # One tokenizer call per note (a batch of pieces), not one per piece.
        spoken = [piece for piece in pieces if piece.text.strip()]
        if spoken:
            batch = self.tokenizer([piece.text for piece in spoken], add_special_tokens=False)
            for piece, ids in zip(spoken, batch["input_ids"]):
                piece.ids = ids
        return pieces

    def _split(self, text: str, offset: int, plan: NotePlan, pieces: List[_Piece]) -> None:
        """Split non-entity text into maskable words and the text between them."""
        pos = dict(((s, e), tag) for s, e, tag in plan.token_pos) if plan.token_pos else {}
        allowed_pos = self.cfg["mask_pos"]
        cursor = 0
        for match in _WORD.finditer(text):
            maskable = (
                allowed_pos is None or pos.get((offset + match.start(), offset + match.end())) in allowed_pos
            )
            if not maskable:
                continue
            if match.start() > cursor:
                pieces.append(_Piece(text[cursor : match.start()], "text"))
            pieces.append(_Piece(match.group(), "word"))
            cursor = match.end()
        if cursor < len(text):
            pieces.append(_Piece(text[cursor:], "text"))

    def _choose_masks(self, note: List[_Piece], gen: "torch.Generator") -> None:
        kinds = [p.kind for p in note]
        near = near_entities(kinds, self.cfg["context_words"])
        eligible = [i for i, p in enumerate(note) if p.kind == "word" and i not in near]
        n_mask = min(round(kinds.count("word") * self.cfg["mask_rate"]), len(eligible))
        chosen: List[int] = []
        if self.cfg["max_run"]:
            lengths = [len(word_tokens(p.text)) for p in note]
            chosen = run_breakers(lengths, eligible, self.cfg["max_run"])
        taken = set(chosen)
        rest = [i for i in eligible if i not in taken]
        extra = n_mask - len(chosen)
        if extra > 0:
            chosen += [rest[k] for k in torch.randperm(len(rest), generator=gen)[:extra].tolist()]
        for i in chosen:
            note[i].masked = True

    def _layout(self, note: List[_Piece]) -> Tuple[List[int], List[Tuple[int, _Piece]]]:
        """Token ids of the note with masks, and (position, piece) of each masked word."""
        mask_id = self.tokenizer.mask_token_id
        ids: List[int] = []
        slots: List[Tuple[int, _Piece]] = []
        for piece in note:
            if piece.masked and piece.fill is None:
                slots.append((len(ids), piece))
                ids.append(mask_id)
            elif piece.masked:
                ids.append(piece.fill)
            else:
                ids.extend(piece.ids)
        return ids, slots

    def _windows(self, length: int) -> List[Tuple[int, int, int, int]]:
        """(start, end, owned_from, owned_to) windows over a note's token positions.

        Windows overlap by half a quarter-window on each side; each position is
        owned (predicted) by exactly one window and sees context on both sides.
        """
        if self._model is None:
            self.load(self.cfg["model"])  # sets the context length from the model
        size = self._context - 2
        if length <= size:
            return [(0, length, 0, length)]
        overlap = size // 4
        windows, start = [], 0
        while True:
            end = min(start + size, length)
            last = end == length
            windows.append(
                (start, end, 0 if start == 0 else start + overlap, length if last else end - overlap)
            )
            if last:
                return windows
            start = end - 2 * overlap

    def _forward(self, batch: List[List[int]], positions: List[List[int]]) -> List["torch.Tensor"]:
        """What `project` turns into logits, at the given positions of each window.

        The vocabulary projection is left to the caller, one window at a time: a batch's logits
        at once would be (masks in the batch) x (vocabulary) floats, hundreds of MB at peak.
        """
        input_ids, attention = encoder_inputs(self.tokenizer, batch)
        select = piece_select(input_ids, positions)
        with torch.inference_mode():
            states = states_at(self.model, input_ids, attention, select)
        # Rows of `select` are visited in order, and positions within a row ascending.
        out, start = [], 0
        for row_positions in positions:
            out.append(states[start : start + len(row_positions)])
            start += len(row_positions)
        return out

    def _sample(
        self, logits: "torch.Tensor", pieces: List[_Piece], gen: "torch.Generator", banned: Sequence[int] = ()
    ) -> None:
        """Sample a fill for each piece from its row of logits (rows in the pieces' order).

        Only vocabulary entries that start a whole word compete, but not the `banned` ones (the
        note's own PHI words); a refilled word is a new word (its original id is excluded); then
        top-k and top-p (nucleus) filtering over the word's full-vocabulary probabilities, in one
        batched pass per window.
        """
        scores = logits / self.cfg["temperature"]
        allowed = self._allowed[: scores.shape[-1]].clone()
        allowed[[index for index in banned if index < len(allowed)]] = False
        scores = scores.masked_fill(~allowed, float("-inf"))
        if int(allowed.sum()) > 1:
            rows = [i for i, piece in enumerate(pieces) if len(piece.ids) == 1]
            scores[rows, [pieces[i].ids[0] for i in rows]] = float("-inf")
        probs = torch.softmax(scores, dim=-1)
        top_k = self.cfg["top_k"] or probs.shape[-1]
        values, order = torch.topk(probs, min(top_k, probs.shape[-1]), dim=-1)  # sorted, descending
        keep = torch.cumsum(values, dim=-1) - values < self.cfg["top_p"]
        keep[:, 0] = True
        weights = values * keep
        picks = torch.multinomial(weights / weights.sum(-1, keepdim=True), 1, generator=gen).squeeze(1)
        chosen = order.gather(1, picks[:, None]).squeeze(1).tolist()
        confidence = values.gather(1, picks[:, None]).squeeze(1).tolist()
        for piece, choice, conf in zip(pieces, chosen, confidence):
            piece.fill = choice
            piece.confidence = conf

    def _run(self, jobs, generators, banned, counts) -> None:
        """jobs: (note index, window ids, [(window position, piece)]) -> fill those pieces."""
        # Windows of similar length share a batch. The sort is stable, so a note's windows
        # keep their order and each note's samples depend on the note alone.
        for batch in length_batches([len(ids) for _, ids, _ in jobs], self.cfg["batch_size"]):
            chunk = [jobs[i] for i in batch]
            positions = [sorted(position for position, _ in targets) for _, _, targets in chunk]
            states = self._forward([ids for _, ids, _ in chunk], positions)
            for row, (note_index, _, targets) in enumerate(chunk):
                counts[note_index]["forward_passes"] += 1
                # states[row] follows positions[row], which is sorted like the targets here
                pieces = [piece for _, piece in sorted(targets, key=lambda t: t[0])]
                with torch.inference_mode():
                    logits = project(self.model, states[row])
                self._sample(logits, pieces, generators[note_index], banned[note_index])

    def _note_jobs(self, note_index: int, note: List[_Piece], only: Optional[set] = None):
        ids, slots = self._layout(note)
        jobs = []
        for start, end, owned_from, owned_to in self._windows(len(ids)):
            targets = [
                (pos - start, p)
                for pos, p in slots
                if owned_from <= pos < owned_to and (only is None or id(p) in only)
            ]
            if targets:
                jobs.append((note_index, ids[start:end], targets))
        return jobs

    def _fill_parallel(self, notes, generators, banned, counts) -> None:
        rounds = self.cfg["rounds"]
        for r in range(rounds):
            if r:
                # Mask-Predict: re-mask the least confident fills, fewer each round.
                for note in notes:
                    masked = [p for p in note if p.masked]
                    n = math.floor(len(masked) * (rounds - r) / rounds)
                    for piece in sorted(masked, key=lambda p: p.confidence)[:n]:
                        piece.fill = None
            jobs = [job for i, note in enumerate(notes) for job in self._note_jobs(i, note)]
            self._run(jobs, generators, banned, counts)

    def _fill_iterative(self, notes, generators, banned, counts) -> None:
        spans = [self._mask_spans(note) for note in notes]
        while any(spans):
            jobs = []
            for i, note in enumerate(notes):
                if spans[i]:
                    span = spans[i].pop(0)
                    jobs += self._note_jobs(i, note, only={id(p) for p in span})
            self._run(jobs, generators, banned, counts)

    @staticmethod
    def _mask_spans(note: List[_Piece]) -> List[List[_Piece]]:
        """Runs of masked words with only text (spaces, punctuation) between them."""
        spans: List[List[_Piece]] = []
        current: List[_Piece] = []
        for piece in note:
            if piece.masked:
                current.append(piece)
            elif piece.kind != "text" and current:
                spans.append(current)
                current = []
        if current:
            spans.append(current)
        return spans

    def _segments(self, note: List[_Piece], count: Dict[str, int]) -> Synthesis:
        segments = []
        for piece in note:
            if piece.kind == "entity":
                segments.append(Segment(piece.text, piece.label, piece.source))
                continue
            text = piece.text
            if piece.masked and piece.fill is not None:
                token = self.tokenizer.convert_ids_to_tokens(piece.fill).lstrip("Ġ▁")
                text = like_case(piece.text, token)
                count["changed_words"] += text.lower() != piece.text.lower()
            segments.append(Segment(text))
        return Synthesis(segments, count)


def run_breakers(lengths: Sequence[int], eligible: Sequence[int], max_run: int) -> List[int]:
    """The fewest pieces to change so that no run of more than `max_run` unchanged tokens
    holds an eligible piece (greedy: each mask as late as the run allows, which is optimal).

    lengths (Sequence[int]): Tokens in each piece of a note, in order.
    eligible (Sequence[int]): Indexes of the pieces that may be changed (ascending).
    max_run (int): Longest run of unchanged tokens to allow.
    RETURNS (List[int]): Indexes of the pieces to change, ascending.
    """
    allowed = set(eligible)
    chosen: List[int] = []
    run = 0  # unchanged tokens since the last change
    latest: Optional[Tuple[int, int]] = None  # (eligible piece, run up to and including it)
    for index, length in enumerate(lengths):
        run += length
        if index in allowed:
            latest = (index, run)
        if run > max_run and latest is not None:
            piece, upto = latest
            chosen.append(piece)
            run -= upto
            latest = None
    return chosen


def near_entities(kinds: Sequence[str], context_words: int) -> Set[int]:
    """Indexes of the "word" pieces among the `context_words` nearest words on each side of each
    "entity" piece, not counting past another entity.

    kinds (Sequence[str]): The kind of each piece of a note, in order ("text", "word", "entity").
    context_words (int): Words to take on each side.
    RETURNS (Set[int]): Indexes into `kinds`.
    """
    near: Set[int] = set()
    for index, kind in enumerate(kinds):
        if kind != "entity":
            continue
        for step in (-1, 1):
            cursor, taken = index + step, 0
            while 0 <= cursor < len(kinds) and taken < context_words and kinds[cursor] != "entity":
                if kinds[cursor] == "word":
                    near.add(cursor)
                    taken += 1
                cursor += step
    return near


@registry.misc("spacy_synthnotes.MaskedInfill.v1")
def make_masked_infill_generator(
    model: str,
    mask_rate: float = 0.5,
    rounds: int = 2,
    fill: str = "parallel",
    mask_pos: Optional[List[str]] = None,
    temperature: float = 1.0,
    top_k: int = 50,
    top_p: float = 0.95,
    protect_labels: Optional[List[str]] = None,
    max_length: int = 256,
    batch_size: int = 16,
    locale: str = "en_US",
    seed: int = 0,
) -> MaskedInfillGenerator:
    """Registered factory of the masked-LM infilling generator (see `MaskedInfillGenerator`); every
    word may be masked."""
    return MaskedInfillGenerator(**locals())  # the arguments are the generator's, by name


@registry.misc("spacy_synthnotes.MaskedInfill.v2")
def make_masked_infill_generator_v2(
    model: str,
    mask_rate: float = 0.5,
    rounds: int = 2,
    fill: str = "parallel",
    mask_pos: Optional[List[str]] = None,
    temperature: float = 1.0,
    top_k: int = 50,
    top_p: float = 0.95,
    protect_labels: Optional[List[str]] = None,
    context_words: int = 1,
    max_length: int = 256,
    batch_size: int = 16,
    locale: str = "en_US",
    seed: int = 0,
) -> MaskedInfillGenerator:
    """v1 plus `context_words` (default 1): the word on each side of an entity is never masked."""
    return MaskedInfillGenerator(**locals())  # the arguments are the generator's, by name


@registry.misc("spacy_synthnotes.MaskedInfill.v3")
def make_masked_infill_generator_v3(
    model: str,
    mask_rate: float = 0.5,
    rounds: int = 2,
    fill: str = "parallel",
    mask_pos: Optional[List[str]] = None,
    temperature: float = 1.0,
    top_k: int = 50,
    top_p: float = 0.95,
    protect_labels: Optional[List[str]] = None,
    context_words: int = 0,
    max_run: int = 12,
    max_length: int = 256,
    batch_size: int = 16,
    locale: str = "en_US",
    seed: int = 0,
) -> MaskedInfillGenerator:
    """v1 plus `max_run` (default 12): masks break every run of 13 or more unchanged source tokens
    that a maskable word can break (no verbatim 13-gram of the source survives there), then fall at
    random; and v2's `context_words` (default 0, as v1)."""
    return MaskedInfillGenerator(**locals())  # the arguments are the generator's, by name
