"""Make the practitioner's pair of models (issue 14, "Benchmarks"), deterministically, in a few seconds.

MODEL (``benchmarks/networks/cnn6_maxpool.onnx``): a 1-channel 6x6 image -> Conv2d(1, 2, 3) -> ReLU ->
MaxPool2d(2) -> Flatten -> Linear(8, 3), trained here on a synthetic task (which of three shapes, a
horizontal bar, a vertical bar or a diagonal, is drawn on a noisy 6x6 image).

REPLACEMENT (``benchmarks/networks/cnn6_mlppool.onnx``): the same convolution and head, with each 2x2
pooling window replaced by one shared ReLU MLP 4-16-1 written with ``nn.Unfold``, trained to imitate max
on ``[0, B]^4``, where ``B`` is the largest value the ReLU layer can take on ``[0, 1]^36`` (its exact
interval bound). The head is the MODEL's, unchanged: only the pooling is replaced.

Both are exported with torch's default (dynamo) ONNX exporter. Run: ``python benchmarks/make_cnn.py``
(writes the two files and prints the training figures).
"""

from __future__ import annotations

import io
import os
import sys
import time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "networks")
SEED = 0


def shapes(n: int, rng: np.random.Generator):
    """Noisy 6x6 images of one of three shapes at a random place; labels 0, 1, 2."""
    x = rng.uniform(0, 0.3, (n, 1, 6, 6))
    y = rng.integers(0, 3, n)
    for k in range(n):
        i, j = rng.integers(0, 4, 2)
        if y[k] == 0:
            x[k, 0, i + 1, j:j + 3] = rng.uniform(0.7, 1.0)
        elif y[k] == 1:
            x[k, 0, i:i + 3, j + 1] = rng.uniform(0.7, 1.0)
        else:
            for t in range(3):
                x[k, 0, i + t, j + t] = rng.uniform(0.7, 1.0)
    return torch.tensor(np.clip(x, 0, 1), dtype=torch.float32), torch.tensor(y)


class MaxPoolCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


class MLPPoolCNN(nn.Module):
    """The same convolution and head; each 2x2 window (per channel) goes through one shared ReLU MLP."""

    def __init__(self, cnn: MaxPoolCNN, window_mlp: nn.Module):
        super().__init__()
        self.conv = cnn.conv
        self.head = cnn.head
        self.unfold = nn.Unfold(2, stride=2)
        self.window = window_mlp

    def forward(self, x):
        r = torch.relu(self.conv(x))                           # [N, 2, 4, 4]
        n, c = r.shape[0], r.shape[1]
        patches = self.unfold(r.reshape(n * c, 1, 4, 4))        # [N*2, 4 (cells of a window), 4 (windows)]
        pooled = self.window(patches.transpose(1, 2))           # [N*2, 4, 1]: (channel, window) as MaxPool2d
        return self.head(pooled.reshape(n, c * 4))


def relu_bound(conv: nn.Conv2d) -> float:
    """The largest value relu(conv(x)) takes for x in [0, 1]^36 (exact interval bound, per channel)."""
    w = conv.weight.detach().double()
    b = conv.bias.detach().double()
    return float(max(b[c] + w[c].clamp(min=0).sum() for c in range(w.shape[0])))


def train_cnn(rng):
    x, y = shapes(3000, rng)
    xt, yt = shapes(1000, rng)
    model = MaxPoolCNN()
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    for step in range(1500):
        idx = torch.randint(0, len(x), (128,))
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = (model(xt).argmax(1) == yt).float().mean().item()
    return model, acc, x


def real_windows(cnn: MaxPoolCNN, x: torch.Tensor) -> torch.Tensor:
    """The 2x2 windows the pooling sees on the training images, one row each."""
    with torch.no_grad():
        r = torch.relu(cnn.conv(x))
        n, c = r.shape[:2]
        return nn.functional.unfold(r.reshape(n * c, 1, 4, 4), 2, stride=2).transpose(1, 2).reshape(-1, 4)


def train_window_mlp(bound: float, real: torch.Tensor):
    """Half of each batch uniform on [0, B]^4 (the worst case is over the whole box), half real windows."""
    mlp = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = torch.optim.Adam(mlp.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1500, 0.3)
    for step in range(4500):
        z = torch.cat([torch.rand(128, 4) * bound, real[torch.randint(0, len(real), (128,))]])
        loss = ((mlp(z).squeeze(1) - z.max(1).values) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        z = torch.rand(20000, 4) * bound
        err = (mlp(z).squeeze(1) - z.max(1).values).abs()
    return mlp, float(err.mean()), float(err.max())


def export(model: nn.Module, path: str) -> None:
    import contextlib
    import warnings

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(model.eval(), (torch.zeros(1, 1, 6, 6),), dynamo=True, verbose=False)
    with open(path, "wb") as fh:
        fh.write(program.model_proto.SerializeToString())


def main() -> int:
    t0 = time.time()
    torch.set_num_threads(1)  # deterministic and quick on a small shared machine
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    cnn, acc, xtrain = train_cnn(rng)
    print(f"CNN trained in {time.time() - t0:.1f} s", flush=True)
    bound = relu_bound(cnn.conv)
    mlp, mean_err, max_err = train_window_mlp(bound, real_windows(cnn, xtrain))
    print(f"window MLP trained at {time.time() - t0:.1f} s", flush=True)
    rep = MLPPoolCNN(cnn, mlp).eval()
    with torch.no_grad():
        xt, yt = shapes(1000, rng)
        acc_rep = (rep(xt).argmax(1) == yt).float().mean().item()
        gap = (rep(xt) - cnn(xt)).abs().max().item()
    os.makedirs(OUT, exist_ok=True)
    export(cnn, os.path.join(OUT, "cnn6_maxpool.onnx"))
    export(rep, os.path.join(OUT, "cnn6_mlppool.onnx"))
    print(f"CNN test accuracy {acc:.3f}; with the MLP pooling {acc_rep:.3f}; largest logit gap on the test set {gap:.4f}")
    print(f"ReLU outputs lie in [0, {bound:.4f}]; window MLP 4-16-1 on [0, B]^4: mean |err| {mean_err:.4f}, "
          f"largest sampled {max_err:.4f}")
    print(f"wrote {OUT}/cnn6_maxpool.onnx and cnn6_mlppool.onnx in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
