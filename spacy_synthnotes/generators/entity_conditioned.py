"""The entity-conditioned generator: a causal LM writes a whole new note from the note's entities.

After Melamud & Shivade (2019) and "Controllable Synthetic Clinical Note
Generation with Privacy Guarantees" (2024). The prompt is the plan (note type,
then `LABEL: text` per entity, PHI as surrogates or typed placeholders); the
model writes the note with each entity wrapped in markers (see
`entity_format`), and the spans are read back from the markers, so they are
exact. With `constrained = true` (default) decoding is lexically constrained:
after an opening marker the next plan entity's tokens and the closing marker are
forced, an end of note is refused while entities remain, and an opening marker
is forced when the remaining budget only just fits them. A source note whose
plan and text would not fit the model's context is written in parts, cut at the
same line ends the training recipe cuts long notes at (`note_parts`).

`EntityConditioned.v2` adds `contexts = true`: when the model directory holds
entity contexts released with DP by `train-causal` (`entity_contexts`), sampled
contexts of their labels are written before and after the entities, as often
as the release counted them.

`EntityConditioned.v3` adds `lines = true`: when that release holds line
templates (`line_templates`), each source line whose entities match released
templates is written from one, in place of the lines where the model wrote them.
"""

import random
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import srsly
import torch
from spacy.util import registry

from .base import DROP, KEEP, PHI, EntitySpec, NotePlan, Segment, Synthesis
from .causal_lm import check_writer
from .entity_contexts import CONTEXTS_FILE, insert_contexts, read_contexts
from .entity_format import (
    CLOSE,
    END,
    OPEN,
    SPECIAL_TOKENS,
    note_parts,
    parse_marked,
    part_cost,
    serialize_plan,
)
from .line_templates import merge_lines, template_lines
from .local_model import LocalModelGenerator

PRIVACY_FILE = "privacy.json"
DP_FLAG = "synthnotes_dp"  # set in the model's config.json by train-causal when trained with DP
PHI_MODES = ("surrogate", "placeholder")


