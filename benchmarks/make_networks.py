"""Build the benchmark networks (committed as JSON under benchmarks/networks/).

* random fully connected nets 4-16-16-1, 9-32-32-1, 9-64-64-1 (fixed seeds, dyadic weights);
* an MLP 9-16-16-1 trained with numpy (Adam, squared loss) to approximate 3x3 max pooling on [0,1]^9,
  its weights rounded to multiples of 2^-12 and stored exactly;
* the max-of-5 network is the package's ``verify/data/max5_depth2.json``.

Run: ``python benchmarks/make_networks.py`` (a few seconds; deterministic).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from verify.constructions.random_nets import random_relu_network
from verify.io.json_format import save_network
from verify.ir.layers import Layer, from_layers

HERE = Path(__file__).parent / "networks"
RANDOM = {"random_4-16-16-1.json": ([4, 16, 16, 1], 1), "random_9-32-32-1.json": ([9, 32, 32, 1], 1),
          "random_9-64-64-1.json": ([9, 64, 64, 1], 1)}


def train_maxpool(widths=(9, 16, 16, 1), seed=0, steps=3000, batch=256, lr=3e-3):
    """Numpy Adam on mean squared error against max(x) for x uniform in [0,1]^9."""
    rng = np.random.default_rng(seed)
    Ws, bs = [], []
    for k in range(1, len(widths)):
        Ws.append(rng.standard_normal((widths[k], widths[k - 1])) * np.sqrt(2.0 / widths[k - 1]))
        bs.append(np.zeros(widths[k]))
    params = Ws + bs
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t in range(1, steps + 1):
        X = rng.random((batch, widths[0]))
        y = X.max(axis=1, keepdims=True)
        acts = [X]
        for k in range(len(Ws)):
            z = acts[-1] @ Ws[k].T + bs[k]
            acts.append(np.maximum(z, 0) if k < len(Ws) - 1 else z)
        g = 2 * (acts[-1] - y) / batch
        gW, gb = [None] * len(Ws), [None] * len(Ws)
        for k in reversed(range(len(Ws))):
            gW[k] = g.T @ acts[k]
            gb[k] = g.sum(axis=0)
            if k:
                g = (g @ Ws[k]) * (acts[k] > 0)
        for i, (p, gr) in enumerate(zip(params, gW + gb)):
            m[i] = 0.9 * m[i] + 0.1 * gr
            v[i] = 0.999 * v[i] + 0.001 * gr * gr
            p -= lr * (m[i] / (1 - 0.9 ** t)) / (np.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8)
    q = lambda a: Fraction(int(round(a * 4096)), 4096)  # noqa: E731
    layers = []
    for k in range(len(Ws)):
        act = "relu" if k < len(Ws) - 1 else "linear"
        layers.append(Layer(tuple(tuple(q(a) for a in row) for row in Ws[k]), tuple(q(a) for a in bs[k]), act))
    return from_layers(widths[0], layers, name=f"maxpool3x3 mlp {'-'.join(map(str, widths))}")


def main():
    HERE.mkdir(exist_ok=True)
    for name, (w, seed) in RANDOM.items():
        save_network(random_relu_network(w, seed=seed), HERE / name)
    save_network(train_maxpool(), HERE / "maxpool3x3_9-16-16-1.json")


if __name__ == "__main__":
    main()
