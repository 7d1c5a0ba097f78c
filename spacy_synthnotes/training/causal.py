"""The entity-conditioned causal-LM recipe: `python -m spacy_synthnotes train-causal CONFIG --output DIR`.

From scratch (a byte-level BPE tokenizer trained on the corpus and a small
Llama-style model: plain `nn.Linear` layers, which Opacus's per-sample gradient
hooks support, unlike GPT-2's Conv1D) or fine-tuning a local Hugging Face
model (`init = "/path"`; an encoder checkpoint is loaded as a decoder, and a
model that is not causal or a tokenizer that alters text is refused, see
`generators.causal_lm`). Notes are PHI-replaced first. Each example is the
serialized plan (prompt, no loss) followed by the marked note (loss); a note
longer than the context is cut at line ends into parts that fit (`note_parts`),
each an example of its own, so no note is truncated.

With `[training.privacy]` (`target_epsilon` or `noise_multiplier`) training is
DP-SGD with Opacus: per-sample clipping at `max_grad_norm`, Poisson sampling of
units (a patient's notes form one unit when the corpus has patient ids, so the
guarantee is per patient; one of the unit's notes is drawn each time it is
sampled; a note without a patient id is a unit of its own, and the record then
says the guarantee is per note) and an RDP or PRV accountant. The achieved
(epsilon, delta) is written to `privacy.json` beside the weights, and the
model's config is flagged, so the generator refuses to load the weights without
their record.

With `[training.contexts] words > 0` (DP only) the words next to each label's
mentions are released too (`generators.entity_contexts`), written to
`entity_contexts.json` beside the weights for EntityConditioned.v2 and v3. The release
is one Gaussian mechanism in the same accountant as DP-SGD (a `target_epsilon`
is the total: DP-SGD's noise is calibrated for what is left), and its threshold
takes `delta_share` of delta. With `lines > 0` the same release also counts
whole-line templates (`generators.line_templates`) for EntityConditioned.v3.
"""

import math
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import srsly
import torch
from thinc.api import Config
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)
from wasabi import msg

from ..generators.causal_lm import check_writer
from ..generators.entity_conditioned import DP_FLAG, PRIVACY_FILE
from ..generators.entity_contexts import (
    CONTEXTS_FILE,
    Context,
    ContextRelease,
    note_contexts,
    release_contexts,
)
from ..generators.entity_format import (
    END,
    PAD,
    SPECIAL_TOKENS,
    mark_note,
    note_parts,
    part_cost,
    serialize_plan,
)
from ..generators.line_templates import LineTemplate, note_lines
from ..privacy.canaries import CANARY_FILE, save_canaries
from .common import resolve_init, training_notes
from .corpus import TrainingNote

META_FILE = "synthnotes_causal.json"
ACCOUNTANTS = ("prv", "rdp")
UNITS = ("patient", "note")


@dataclass
class PrivacySettings:
    """The validated `[training.privacy]` block."""

    target_epsilon: Optional[float]
    noise_multiplier: Optional[float]
    delta: float
    max_grad_norm: float
    accountant: str
    unit: str