def load_privacy(path: Path, config) -> Optional[Dict[str, Any]]:
    """The (epsilon, delta) record of a model directory; refuses a DP model whose record is missing."""
    record_file = path / PRIVACY_FILE
    if getattr(config, DP_FLAG, False):
        try:
            record = srsly.read_json(record_file)
            float(record["epsilon"]), float(record["delta"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ValueError(
                f"{path} holds a model trained with differential privacy, but its privacy record "
                f"{record_file.name} is missing or unreadable ({type(err).__name__}: {err}). Refusing to "
                "load it as if it were a non-private model: restore the file from the training output."
            ) from None
        return record
    return None


class EntityConditionedGenerator(LocalModelGenerator):
    """Write a new note per plan with a causal LM trained by `train-causal` (or any local model so trained).

    model (str): Directory of the model and its tokenizer (the recipe's
        `model-best`, or a pipeline's saved copy).
    max_new_tokens (int): Most tokens written per note.
    temperature, top_p, repetition_penalty (float): Sampling settings.
    num_candidates (int): Notes sampled per plan; the one with the best entity
        coverage (then fewest unknown markers) is kept. Constrained decoding
        writes every entity and no stray marker, so its candidates tie and the
        first is kept: more than 1 only pays with `constrained = False`.
    constrained (bool): Lexically constrained decoding (see module doc).
    phi (str): PHI in the plan as "surrogate" values or "placeholder" labels.
    batch_size (int): Plans generated together. With 1 (default) each note
        depends only on its own seed; larger batches are faster but a note's
        sample depends on its batch.
    require_privacy (bool): Refuse a model without a differential-privacy record.
    contexts (bool): Write a released context beside each entity when the model
        has entity contexts (`entity_contexts.json`); no effect otherwise.
    lines (bool): Write the source lines that match released line templates
        (in `entity_contexts.json`) from those templates; no effect otherwise.
    locale (str): Faker locale of the surrogates.
    seed (int): Added to each note's seed.
    """

    def __init__(
        self,
        model: str,
        *,
        max_new_tokens: int = 512,
        temperature: float = 0.8,
        top_p: float = 0.95,
        repetition_penalty: float = 1.0,
        num_candidates: int = 1,
        constrained: bool = True,
        phi: str = "surrogate",
        batch_size: int = 1,
        require_privacy: bool = False,
        contexts: bool = False,
        lines: bool = False,
        locale: str = "en_US",
        seed: int = 0,
    ):
        if phi not in PHI_MODES:
            raise ValueError(f"phi must be one of {PHI_MODES}, got {phi!r}")
        if max_new_tokens < 1 or num_candidates < 1 or batch_size < 1:
            raise ValueError("max_new_tokens, num_candidates and batch_size must be >= 1")
        if temperature <= 0 or not 0 < top_p <= 1 or repetition_penalty <= 0:
            raise ValueError("temperature and repetition_penalty must be > 0, top_p in (0, 1]")
        self.cfg: Dict[str, Any] = {
            "model": str(model),
            "max_new_tokens": max_new_tokens,
            "temperature": temperature,
            "top_p": top_p,
            "repetition_penalty": repetition_penalty,
            "num_candidates": num_candidates,
            "constrained": constrained,
            "phi": phi,
            "batch_size": batch_size,
            "require_privacy": require_privacy,
            "contexts": contexts,
            "lines": lines,
            "locale": locale,
            "seed": seed,
        }
        super().__init__(self.cfg)
        self._privacy: Optional[Dict[str, Any]] = None
        self._contexts: Optional[Dict[str, Any]] = None

    # -- model --------------------------------------------------------------------------------
    kind = "EntityConditioned model"
    expected = "causal-LM directory (config.json, weights and tokenizer files)"

    def read(self, path: Path):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        return AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True), tokenizer

    def loaded(self, path: Path, model, tokenizer) -> None:
        unknown = (None, tokenizer.unk_token_id)
        missing = [t for t in SPECIAL_TOKENS if tokenizer.convert_tokens_to_ids(t) in unknown]
        if missing:
            raise ValueError(
                f"The tokenizer in {path} lacks the entity-format tokens {missing}: the model was not trained"
                " for this generator. Fine-tune it first: python -m spacy_synthnotes train-causal CONFIG "
                "--paths.init PATH"
            )
        check_writer(path, model, tokenizer)
        privacy = load_privacy(path, model.config)
        if self.cfg["require_privacy"] and privacy is None:
            raise ValueError(f"require_privacy = true, but the model in {path} was not trained with DP")
        self._privacy = privacy
        table = path / CONTEXTS_FILE
        self._contexts = read_contexts(table) if table.exists() else None

    @property
    def privacy(self) -> Optional[Dict[str, Any]]:
        """The model's differential-privacy record (epsilon, delta, accountant...), None if not DP."""
        if self._model is None:
            self.load(self.cfg["model"])
        return self._privacy

    # -- generation -----------------------------------------------------------------------------
    def plan_entities(self, plan: NotePlan) -> List[Tuple[str, str, int]]:
        """(label, text, source index) of the entities the note must mention, PHI replaced."""
        table = self.surrogates_for(plan) if self.cfg["phi"] == "surrogate" else None
        out = []
        for index, ent in enumerate(plan.entities):
            if ent.action == DROP:
                continue
            if ent.action == PHI:
                text = table.replace(ent.text, ent.label) if table is not None else f"[{ent.label}]"
            else:
                text = ent.text
            out.append((ent.label, text, index))
        return out

    def __call__(self, plans: Sequence[NotePlan]) -> List[Synthesis]:
        out: List[Synthesis] = []
        size = self.cfg["batch_size"]
        for start in range(0, len(plans), size):
            out += self._batch(plans[start : start + size])
        return out

    def parts(self, plan: NotePlan) -> List[Tuple[Optional[Tuple[int, int]], List[Tuple[str, str, int]]]]:
        """The plan's entities (see `plan_entities`) grouped by the parts its note is written in.

        RETURNS (List[Tuple[Optional[Tuple[int, int]], List[Tuple[str, str, int]]]]): (k, n) and the
            entities of each part; one part, (None, all entities), when the source fits the context.
        """
        entities = self.plan_entities(plan)
        if not plan.text:
            return [(None, entities)]
        tok, context = self.tokenizer, getattr(self.model.config, "max_position_embeddings", 2048)
        written = {index: (label, text) for label, text, index in entities}

        def inside(start: int, end: int) -> List[int]:
            return [i for i, e in enumerate(plan.entities) if start <= e.start and e.end <= end]

        listed = [(plan.entities[i].start, plan.entities[i].end, *written[i]) for i in written]
        cost = part_cost(
            plan.text,
            listed,
            plan.note_type,
            lambda example: len(tok(example, add_special_tokens=False)["input_ids"]),
        )
        bounds = note_parts(plan.text, [(e.start, e.end) for e in plan.entities], cost, context)
        if len(bounds) == 1:
            return [(None, entities)]
        groups = []
        for k, (start, end) in enumerate(bounds, start=1):
            members = set(inside(start, end))
            groups.append(((k, len(bounds)), [entity for entity in entities if entity[2] in members]))
        return groups

    def _batch(self, plans: Sequence[NotePlan]) -> List[Synthesis]:
        from transformers import LogitsProcessorList  # with the model: seconds to import

        from .entity_forcing import EntityForcing

        tok, model, n = self.tokenizer, self.model, self.cfg["num_candidates"]
        context = getattr(model.config, "max_position_embeddings", 2048)
        owners, specs, prompts, left_out, templated = [], [], [], [], []
        templates = (self._contexts or {}).get("lines", []) if self.cfg["lines"] else []
        sentences = bool((self._contexts or {}).get("record", {}).get("sentences", False))
        for owner, plan in enumerate(plans):
            spans = [(e.start, e.end, e.label) for e in plan.entities]
            for k, (part, entities) in enumerate(self.parts(plan)):
                lines: List[Tuple[int, List[Segment]]] = []
                if templates and plan.text:  # seeded by the note and part, whatever the batch
                    rng = random.Random(f"{plan.seed}:{self.cfg['seed']}:{k}:lines")
                    written = {index: text for _, text, index in entities}
                    lines = template_lines(plan.text, spans, written, templates, rng, sentences)
                templated.append(lines)
                wanted = {index for _, _, index in entities}
                while True:  # entities that leave no room to write are left out, and counted as missing
                    pairs = [(label, text) for label, text, _ in entities]
                    ids = tok(serialize_plan(pairs, plan.note_type, part), add_special_tokens=False)[
                        "input_ids"
                    ]
                    if len(ids) + 64 <= context or not entities:
                        break
                    entities = entities[:-1]
                owners.append(owner)
                specs.append(entities)
                # entities left out and not written by a template line either are missing
                done = {s.source for _, line in lines for s in line} | {index for _, _, index in entities}
                left_out.append(len(wanted - done))
                prompts.append(ids)
        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), tok.pad_token_id, dtype=torch.long)
        attention = torch.zeros_like(input_ids)
        for row, ids in enumerate(prompts):  # left padding: every prompt ends where writing starts
            input_ids[row, width - len(ids) :] = torch.tensor(ids)
            attention[row, width - len(ids) :] = 1
        max_length = min(context, width + self.cfg["max_new_tokens"])
        end_ids = [tok.convert_tokens_to_ids(END)] + (
            [tok.eos_token_id] if tok.eos_token_id is not None else []
        )
        processors = LogitsProcessorList()
        if self.cfg["constrained"]:
            entity_ids = [
                [tok(text, add_special_tokens=False)["input_ids"] for _, text, _ in spec]
                for spec in specs
                for _ in range(n)
            ]
            open_id, close_id = tok.convert_tokens_to_ids(OPEN), tok.convert_tokens_to_ids(CLOSE)
            processors.append(EntityForcing(entity_ids, width, max_length, open_id, close_id, end_ids))
        seed = (sum(plan.seed for plan in plans) + self.cfg["seed"]) % (2**63)
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(seed)
            output = model.generate(
                input_ids=input_ids,
                attention_mask=attention,
                do_sample=True,
                temperature=self.cfg["temperature"],
                top_p=self.cfg["top_p"],
                top_k=0,
                repetition_penalty=self.cfg["repetition_penalty"],
                max_length=max_length,
                num_return_sequences=n,
                logits_processor=processors,
                eos_token_id=end_ids,
                pad_token_id=tok.pad_token_id,
            )
        results = [Synthesis([], {"candidates": n, "parts": 0}) for _ in plans]
        contexts = self._contexts if self.cfg["contexts"] else None
        for i, (owner, spec, cut, lines) in enumerate(zip(owners, specs, left_out, templated)):
            best: Optional[Tuple[Tuple[int, int], List[Segment], Dict[str, int]]] = None
            pairs = [(label, text) for label, text, _ in spec]
            for c in range(n):
                text = tok.decode(output[i * n + c, width:], clean_up_tokenization_spaces=False)
                segments, counts = parse_marked(text, pairs)
                segments = [
                    Segment(s.text, s.label, spec[s.source][2]) if s.source is not None else s
                    for s in segments
                ]
                counts["entities_missing"] += cut
                key = (counts["entities_written"], -counts["unknown_markers"] - counts["unclosed_markers"])
                if best is None or key > best[0]:
                    best = (key, segments, counts)
            result = results[owner]
            if contexts is not None:  # seeded by the note and part, whatever the batch
                rng = random.Random(f"{plans[owner].seed}:{self.cfg['seed']}:{result.counts['parts']}")
                segments, best[2]["contexts_written"] = insert_contexts(best[1], contexts, rng)
                best = (best[0], segments, best[2])
            if lines:
                best[2]["lines_written"] = len(lines)
                best = (best[0], merge_lines(best[1], lines), best[2])
            if result.segments and not result.segments[-1].text.endswith("\n"):
                result.segments.append(Segment("\n"))  # parts were cut at line ends
            result.segments.extend(best[1])
            result.counts["parts"] += 1
            for name, value in best[2].items():
                result.counts[name] = result.counts.get(name, 0) + value
        return results

    # -- serialization ---------------------------------------------------------------------------
    def to_disk(self, path: Union[str, Path]) -> None:
        """Save the model, tokenizer, settings and the privacy record: a self-contained pipeline."""
        super().to_disk(path)
        if self._privacy is not None:
            srsly.write_json(Path(path) / "model" / PRIVACY_FILE, self._privacy)
        if self._contexts is not None:
            srsly.write_json(Path(path) / "model" / CONTEXTS_FILE, self._contexts)


