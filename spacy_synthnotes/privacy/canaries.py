"""Canaries: secrets planted in the training corpus, and their exposure (Carlini et al. 2019).

Two kinds, both written by `make_canaries` with a seed:
- "secret" canaries: a sentence in note context with a random identifier, e.g.
  "Patient's daughter can be reached at 617-555-0143." Exposure ranks the
  planted secret's loss among random secrets of the same format.
- "natural" canaries: a natural clinical prefix with a high-perplexity suffix of
  random clinical words, the in-distribution canaries that membership inference
  from synthetic text needs (Meeus et al. 2025).
Canaries with `repeats = 0` are made the same way but not planted: they are the
non-members of the attacks and the exposure baseline.
"""

import math
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import srsly
from scipy.stats import skewnorm

from ..demo import vocabulary
from .scoring import LossScorer
from .stats import mean_ci

CANARY_FILE = "canaries.json"

# (prefix, secret format, suffix); "#" is a random digit.
SECRET_TEMPLATES = [
    ("Patient's daughter can be reached at ", "###-###-####", "."),
    ("Outside records filed under MRN ", "#######", " per HIM."),
    ("Insurance member ID ", "W#########", " verified at registration."),
]
NATURAL_PREFIXES = [
    "Pt seen in clinic today for follow-up of {problem}. Family history notable for",
    "Patient admitted with {problem}. On review of systems the patient also describes",
    "Discharged home in stable condition after treatment of {problem}. Instructions reviewed regarding",
]


@dataclass
class Canary:
    kind: str  # "secret" or "natural"
    prefix: str
    secret: str
    suffix: str
    repeats: int  # times planted in the training corpus (0 = not planted)
    template: str = ""  # the secret's format, for "secret" canaries

    @property
    def text(self) -> str:
        return self.prefix + self.secret + self.suffix


def fill(template: str, rng: random.Random) -> str:
    return "".join(str(rng.randrange(10)) if c == "#" else c for c in template)


def natural_suffix(rng: random.Random, words: int = 8) -> str:
    phrases = [p for p, _ in vocabulary.PROBLEMS] + [d[0] for d in vocabulary.DRUGS] + vocabulary.PROCEDURES
    pool = sorted({w for phrase in phrases for w in phrase.lower().split()})
    return " " + " ".join(rng.choice(pool) for _ in range(words))


def make_canaries(
    repeats: Sequence[int] = (1, 4, 16), per_repeat: int = 5, heldout: int = 20, seed: int = 0
) -> List[Canary]:
    """`per_repeat` canaries of each kind for each insertion count, and `heldout` never planted."""
    if any(r < 1 for r in repeats) or per_repeat < 1 or heldout < 0:
        raise ValueError("canary repeats must be >= 1, per_repeat >= 1 and heldout >= 0")
    rng = random.Random(seed)
    canaries = []
    for count in [*repeats, 0]:
        n = per_repeat if count else heldout
        for i in range(n):
            prefix, template, suffix = SECRET_TEMPLATES[i % len(SECRET_TEMPLATES)]
            canaries.append(Canary("secret", prefix, fill(template, rng), suffix, count, template))
            problem = rng.choice(vocabulary.PROBLEMS)[0]
            natural = NATURAL_PREFIXES[i % len(NATURAL_PREFIXES)].format(problem=problem)
            canaries.append(Canary("natural", natural, natural_suffix(rng), ".", count))
    return canaries


def canaries_from_config(cfg: Optional[Dict]) -> List[Canary]:
    """The canaries a recipe's `[training.canaries]` block asks for (none when absent or `repeats = []`)."""
    if not cfg or not cfg.get("repeats"):
        return []
    return make_canaries(
        repeats=cfg.get("repeats", (1, 4, 16)),
        per_repeat=cfg.get("per_repeat", 5),
        heldout=cfg.get("heldout", 20),
        seed=cfg.get("seed", 0),
    )


def planted_texts(canaries: Sequence[Canary]) -> List[str]:
    """The training notes the canaries add: each planted canary as its own note, `repeats` times."""
    return [c.text for c in canaries for _ in range(c.repeats)]


def save_canaries(canaries: Sequence[Canary], path: Union[str, Path]) -> None:
    srsly.write_json(Path(path), [asdict(c) for c in canaries])


def load_canaries(path: Union[str, Path]) -> List[Canary]:
    path = Path(path)
    if path.is_dir():
        path = path / CANARY_FILE
    if not path.exists():
        raise ValueError(f"No canaries at {path}: train with [training.canaries] to plant them")
    return [Canary(**c) for c in srsly.read_json(path)]


def exposure(scorer: LossScorer, canaries: Sequence[Canary], n_candidates: int = 500, seed: int = 0) -> Dict:
    """Exposure in bits of each secret canary, summarized per insertion count (0 = not planted).

    Rank exposure: log2(R + 1) - log2(rank), with the planted secret ranked by
    loss among R random secrets of the same format (at most log2(R + 1) bits).
    Extrapolated exposure (Carlini et al. 2019, section 4.3): -log2 P(loss <=
    the secret's loss) under a skew-normal fitted to the candidates' losses,
    which estimates exposure over the whole format space.

    RETURNS (Dict): per count, mean exposures with bootstrap intervals, and the
        per-canary values.
    """
    rng = random.Random(seed)
    rows = []
    for canary in (c for c in canaries if c.kind == "secret"):
        candidates = [fill(canary.template, rng) for _ in range(n_candidates)]
        losses = scorer.secret_losses(canary.prefix, [canary.secret, *candidates], canary.suffix)
        own, others = losses[0], losses[1:]
        rank = 1 + int((others < own).sum())
        params = skewnorm.fit(others)
        tail = max(float(skewnorm.cdf(own, *params)), 1e-300)
        rows.append(
            {
                "secret": canary.secret,
                "repeats": canary.repeats,
                "rank": rank,
                "exposure": math.log2(n_candidates + 1) - math.log2(rank),
                "exposure_extrapolated": -math.log2(tail),
            }
        )
    per_count: Dict[str, Dict] = {}
    for count in sorted({r["repeats"] for r in rows}):
        values = [r for r in rows if r["repeats"] == count]
        per_count[str(count)] = {
            "exposure": mean_ci([r["exposure"] for r in values], seed=seed),
            "exposure_extrapolated": mean_ci([r["exposure_extrapolated"] for r in values], seed=seed),
        }
    return {
        "n_candidates": n_candidates,
        "max_rank_exposure": math.log2(n_candidates + 1),
        "per_count": per_count,
        "canaries": rows,
        "exposures": np.round([r["exposure"] for r in rows], 3).tolist(),
    }