def privacy_settings(cfg: Optional[Dict[str, Any]], n_units: int) -> Optional[PrivacySettings]:
    """Validate `[training.privacy]`; None when neither target_epsilon nor noise_multiplier is set.

    delta defaults to N ** -1.1 for N sampling units, below the 1/N at which
    releasing one unit's data whole would already satisfy (epsilon, delta).
    """
    cfg = dict(cfg or {})
    epsilon, sigma = cfg.get("target_epsilon"), cfg.get("noise_multiplier")
    if epsilon is None and sigma is None:
        return None
    where = "[training.privacy]"
    if epsilon is not None and sigma is not None:
        raise ValueError(f"{where}: set target_epsilon or noise_multiplier, not both")
    if epsilon is not None and not float(epsilon) > 0:
        raise ValueError(f"{where} target_epsilon must be > 0, got {epsilon}")
    if sigma is not None and not float(sigma) > 0:
        raise ValueError(f"{where} noise_multiplier must be > 0, got {sigma}")
    delta = cfg.get("delta")
    delta = n_units**-1.1 if delta is None else float(delta)
    if not 0 < delta < 1 / n_units:
        raise ValueError(
            f"{where} delta must be in (0, 1/N) = (0, {1 / n_units:.3g}) for N = {n_units} sampling units, "
            f"got {delta}: a larger delta allows leaking a whole unit's data"
        )
    max_grad_norm = float(cfg.get("max_grad_norm", 1.0))
    if not max_grad_norm > 0:
        raise ValueError(f"{where} max_grad_norm must be > 0, got {max_grad_norm}")
    accountant = cfg.get("accountant", "prv")
    if accountant not in ACCOUNTANTS:
        raise ValueError(f"{where} accountant must be one of {ACCOUNTANTS}, got {accountant!r}")
    unit = cfg.get("unit", "patient")
    if unit not in UNITS:
        raise ValueError(f"{where} unit must be one of {UNITS}, got {unit!r}")
    return PrivacySettings(
        None if epsilon is None else float(epsilon),
        None if sigma is None else float(sigma),
        delta,
        max_grad_norm,
        accountant,
        unit,
    )


@dataclass
class ContextSettings:
    """The validated `[training.contexts]` block (see `generators.entity_contexts`)."""

    words: int
    per_label: int
    noise_multiplier: float
    delta_share: float
    lines: int = 0
    sentences: bool = False


def context_settings(cfg: Optional[Dict[str, Any]], dp: bool) -> Optional[ContextSettings]:
    """Validate `[training.contexts]`; None when `words` and `lines` are 0 or the block is absent."""
    cfg = dict(cfg or {})
    words, lines = int(cfg.get("words", 0)), int(cfg.get("lines", 0))
    where = "[training.contexts]"
    if words < 0 or lines < 0:
        raise ValueError(f"{where} words and lines must be >= 0, got {words} and {lines}")
    if words == 0 and lines == 0:
        return None
    if not dp:
        raise ValueError(
            f"{where} words = {words}, lines = {lines} release the text next to each entity, which is done "
            "only with differential privacy: set [training.privacy] target_epsilon (or noise_multiplier), "
            "or words = 0 and lines = 0"
        )
    sigma, share = float(cfg.get("noise_multiplier", 1.5)), float(cfg.get("delta_share", 0.1))
    per_label = int(cfg.get("per_label", 1))
    if per_label < 1:
        raise ValueError(f"{where} per_label must be >= 1, got {per_label}")
    if not sigma > 0:
        raise ValueError(f"{where} noise_multiplier must be > 0, got {sigma}")
    if not 0 < share < 1:
        raise ValueError(f"{where} delta_share must be in (0, 1), got {share}")
    sentences = cfg.get("sentences", False)
    if not isinstance(sentences, bool):
        raise ValueError(f"{where} sentences must be true or false, got {sentences!r}")
    return ContextSettings(words, per_label, sigma, share, lines, sentences)


def calibrate_noise(
    target_epsilon: float, delta: float, sample_rate: float, steps: int, accountant: str, prior: List[Tuple]
) -> float:
    """DP-SGD's noise multiplier for a total `target_epsilon` after the mechanisms in `prior`.

    prior (List[Tuple]): (noise multiplier, sample rate, steps) of mechanisms composed before training.
    RETURNS (float): The smallest noise multiplier (to 0.01 in epsilon) that stays within the target.
    """
    from opacus.accountants import create_accountant

    account = create_accountant(mechanism=accountant)

    def epsilon(sigma: float) -> float:
        account.history = list(prior) + [(sigma, sample_rate, steps)]
        return account.get_epsilon(delta=delta)

    account.history = list(prior)
    if prior and account.get_epsilon(delta=delta) >= target_epsilon:
        raise ValueError(
            f"The context release alone spends epsilon {target_epsilon} or more: raise "
            "[training.contexts] noise_multiplier or the target"
        )
    low, high = 0.0, 10.0
    while epsilon(high) > target_epsilon:
        low, high = high, 2 * high
        if high > 1e4:
            raise ValueError(f"target_epsilon {target_epsilon} is too low for {steps} steps")
    for _ in range(60):  # epsilon(high) <= target throughout
        middle = (low + high) / 2
        value = epsilon(middle)
        if value < target_epsilon:
            high = middle
            if target_epsilon - value <= 0.01:
                break
        else:
            low = middle
    return high


