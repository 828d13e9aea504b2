"""``--windows`` / ``--windows-from FILE``: which inputs each output is compared with the max of.

Three spellings, the same in the option and in the file:

* ``0,1,3,4;1,2,4,5``: one window per output, separated by ``;``, input indices separated by ``,``;
* a JSON list of lists, ``[[0,1,3,4],[1,2,4,5]]``;
* ``pool:KxK/S@HxW`` (or ``pool:K/S@CxHxW``): the windows of a K x K max pooling with stride S (default
  K) on an H x W image stored row by row (channel by channel for C channels), in the order torch
  flattens the pooled output (channel, row, column).

Indices are 0-based positions of the flattened input (for an ONNX image input ``(1, C, H, W)``:
``c*H*W + i*W + j``). A network with several outputs and no windows, or an image-shaped model whose
one output would be compared with the max of all its pixels, is refused by :func:`require_windows`
with a line saying how to attach them.
"""

from __future__ import annotations

import json
import re

from ..errors import VerifyError
from ..ir.graph import Network

__all__ = ["add_windows_args", "parse_windows", "PoolWindows", "pool_windows", "windows_of", "attach_windows", "require_windows",
           "HOW"]

HOW = "attach windows with --windows 0,1,3,4;1,2,4,5, --windows pool:2x2/2@6x6 or --windows-from FILE"

_POOL = re.compile(r"^pool:(\d+)(?:x(\d+))?(?:/(\d+)(?:x(\d+))?)?@(?:(\d+)x)?(\d+)x(\d+)$")


def add_windows_args(p) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--windows", metavar="SPEC", default=None,
                   help="the input indices of each output's window: '0,1,3,4;1,2,4,5', a JSON list of lists, "
                        "or 'pool:KxK/S@HxW' (K x K pooling, stride S, on an H x W image; '@CxHxW' for C channels)")
    g.add_argument("--windows-from", metavar="FILE", default=None, help="read --windows' SPEC from a file")


def pool_windows(kh: int, kw: int, sh: int, sw: int, channels: int, height: int, width: int) -> list[tuple[int, ...]]:
    """The windows of a ``kh x kw`` max pooling with strides ``(sh, sw)`` on ``channels`` images of
    ``height x width`` pixels, row-major per channel, in torch's order of the pooled output."""
    if min(kh, kw, sh, sw, channels, height, width) <= 0:
        raise VerifyError("--windows pool: sizes and strides must be positive")
    if kh > height or kw > width:
        raise VerifyError(f"--windows pool: a {kh}x{kw} kernel does not fit in a {height}x{width} image")
    out = []
    for c in range(channels):
        base = c * height * width
        for r in range(0, height - kh + 1, sh):
            for q in range(0, width - kw + 1, sw):
                out.append(tuple(base + (r + i) * width + q + j for i in range(kh) for j in range(kw)))
    return out


class PoolWindows(list):
    """The windows of a ``pool:`` spec, with the number of inputs its image has (``C * H * W``), which the
    network must have too."""

    def __init__(self, windows, inputs: int, spec: str):
        super().__init__(windows)
        self.inputs = inputs
        self.spec = spec


def parse_windows(text: str, where: str = "--windows") -> list[tuple[int, ...]]:
    """The windows written in ``text`` (any of the three spellings of this module); one line on error."""
    text = text.strip()
    if not text:
        raise VerifyError(f"{where}: no windows given")
    m = _POOL.match(text.replace(" ", ""))
    if m:
        kh, kw, sh, sw, c, h, w = m.groups()
        kh = int(kh)
        kw = int(kw) if kw else kh
        sh = int(sh) if sh else kh
        sw = int(sw) if sw else (sh if m.group(3) else kw)
        channels = int(c) if c else 1
        return PoolWindows(pool_windows(kh, kw, sh, sw, channels, int(h), int(w)), channels * int(h) * int(w), text)
    if text.startswith("pool:"):
        raise VerifyError(f"{where}: cannot read {text!r}: expected pool:KxK/S@HxW, e.g. pool:2x2/2@6x6")
    if text.startswith("["):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise VerifyError(f"{where}: not valid JSON ({exc.msg} at character {exc.pos})") from None
        if not isinstance(data, list) or not all(isinstance(w, list) for w in data):
            raise VerifyError(f"{where}: expected a JSON list of lists of input indices")
        rows = data
    else:
        rows = [part.split(",") for part in text.split(";")]
    out = []
    for k, row in enumerate(rows):
        window = []
        for item in row:
            if isinstance(item, bool) or not isinstance(item, (int, str)):
                raise VerifyError(f"{where}: window {k}: {item!r} is not an input index")
            try:
                i = int(item.strip()) if isinstance(item, str) else item
            except ValueError:
                raise VerifyError(f"{where}: window {k}: {item.strip()!r} is not an input index") from None
            window.append(i)
        if not window:
            raise VerifyError(f"{where}: window {k} is empty")
        out.append(tuple(window))
    return out


def windows_of(args) -> list[tuple[int, ...]] | None:
    """The windows the command line gives (``--windows`` or ``--windows-from``), or None."""
    if getattr(args, "windows", None) is not None:
        return parse_windows(args.windows)
    path = getattr(args, "windows_from", None)
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(1 << 24)
    except (OSError, UnicodeDecodeError) as exc:
        raise VerifyError(f"--windows-from {path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    return parse_windows(text, where=f"--windows-from {path}")


def attach_windows(net: Network, windows, what: str = "the network") -> Network:
    """``net`` with ``windows`` (checked: one per output, indices in range, no repeats, and a ``pool:``
    image with as many values as the network has inputs)."""
    if windows is None:
        return net
    if isinstance(windows, PoolWindows) and windows.inputs != net.n_inputs:
        raise VerifyError(f"--windows {windows.spec}: the image has {windows.inputs} values, {what} has "
                          f"{net.n_inputs} inputs")
    if len(windows) != net.n_outputs:
        raise VerifyError(f"--windows: {len(windows)} windows given for the {net.n_outputs} outputs of {what}")
    for k, w in enumerate(windows):
        bad = [i for i in w if not 0 <= i < net.n_inputs]
        if bad:
            raise VerifyError(f"--windows: window {k} has input index {bad[0]}, {what} has inputs 0..{net.n_inputs - 1}")
        if len(set(w)) != len(w):
            raise VerifyError(f"--windows: window {k} repeats an input index")
    return Network(net.graph, net.inputs, net.outputs, windows=windows, name=net.name)


def require_windows(net: Network, label: str, image_shape=None) -> None:
    """Refuse a comparison with max that would be meaningless: several outputs and no windows, or one
    output of an image-shaped model compared with the max of all its pixels (``image_shape`` given)."""
    if net.has_explicit_windows:
        return
    if net.n_outputs > 1:
        raise VerifyError(f"{label} has {net.n_outputs} outputs and no windows, so no max to compare each with: {HOW}")
    if image_shape is not None:
        shape = "x".join(str(s) for s in image_shape)
        raise VerifyError(f"{label} is an image model (input {shape}) with one output, which would be compared with "
                          f"the max of all {net.n_inputs} inputs: {HOW} (or compare two models with `verify diff`)")