@registry.misc("spacy_synthnotes.EntityConditioned.v1")
def make_entity_conditioned_generator(
    model: str,
    max_new_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 0.95,
    repetition_penalty: float = 1.0,
    num_candidates: int = 1,
    constrained: bool = True,
    phi: str = "surrogate",
    batch_size: int = 1,
    require_privacy: bool = False,
    locale: str = "en_US",
    seed: int = 0,
) -> EntityConditionedGenerator:
    """Registered factory of the entity-conditioned generator (see `EntityConditionedGenerator`)."""
    return EntityConditionedGenerator(
        model,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        repetition_penalty=repetition_penalty,
        num_candidates=num_candidates,
        constrained=constrained,
        phi=phi,
        batch_size=batch_size,
        require_privacy=require_privacy,
        locale=locale,
        seed=seed,
    )


@registry.misc("spacy_synthnotes.EntityConditioned.v2")
def make_entity_conditioned_generator_v2(
    model: str,
    max_new_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 0.95,
    repetition_penalty: float = 1.0,
    num_candidates: int = 1,
    constrained: bool = True,
    phi: str = "surrogate",
    batch_size: int = 1,
    require_privacy: bool = False,
    contexts: bool = True,
    locale: str = "en_US",
    seed: int = 0,
) -> EntityConditionedGenerator:
    """v1 plus `contexts`: the DP-released words beside each entity (see `EntityConditionedGenerator`)."""
    return EntityConditionedGenerator(**locals())  # the arguments are the generator's, by name