def note_texts(note: TrainingNote) -> Tuple[str, str]:
    """The prompt (serialized plan) and the target (marked note) of a training note."""
    pairs = [(label, note.text[start:end]) for start, end, label in sorted(note.entities)]
    return serialize_plan(pairs, note.note_type, note.part), mark_note(note.text, note.entities)


def split_note(note: TrainingNote, tokenizer, max_length: int) -> List[TrainingNote]:
    """The note as one example, or cut at line ends into parts whose example fits `max_length` tokens."""

    def piece(start: int, end: int, part: Optional[Tuple[int, int]] = None) -> TrainingNote:
        entities = [(s - start, e - start, label) for s, e, label in note.entities if start <= s and e <= end]
        return TrainingNote(note.text[start:end], entities, note.note_type, note.unit, part)

    cost = part_cost(
        note.text,
        [(s, e, label, note.text[s:e]) for s, e, label in note.entities],
        note.note_type,
        lambda example: len(tokenizer(example, add_special_tokens=False)["input_ids"]),
    )
    bounds = note_parts(note.text, [(s, e) for s, e, _ in note.entities], cost, max_length)
    if len(bounds) == 1:
        return [note]
    return [piece(start, end, (k, len(bounds))) for k, (start, end) in enumerate(bounds, start=1)]


def build_tokenizer(notes: List[TrainingNote], cfg: Dict[str, Any], output: Path) -> PreTrainedTokenizerFast:
    from tokenizers import ByteLevelBPETokenizer

    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(
        ("".join(note_texts(n)) for n in notes),
        vocab_size=cfg["vocab_size"],
        min_frequency=cfg.get("min_frequency", 2),
        special_tokens=SPECIAL_TOKENS,
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=trainer._tokenizer,
        pad_token=PAD,
        eos_token=END,
        additional_special_tokens=[t for t in SPECIAL_TOKENS if t not in (PAD, END)],
    )
    tokenizer.save_pretrained(output / "tokenizer")
    return tokenizer


def add_format_tokens(tokenizer, model) -> None:
    """Teach a pretrained tokenizer the format's tokens and grow the model's embeddings to match."""
    tokenizer.add_special_tokens(
        {"pad_token": PAD, "additional_special_tokens": [t for t in SPECIAL_TOKENS if t != PAD]}
    )
    model.resize_token_embeddings(len(tokenizer))


def encode(notes: List[TrainingNote], tokenizer, max_length: int) -> List[Tuple[List[int], int]]:
    """Token ids of prompt + target, cut at max_length, and the prompt's length (no loss there)."""
    out = []
    for note in notes:
        prompt, target = note_texts(note)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        target_ids = tokenizer(target, add_special_tokens=False)["input_ids"]
        ids = (prompt_ids + target_ids)[:max_length]
        if len(ids) > len(prompt_ids):
            out.append((ids, len(prompt_ids)))
    return out


def to_tensors(example: Tuple[List[int], int], max_length: int, pad: int) -> Tuple[torch.Tensor, ...]:
    """Fixed-length rows (Opacus's empty-batch handling and per-sample hooks want equal shapes)."""
    ids, prompt = example
    input_ids = torch.full((max_length,), pad, dtype=torch.long)
    input_ids[: len(ids)] = torch.tensor(ids)
    attention = torch.zeros(max_length, dtype=torch.long)
    attention[: len(ids)] = 1
    labels = torch.full((max_length,), -100, dtype=torch.long)
    labels[prompt : len(ids)] = input_ids[prompt : len(ids)]
    return input_ids, attention, labels


