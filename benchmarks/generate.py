"""MaskedInfill speed and fidelity, measured in one run.

    python benchmarks/generate.py --model training/mlm_minilm/model-best \
        [--compare training/mlm_scratch/model-best] [--corpus corpus/demo/test.spacy] [--notes 24]

1. Speed: synthesized tokens/s of MaskedInfill (mask_rate 0.5, `rounds` parallel passes) against a
   causal LM of the same width, depth and vocabulary (Llama architecture, random weights: speed does not
   depend on them) generating the same number of tokens with its KV cache, and against the MLM's own
   forward-pass rate divided by `rounds` (the ceiling of a `rounds`-pass infiller).
2. Fidelity sweep over mask_rate: ROUGE-1 F of synthetic vs source note (rouge-score), kept entities
   present verbatim at their spans, and the share of non-entity words changed.
3. With --compare: the same sweep point (0.5) for a second model (e.g. from scratch vs MiniLM start),
   with each model's dev perplexity and the share of refilled words found in the training vocabulary.
Prints tables and writes JSON (--output).
"""

import argparse
import json
import re
import time
from pathlib import Path
from typing import Dict, List

import spacy
import srsly
import torch
from spacy.tokens import Doc

from spacy_synthnotes.generators.masked_infill import _WORD, MaskedInfillGenerator
from spacy_synthnotes.readers import DocBinCorpus


def run_pipe(model: str, docs: List[Doc], **settings):
    nlp = spacy.blank("en", vocab=docs[0].vocab)
    generator = {"@misc": "spacy_synthnotes.MaskedInfill.v1", "model": model, **settings}
    nlp.add_pipe("synth_notes", config={"generator": generator, "seed": 0})
    component = nlp.get_pipe("synth_notes")
    component.generator.load(model)
    copies = [Doc(nlp.vocab).from_bytes(d.to_bytes()) for d in docs]
    start = time.perf_counter()
    out = list(nlp.pipe(copies, batch_size=len(copies)))
    return out, time.perf_counter() - start, component.generator


def fidelity(docs: List[Doc], known_words=None) -> Dict[str, float]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=False)
    rouge, kept, kept_ok, changed, words, refills, refills_known = 0.0, 0, 0, 0, 0, 0, 0
    for doc in docs:
        synthetic = doc._.synthetic
        rouge += scorer.score(doc.text, synthetic.text)["rouge1"].fmeasure
        for record in doc._.synthetic_alignment:
            if record["action"] == "keep":
                kept += 1
                (s, e, _), target = record["source"], record["target"]
                kept_ok += target is not None and synthetic.text[target[0] : target[1]] == doc.text[s:e]
        report = doc._.synthetic_report
        changed += report["changed_words"]
        outside = [m.group() for m in _WORD.finditer(_mask_entities(doc))]
        words += len(outside)
        if known_words is not None:
            new = [m.group().lower() for m in _WORD.finditer(_mask_entities(synthetic))]
            old = {w.lower() for w in outside}
            fresh = [w for w in new if w not in old]
            refills += len(fresh)
            refills_known += sum(w in known_words for w in fresh)
    out = {
        "rouge1_f": rouge / len(docs),
        "kept_entities_exact": kept_ok / kept if kept else None,
        "non_entity_words_changed": changed / words if words else None,
    }
    if known_words is not None:
        out["refills_in_training_vocabulary"] = refills_known / refills if refills else None
    return out


def _mask_entities(doc: Doc) -> str:
    chars = list(doc.text)
    for ent in doc.ents:
        chars[ent.start_char : ent.end_char] = " " * (ent.end_char - ent.start_char)
    return "".join(chars)


def causal_rate(generator: MaskedInfillGenerator, lengths: List[int], batch_size: int) -> float:
    """Tokens/s of a same-size Llama causal LM generating `lengths` tokens per note with a KV cache."""
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = generator.model.config
    heads = cfg.num_attention_heads
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=cfg.vocab_size,
            hidden_size=cfg.hidden_size,
            intermediate_size=cfg.intermediate_size,
            num_hidden_layers=cfg.num_hidden_layers,
            num_attention_heads=heads,
            num_key_value_heads=heads,
            max_position_embeddings=4096,
        )
    ).eval()
    torch.manual_seed(0)
    total, start = 0, time.perf_counter()
    for i in range(0, len(lengths), batch_size):
        chunk = lengths[i : i + batch_size]
        new = max(chunk)
        prompt = torch.randint(5, cfg.vocab_size, (len(chunk), 8))
        with torch.inference_mode():
            model.generate(
                prompt, max_new_tokens=new, min_new_tokens=new, do_sample=True, top_k=50, use_cache=True
            )
        total += sum(chunk)
    return total / (time.perf_counter() - start)


