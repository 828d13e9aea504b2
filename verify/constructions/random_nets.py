"""Random fully connected ReLU networks with exact (dyadic) weights, for tests and benchmarks."""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

import numpy as np

from ..errors import VerifyError
from ..ir.graph import Network
from ..ir.layers import Layer, from_layers

__all__ = ["random_relu_network"]


def _q(v: float, bits: int) -> Fraction:
    # Round to a multiple of 2^-bits: exact, short, and reproducible from the seed.
    return Fraction(int(round(v * (1 << bits))), 1 << bits)


def random_relu_network(widths: Sequence[int], seed: int = 0, *, bits: int = 10, name: str = "") -> Network:
    """A network ``widths[0] -> ... -> widths[-1]`` with He-scaled Gaussian weights and biases.

    Weights are Gaussian with variance 2/fan_in, biases Gaussian with standard deviation 0.1, both
    rounded to multiples of 2^-bits (so the network is exactly reproducible from ``seed``).
    """
    widths = [int(w) for w in widths]
    if len(widths) < 2 or min(widths) < 1:
        raise VerifyError(f"widths must have at least two positive entries, got {widths!r}")
    rng = np.random.default_rng(seed)
    layers = []
    for k in range(1, len(widths)):
        fan_in, fan_out = widths[k - 1], widths[k]
        W = rng.standard_normal((fan_out, fan_in)) * np.sqrt(2.0 / fan_in)
        b = rng.standard_normal(fan_out) * 0.1
        act = "relu" if k < len(widths) - 1 else "linear"
        layers.append(Layer(tuple(tuple(_q(v, bits) for v in row) for row in W), tuple(_q(v, bits) for v in b), act))
    label = name or f"random {'-'.join(map(str, widths))} seed={seed}"
    return from_layers(widths[0], layers, name=label)