class UnitDataset(torch.utils.data.Dataset):
    """One item per sampling unit (a patient or a note); a patient's note is drawn at random each time."""

    def __init__(self, units: List[List[Tuple[torch.Tensor, ...]]], seed: int):
        self.units, self.rng = units, random.Random(seed)

    def __len__(self) -> int:
        return len(self.units)

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, ...]:
        unit = self.units[index]
        return unit[self.rng.randrange(len(unit))] if len(unit) > 1 else unit[0]


def freeze_for_dp(model) -> List[str]:
    """Freeze the parameters Opacus cannot clip per sample, before DP-SGD; RETURNS their names.

    These are: the input embeddings when the output layer shares them (tied
    weights get a per-sample gradient from each use, which Opacus cannot
    combine); an embedding looked up once for the whole batch (BERT's absolute
    positions), which has no per-sample gradient; and the own parameters of a
    composite module (one with sub-layers) Opacus has no per-sample rule for,
    such as the bias of BERT's LM head. A model from scratch loses nothing.
    """
    from opacus.grad_sample import GradSampleModule

    tied = getattr(model.get_output_embeddings(), "weight", None)
    if tied is not model.get_input_embeddings().weight:
        tied = None
    rows: Dict[str, int] = {}  # rows of each embedding's lookup in a batch of two

    def count_rows(name: str):
        def hook(_, args) -> None:
            rows.setdefault(name, args[0].shape[0])

        return hook

    hooks = [
        module.register_forward_pre_hook(count_rows(name))
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Embedding)
    ]
    try:
        with torch.no_grad():
            model(input_ids=torch.ones((2, 8), dtype=torch.long))
    finally:
        for hook in hooks:
            hook.remove()
    frozen = []
    for module_name, module in model.named_modules():
        composite = next(module.children(), None) is not None
        unsupported = composite and type(module) not in GradSampleModule.GRAD_SAMPLERS
        batch_wide = rows.get(module_name, 2) != 2
        for name, param in module.named_parameters(recurse=False):
            if param.requires_grad and (unsupported or batch_wide or param is tied):
                param.requires_grad_(False)
                frozen.append(f"{module_name}.{name}" if module_name else name)
    return frozen


def sequence_loss(model, input_ids, attention, labels, reduce: bool = True) -> torch.Tensor:
    """Per-note mean next-token loss over the target tokens, averaged over the batch."""
    logits = model(input_ids=input_ids, attention_mask=attention).logits[:, :-1]
    targets = labels[:, 1:]
    nll = torch.nn.functional.cross_entropy(
        logits.transpose(1, 2), targets, ignore_index=-100, reduction="none"
    )
    counts = (targets != -100).sum(dim=1).clamp(min=1)
    per_note = nll.sum(dim=1) / counts
    return per_note.mean() if reduce else per_note


def evaluate(model, rows: List[Tuple[torch.Tensor, ...]], batch_size: int) -> float:
    """Dev perplexity over target tokens."""
    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(rows), batch_size):
            input_ids, attention, labels = (torch.stack(c) for c in zip(*rows[start : start + batch_size]))
            logits = model(input_ids=input_ids, attention_mask=attention).logits[:, :-1]
            targets = labels[:, 1:]
            nll = torch.nn.functional.cross_entropy(
                logits.transpose(1, 2), targets, ignore_index=-100, reduction="sum"
            )
            total += float(nll)
            count += int((targets != -100).sum())
    model.train()
    return math.exp(total / max(count, 1))