@registry.misc("spacy_synthnotes.EntityConditioned.v3")
def make_entity_conditioned_generator_v3(
    model: str,
    max_new_tokens: int = 512,
    temperature: float = 0.8,
    top_p: float = 0.95,
    repetition_penalty: float = 1.0,
    num_candidates: int = 1,
    constrained: bool = True,
    phi: str = "surrogate",
    batch_size: int = 1,
    require_privacy: bool = False,
    contexts: bool = True,
    lines: bool = True,
    locale: str = "en_US",
    seed: int = 0,
) -> EntityConditionedGenerator:
    """v2 plus `lines`: the source lines that match DP-released line templates are written from them
    (see `EntityConditionedGenerator`)."""
    return EntityConditionedGenerator(**locals())  # the arguments are the generator's, by name


def generate_from_entities(
    entities: Sequence[Tuple[str, str]],
    generator: EntityConditionedGenerator,
    *,
    note_type: Optional[str] = None,
    seed: int = 0,
    nlp=None,
):
    """Write a note that mentions the given facts, for corpus balancing and controlled data.

    entities (Sequence[Tuple[str, str]]): (label, text) pairs, in the order the
        note should mention them, e.g. [("PROBLEM", "Fabry disease"), ("DRUG",
        "agalsidase beta")]. They are written as given (no surrogates).
    generator (EntityConditionedGenerator): The generator (its model and settings).
    note_type (Optional[str]): The note type, e.g. "discharge summary".
    seed (int): The note's seed.
    nlp (Optional[Language]): Its tokenizer tokenizes the note (default: blank English).
    RETURNS (Doc): The note, with the written entities as `ents` (exact spans);
        `doc.user_data["synthetic_report"]` has the counts (entities missing...).
    """
    import spacy

    from ..pipe import SynthNotes

    nlp = nlp if nlp is not None else spacy.blank("en")
    plan = NotePlan("", [EntitySpec(0, 0, label, text, KEEP) for label, text in entities], seed, note_type)
    component = SynthNotes(nlp, generator=generator, phi_labels=[])
    output = generator([plan])[0]
    residual = component.check_residual(plan, output)
    doc, _, report = component.assemble(plan, output)
    report["residual_phi"] = len(residual)
    doc.user_data["synthetic_report"] = report
    return doc
