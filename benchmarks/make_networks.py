"""Build the benchmark networks (committed as JSON under benchmarks/networks/).

* random fully connected nets 4-16-16-1, 9-32-32-1, 9-64-64-1 (fixed seeds, dyadic weights);
* an MLP 9-16-16-1 trained with numpy (Adam, squared loss) to approximate 3x3 max pooling on [0,1]^9,
  its weights rounded to multiples of 2^-12 and stored exactly;
* the max-of-5 network is the package's ``verify/data/max5_depth2.json``;
* for the exact engine (docs/engine.md): the random 4-16-16-1 with the same Gaussian draws kept as
  float32 (every weight an exact float32 value, denominators up to 2^30 and beyond) and as 17-digit
  decimal text (``"%.17g"`` of the float64 draw, read exactly: denominators 10^17 and more), and a
  9-32-32-1 MLP trained with numpy to replace 3x3 max pooling on [0,1]^9, stored as exact float32.

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


def _adam_maxpool(widths, seed, steps, batch, lr, drop_at=None):
    """Numpy Adam on mean squared error against max(x) for x uniform in [0,1]^d: the float64 ``(Ws, bs)``.
    ``drop_at``: after this fraction of the steps the step size is a tenth of ``lr``."""
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
        step = lr * (0.1 if drop_at is not None and t > drop_at * steps else 1.0)
        for i, (p, gr) in enumerate(zip(params, gW + gb)):
            m[i] = 0.9 * m[i] + 0.1 * gr
            v[i] = 0.999 * v[i] + 0.001 * gr * gr
            p -= step * (m[i] / (1 - 0.9 ** t)) / (np.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8)
    return Ws, bs


def train_maxpool(widths=(9, 16, 16, 1), seed=0, steps=3000, batch=256, lr=3e-3):
    """An MLP trained by :func:`_adam_maxpool`, its weights rounded to multiples of 2^-12."""
    Ws, bs = _adam_maxpool(widths, seed, steps, batch, lr)
    q = lambda a: Fraction(int(round(a * 4096)), 4096)  # noqa: E731
    layers = []
    for k in range(len(Ws)):
        act = "relu" if k < len(Ws) - 1 else "linear"
        layers.append(Layer(tuple(tuple(q(a) for a in row) for row in Ws[k]), tuple(q(a) for a in bs[k]), act))
    return from_layers(widths[0], layers, name=f"maxpool3x3 mlp {'-'.join(map(str, widths))}")


def gaussian_draws(widths, seed):
    """The float64 draws of :func:`random_relu_network` (same generator, same order), unrounded."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(1, len(widths)):
        W = rng.standard_normal((widths[k], widths[k - 1])) * np.sqrt(2.0 / widths[k - 1])
        b = rng.standard_normal(widths[k]) * 0.1
        out.append((W, b))
    return out


def _layered_json(n_inputs, mats, fmt, name):
    """A relu-net/1 document with every number written by ``fmt`` (a float -> JSON value function)."""
    layers = []
    for k, (W, b) in enumerate(mats):
        layers.append({"weights": [[fmt(v) for v in row] for row in W], "bias": [fmt(v) for v in b],
                       "activation": "relu" if k < len(mats) - 1 else "linear"})
    return {"format": "relu-net/1", "inputs": n_inputs, "layers": layers, "name": name}


def float32_exact(v) -> str:
    """The exact value of a float32 as a fraction string (every float is a dyadic rational)."""
    q = Fraction(float(np.float32(v)))
    return f"{q.numerator}/{q.denominator}" if q.denominator != 1 else str(q.numerator)


def decimal17(v) -> str:
    """The float64 written with 17 significant digits, as users paste numpy output."""
    return "%.17g" % float(v)


def train_maxpool_f32(widths=(9, 32, 32, 1), seed=3, steps=6000, batch=512, lr=2e-3):
    """A 9-32-32-1 MLP trained by :func:`_adam_maxpool` (step size a tenth for the last 20% of the steps)
    to replace 3x3 max pooling on [0,1]^9, its weights finally cast to float32 (stored exactly)."""
    Ws, bs = _adam_maxpool(widths, seed, steps, batch, lr, drop_at=0.8)
    return [(W.astype(np.float32), b.astype(np.float32)) for W, b in zip(Ws, bs)]


ENGINE_NETS = ("random_4-16-16-1_float32.json", "random_4-16-16-1_decimal17.json", "maxpool3x3_9-32-32-1_float32.json")


def main():
    import json

    HERE.mkdir(exist_ok=True)
    for name, (w, seed) in RANDOM.items():
        save_network(random_relu_network(w, seed=seed), HERE / name)
    save_network(train_maxpool(), HERE / "maxpool3x3_9-16-16-1.json")
    draws = gaussian_draws([4, 16, 16, 1], 1)
    docs = {
        ENGINE_NETS[0]: _layered_json(4, draws, float32_exact, "random 4-16-16-1 seed=1, float32 weights"),
        ENGINE_NETS[1]: _layered_json(4, draws, decimal17, "random 4-16-16-1 seed=1, 17-digit decimals"),
        ENGINE_NETS[2]: _layered_json(9, train_maxpool_f32(), float32_exact, "maxpool3x3 mlp 9-32-32-1 float32"),
    }
    for name, doc in docs.items():
        (HERE / name).write_text(json.dumps(doc, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