def units_of(
    notes: List[TrainingNote], examples_ok: List[bool], unit: str, origins: Optional[List[int]] = None
) -> List[List[int]]:
    """Indices of the examples of each sampling unit; `origins` is the note each example (part) is from."""
    groups: Dict[Any, List[int]] = {}
    for i, (note, ok) in enumerate(zip(notes, examples_ok)):
        if ok:
            origin = origins[i] if origins is not None else i
            key = note.unit if unit == "patient" and note.unit is not None else ("note", origin)
            groups.setdefault(key, []).append(i)
    return list(groups.values())


def train_causal(config: Config, output: Path, *, log: Callable[[str], None] = msg.info) -> Dict[str, Any]:
    """Train as `config` says; write `model-best` and `model-last` under `output`.

    RETURNS (Dict[str, Any]): The metadata written beside the best model.
    """
    t_cfg, m_cfg = config["training"], config["model"]
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    seed = t_cfg["seed"]
    random.seed(seed)
    torch.manual_seed(seed)
    train_notes, dev_notes, canaries = training_notes(config, log)
    init = resolve_init(m_cfg.get("init"))
    if init is not None:
        tokenizer = AutoTokenizer.from_pretrained(str(init), local_files_only=True)
        # An encoder checkpoint becomes a decoder (causal attention); causal LMs ignore the flag.
        model = AutoModelForCausalLM.from_pretrained(str(init), local_files_only=True, is_decoder=True)
        check_writer(init, model, tokenizer)
        add_format_tokens(tokenizer, model)
    else:
        tokenizer = build_tokenizer(train_notes, config["tokenizer"], output)
        model = LlamaForCausalLM(
            LlamaConfig(
                vocab_size=len(tokenizer),
                hidden_size=m_cfg["hidden_size"],
                intermediate_size=m_cfg["intermediate_size"],
                num_hidden_layers=m_cfg["num_layers"],
                num_attention_heads=m_cfg["num_heads"],
                num_key_value_heads=m_cfg["num_heads"],
                max_position_embeddings=m_cfg["max_length"],
                tie_word_embeddings=False,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
                bos_token_id=None,
            )
        )
    max_length = min(
        m_cfg["max_length"], getattr(model.config, "max_position_embeddings", m_cfg["max_length"])
    )
    pad = tokenizer.pad_token_id
    parts, origins = [], []
    for i, note in enumerate(train_notes):
        for part in split_note(note, tokenizer, max_length):
            parts.append(part)
            origins.append(i)
    if len(parts) > len(train_notes):
        log(f"{len(parts) - len(train_notes)} more examples: long notes cut into parts that fit {max_length}")
    encoded = [encode([n], tokenizer, max_length) for n in parts]
    rows = [to_tensors(e[0], max_length, pad) if e else None for e in encoded]
    unit = (t_cfg.get("privacy") or {}).get("unit", "patient")
    groups = units_of(parts, [r is not None for r in rows], unit, origins)
    dev_parts = [part for note in dev_notes for part in split_note(note, tokenizer, max_length)]
    dev_rows = [to_tensors(e, max_length, pad) for e in encode(dev_parts, tokenizer, max_length)]
    privacy = privacy_settings(t_cfg.get("privacy"), len(groups))
    if privacy is not None and privacy.unit == "patient":
        anonymous = sum(note.unit is None for note in train_notes)
        if anonymous:  # each such note is a unit of its own: the record must not claim patients
            log(
                f"DP-SGD: {anonymous} of {len(train_notes)} training notes have no patient id, so each is a "
                "unit of its own and the guarantee is per note, not per patient"
            )
            privacy = replace(privacy, unit="note")
    contexts = context_settings(t_cfg.get("contexts"), privacy is not None)
    release: Optional[ContextRelease] = None
    if contexts is not None and privacy is not None:
        context_lists, line_lists = context_units(train_notes, contexts, unit)
        release = release_contexts(
            context_lists,
            sorted({label for note in train_notes for _, _, label in note.entities}),
            noise_multiplier=contexts.noise_multiplier,
            delta=privacy.delta * contexts.delta_share,
            words=contexts.words,
            per_label=contexts.per_label,
            lines=contexts.lines,
            line_units=line_lists,
            sentences=contexts.sentences,
            seed=seed,
        )
        log(
            f"Entity contexts: {release.record()['released']} contexts and {len(release.templates)} line "
            f"templates released (noise sd {release.sigma:.1f}, "
            f"threshold {release.threshold:.1f})"
        )
    # the accountant's delta: what the context release's threshold leaves of the total
    accountant_delta = 0.0 if privacy is None else privacy.delta - (release.delta if release else 0.0)
    dataset = UnitDataset([[rows[i] for i in group] for group in groups], seed)
    if privacy is not None:
        frozen = freeze_for_dp(model)
        if frozen:
            log(f"DP-SGD: {len(frozen)} parameters frozen (Opacus cannot clip them per sample): {frozen}")
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=t_cfg["batch_size"], shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=t_cfg["learning_rate"],
        weight_decay=t_cfg["weight_decay"],
    )
    engine = None
    model.train()
    if privacy is not None:
        from opacus import PrivacyEngine

        engine = PrivacyEngine(accountant=privacy.accountant)
        common = dict(
            module=model, optimizer=optimizer, data_loader=loader, max_grad_norm=privacy.max_grad_norm
        )
        prior = [(release.noise_multiplier, 1.0, 1)] if release is not None else []
        if privacy.target_epsilon is not None and prior:
            sample_rate = 1 / len(loader)  # as Opacus's make_private_with_epsilon counts it
            sigma = calibrate_noise(
                privacy.target_epsilon,
                accountant_delta,
                sample_rate,
                int(t_cfg["epochs"] / sample_rate),
                privacy.accountant,
                prior,
            )
            model, optimizer, loader = engine.make_private(**common, noise_multiplier=sigma)
        elif privacy.target_epsilon is not None:
            model, optimizer, loader = engine.make_private_with_epsilon(
                **common,
                target_epsilon=privacy.target_epsilon,
                target_delta=privacy.delta,
                epochs=t_cfg["epochs"],
            )
        else:
            model, optimizer, loader = engine.make_private(
                **common, noise_multiplier=privacy.noise_multiplier
            )
        engine.accountant.history[:0] = prior
        log(
            f"DP-SGD: {len(groups)} {privacy.unit} units, noise multiplier {optimizer.noise_multiplier:.3f}, "
            f"sample rate {loader.sample_rate:.4f}, delta {privacy.delta:.2e}"
        )
    base = model._module if engine is not None else model
    steps_per_epoch = max(1, len(loader))
    total_steps = steps_per_epoch * t_cfg["epochs"]
    warmup = t_cfg["warmup_steps"]
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / max(1, warmup)) * max(0.05, 1 - s / max(1, total_steps))
    )
    state = {"step": 0, "best": float("inf"), "history": [], "seconds": 0.0, "epochs": 0}
    start_time = time.time()
    max_seconds = t_cfg.get("max_minutes", 0) * 60
    for epoch in range(t_cfg["epochs"]):
        epoch_start = time.time()
        for input_ids, attention, labels in loader:
            if input_ids.numel() == 0:  # a Poisson-sampled batch with no unit: nothing to learn from
                continue
            loss = sequence_loss(model, input_ids, attention, labels)
            loss.backward()
            if engine is None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            state["step"] += 1
        epoch_seconds = time.time() - epoch_start
        perplexity = evaluate(base, dev_rows, t_cfg["batch_size"])
        state["epochs"] = epoch + 1
        state["seconds"] = time.time() - start_time
        entry = {"epoch": epoch + 1, "step": state["step"], "dev_perplexity": perplexity}
        entry["epoch_seconds"] = round(epoch_seconds, 2)
        if engine is not None:
            entry["epsilon"] = engine.get_epsilon(accountant_delta)
        state["history"].append(entry)
        log(
            f"epoch {epoch + 1}: step {state['step']}, dev perplexity {perplexity:.2f} ({epoch_seconds:.0f}s)"
        )
        record = (
            privacy_record(engine, optimizer, loader, privacy, len(groups), state, accountant_delta, release)
            if engine
            else None
        )
        if perplexity < state["best"]:
            state["best"] = perplexity
            save_model(base, tokenizer, output / "model-best", config, state, record, release)
        if max_seconds and state["seconds"] > max_seconds:
            log("Stopping: max_minutes reached")
            break
    record = (
        privacy_record(engine, optimizer, loader, privacy, len(groups), state, accountant_delta, release)
        if engine
        else None
    )
    save_model(base, tokenizer, output / "model-last", config, state, record, release)
    if canaries:
        for folder in ("model-best", "model-last"):
            save_canaries(canaries, output / folder / CANARY_FILE)
    return srsly.read_json(output / "model-best" / META_FILE)


