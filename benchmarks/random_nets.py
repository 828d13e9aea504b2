"""Seeded random fully connected ReLU networks with exact (float64-converted) weights, for benchmarks."""

from __future__ import annotations

import numpy as np

from verify.ir import Layer, from_layers
from verify.numbers import from_float


def random_mlp(sizes, seed: int = 0, scale: str = "he"):
    """A random network with layer sizes ``sizes`` (inputs first, one linear output last).

    Weights are normal with He scaling and small normal biases, rounded to float32 and converted
    exactly, as a trained float32 model's weights would be.
    """
    rng = np.random.default_rng(seed)
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = rng.normal(0, np.sqrt(2 / n_in), size=(n_out, n_in)).astype(np.float32)
        b = rng.normal(0, 0.1, size=n_out).astype(np.float32)
        act = "linear" if k == len(sizes) - 2 else "relu"
        layers.append(Layer(tuple(tuple(from_float(w) for w in row) for row in W), tuple(from_float(v) for v in b), act))
    return from_layers(sizes[0], layers, name=f"random {'-'.join(map(str, sizes))} seed={seed}")
