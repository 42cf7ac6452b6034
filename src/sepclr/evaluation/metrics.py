"""Contrastive-analysis scores: the ideal value of each probe and their total distance."""

from collections.abc import Mapping


def chance_level(n_classes: int) -> float:
    """Balanced accuracy (percent) of a constant or random classifier over ``n_classes``."""
    return 100.0 / n_classes


def ideal_scores(roles: Mapping[str, str], chance: Mapping[str, float]) -> dict[str, float]:
    """Best expected probe scores: a salient factor at 100 on S and chance on C; a common
    factor at chance on S and 100 on C. Keys are ``S_<factor>`` and ``C_<factor>``.
    """
    ideal: dict[str, float] = {}
    for factor, role in roles.items():
        salient = role == "salient"
        ideal[f"S_{factor}"] = 100.0 if salient else chance[factor]
        ideal[f"C_{factor}"] = chance[factor] if salient else 100.0
    return ideal


def delta_tot(scores: Mapping[str, float], ideal: Mapping[str, float]) -> float:
    """``delta_TOT = sum_k |score_k - ideal_k|``, the L1 distance to the ideal row in percent
    points (SepCLR, Louiset et al., ICLR 2024, Table 1: 96.2, 11.0, 10.4, 73.2 gives 32.0).
    """
    return sum(abs(scores[k] - ideal[k]) for k in ideal)