def privacy_record(
    engine,
    optimizer,
    loader,
    privacy: PrivacySettings,
    n_units: int,
    state,
    accountant_delta: float,
    release: Optional[ContextRelease] = None,
) -> Dict[str, Any]:
    """What the model dir says about its privacy: the accountant's epsilon at `accountant_delta` for
    the steps taken so far (and the context release, whose threshold's delta makes up the rest of `delta`)."""
    record = {
        "epsilon": engine.get_epsilon(accountant_delta),
        "delta": privacy.delta,
        "accountant": privacy.accountant,
        "noise_multiplier": optimizer.noise_multiplier,
        "max_grad_norm": privacy.max_grad_norm,
        "sample_rate": loader.sample_rate,
        "steps": state["step"],
        "epochs": state["epochs"],
        "unit": privacy.unit,
        "n_units": n_units,
        "settings": asdict(privacy),
    }
    if release is not None:
        record["contexts"] = release.record()
    return record


def context_units(
    notes: List[TrainingNote], settings: ContextSettings, unit: str
) -> Tuple[List[List[Context]], List[List[LineTemplate]]]:
    """The entity contexts (none when `words` is 0) and the line templates (none when `lines` is 0) of
    each sampling unit's notes, grouped as `units_of` groups them."""
    groups = units_of(notes, [True] * len(notes), unit)
    words = settings.words
    contexts = [
        [c for i in group for c in note_contexts(notes[i].text, notes[i].entities, words)] if words else []
        for group in groups
    ]
    lines = [
        [t for i in group for t in note_lines(notes[i].text, notes[i].entities, settings.sentences)]
        if settings.lines
        else []
        for group in groups
    ]
    return contexts, lines


def save_model(
    model,
    tokenizer,
    path: Path,
    config: Config,
    state: Dict[str, Any],
    privacy,
    release: Optional[ContextRelease] = None,
) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if release is not None:
        release.to_disk(path / CONTEXTS_FILE)
    elif (path / CONTEXTS_FILE).exists():
        (path / CONTEXTS_FILE).unlink()
    setattr(model.config, DP_FLAG, privacy is not None)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    if privacy is not None:
        srsly.write_json(path / PRIVACY_FILE, privacy)
    elif (path / PRIVACY_FILE).exists():
        (path / PRIVACY_FILE).unlink()
    srsly.write_json(
        path / META_FILE,
        {
            "recipe": "train-causal",
            "step": state["step"],
            "epochs": state["epochs"],
            "dev_perplexity": state["history"][-1]["dev_perplexity"],
            "best_dev_perplexity": state["best"],
            "history": state["history"],
            "seconds": round(state["seconds"], 1),
            "privacy": privacy,
            "phi_replacement": config["phi"]["replace"],
            "config": srsly.json_loads(srsly.json_dumps(config.interpolate(), sort_keys=True)),
        },
    )