def forward_rate(generator: MaskedInfillGenerator, docs: List[Doc], batch_size: int) -> float:
    """Tokens/s of plain forward passes of the MLM over the same notes' windows."""
    windows = []
    for doc in docs:
        ids = generator.tokenizer(doc.text, add_special_tokens=False)["input_ids"]
        windows += [ids[s:e] for s, e, _, _ in generator._windows(len(ids))]
    start = time.perf_counter()
    total = 0
    for i in range(0, len(windows), batch_size):
        chunk = windows[i : i + batch_size]
        positions = [list(range(len(w))) for w in chunk]
        generator._forward(chunk, positions)
        total += sum(len(w) for w in chunk)
    return total / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True)
    parser.add_argument("--compare", default=None)
    parser.add_argument("--corpus", type=Path, default=Path("corpus/demo/test.spacy"))
    parser.add_argument("--train", type=Path, default=Path("corpus/demo/train.spacy"))
    parser.add_argument("--notes", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--output", type=Path, default=Path("metrics/generate.json"))
    args = parser.parse_args()
    torch.manual_seed(0)
    docs = list(DocBinCorpus(args.corpus, limit=args.notes).docs(spacy.blank("en")))
    results: Dict = {"notes": len(docs), "threads": torch.get_num_threads()}

    out, seconds, generator = run_pipe(args.model, docs, mask_rate=0.5, rounds=args.rounds, batch_size=16)
    tokens = [
        len(generator.tokenizer(d._.synthetic.text, add_special_tokens=False)["input_ids"]) for d in out
    ]
    infill = sum(tokens) / seconds
    forward = forward_rate(generator, docs, 16)
    causal = causal_rate(generator, tokens, 8)
    results["speed"] = {
        "masked_infill_tokens_per_s": infill,
        "causal_lm_tokens_per_s": causal,
        "forward_tokens_per_s": forward,
        "speedup_vs_causal": infill / causal,
        "fraction_of_forward_rate_over_rounds": infill / (forward / args.rounds),
        "rounds": args.rounds,
    }
    print(f"notes {len(docs)}, synthesized tokens {sum(tokens)}, torch threads {torch.get_num_threads()}")
    print(
        "speed (tokens/s) | MaskedInfill | causal LM (KV cache) | forward pass | ratio vs causal "
        "| vs forward/rounds"
    )
    print(
        f"| {infill:.0f} | {causal:.0f} | {forward:.0f} | {infill / causal:.1f}x | "
        f"{infill / (forward / args.rounds):.2f} |"
    )

    print("mask_rate | ROUGE-1 F | kept entities exact | non-entity words changed")
    results["sweep"] = {}
    for rate in (0.3, 0.5, 0.7, 1.0):
        swept, _, _ = run_pipe(args.model, docs, mask_rate=rate, rounds=args.rounds)
        scores = fidelity(swept)
        results["sweep"][str(rate)] = scores
        print(
            f"| {rate} | {scores['rouge1_f']:.3f} | {scores['kept_entities_exact']:.4f} | "
            f"{scores['non_entity_words_changed']:.3f} |"
        )

    if args.compare:
        vocabulary = {
            m.group().lower()
            for d in DocBinCorpus(args.train).docs(spacy.blank("en"))
            for m in re.finditer(r"[A-Za-z]+", d.text)
        }
        results["compare"] = {}
        print("model | dev perplexity (own vocabulary) | ROUGE-1 F | refills in training vocabulary | sample")
        for model in (args.model, args.compare):
            compared, _, _ = run_pipe(model, docs, mask_rate=0.5, rounds=args.rounds)
            scores = fidelity(compared, vocabulary)
            meta = srsly.read_json(Path(model) / "synthnotes_mlm.json")
            sample = compared[0]._.synthetic.text
            sample = sample[sample.find("\n\n") + 2 :][:240].replace("\n", " / ")
            results["compare"][model] = {
                **scores,
                "dev_perplexity": meta["dev_perplexity"],
                "step": meta["step"],
                "sample": sample,
            }
            print(
                f"| {model} | {meta['dev_perplexity']:.1f} (step {meta['step']}) | "
                f"{scores['rouge1_f']:.3f} | "
                f"{scores['refills_in_training_vocabulary']:.3f} | {sample[:120]!r} |"
            )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
