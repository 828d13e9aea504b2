"""``torch.nn.Sequential`` models to the IR, exactly.

Supported layers: Linear, ReLU, MaxPool1d/2d, AvgPool1d/2d, Flatten, Conv1d/2d (zero padding), Identity,
Dropout (inference) and nested Sequential. Weights (float32, float64, float16) are converted exactly
(:func:`verify.numbers.from_float`). MaxPool stays an IR ``max`` node (see :mod:`verify.io.onnx_import`).

Files are read with ``torch.load(..., weights_only=True)``: torch's restricted unpickler, which refuses
every class that is not explicitly allowed. Only the classes of the supported layers are allowed
(``torch.serialization.safe_globals``); a file that names any other class is refused before loading,
with the class named. Arbitrary objects are never unpickled.

``torch`` is an optional extra (``pip install 'verify[torch]'``, pinned to the CPU wheel).
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
from typing import Sequence

import numpy as np

from ..errors import MissingExtraError, NetworkFormatError, UnsupportedOpError, VerifyError
from ..ir.builder import Expr, GraphBuilder
from ..ir.graph import Network
from . import _tensors as T

__all__ = ["import_torch", "load_torch_file", "SUPPORTED_TORCH_LAYERS"]

SUPPORTED_TORCH_LAYERS = ("Sequential", "Linear", "ReLU", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
                          "Flatten", "Conv1d", "Conv2d", "Identity", "Dropout")


def _torch():
    try:
        import torch
    except ImportError:
        raise MissingExtraError("torch import needs torch: pip install 'verify[torch]'") from None
    return torch


def _allowed_classes(torch) -> list:
    nn = torch.nn
    return [getattr(nn, n) for n in SUPPORTED_TORCH_LAYERS]


def load_torch_file(path) -> object:
    """Load a ``.pt`` file holding a pickled ``nn.Sequential`` of supported layers, safely.

    Uses ``weights_only=True`` with only the supported layer classes allowed; a file that needs any
    other class raises :class:`UnsupportedOpError` naming it (nothing is unpickled).
    """
    torch = _torch()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise NetworkFormatError("no such file", source=path)
    allowed = {f"{c.__module__}.{c.__qualname__}" for c in _allowed_classes(torch)}
    try:
        needed = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception as exc:
        raise NetworkFormatError(f"not a torch file ({type(exc).__name__})", source=path) from None
    others = [g for g in needed if g not in allowed]
    if others:
        raise UnsupportedOpError(f"{path}: the file needs {', '.join(sorted(others))}, which is not a supported layer "
                                 f"(supported: {', '.join(SUPPORTED_TORCH_LAYERS)})")
    try:
        with torch.serialization.safe_globals(_allowed_classes(torch)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise NetworkFormatError(f"cannot be loaded with weights_only=True ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else ''})", source=path) from None


def import_torch(model, input_shape: Sequence[int] | None = None, *, name: str | None = None) -> Network:
    """Import an ``nn.Sequential`` (or a path to a ``.pt`` file holding one) as an exact IR network.

    Parameters
    ----------
    model : torch.nn.Module or path
    input_shape : sequence of int, optional
        Shape of one input without the batch dimension, e.g. ``(1, 4, 4)`` for a one-channel 4 x 4
        image. Default: ``(in_features,)`` of a leading Linear layer.

    Inputs are the entries of the input tensor in row-major order; outputs those of the output tensor.
    """
    torch = _torch()
    source = None
    if isinstance(model, (str, os.PathLike)):
        source = os.fspath(model)
        model = load_torch_file(source)
    if isinstance(model, dict):
        raise NetworkFormatError("the file holds a state_dict, not a model: build the nn.Sequential, load the "
                                 "state_dict into it and call import_torch(module, input_shape)", source=source)
    if not isinstance(model, torch.nn.Module):
        raise NetworkFormatError(f"expected an nn.Sequential, got {type(model).__name__}", source=source)
    layers = list(_flatten(torch, model, "model"))
    if input_shape is None:
        first = next((m for _, m in layers if not isinstance(m, (torch.nn.Identity, torch.nn.Dropout))), None)
        if isinstance(first, torch.nn.Linear):
            input_shape = (first.in_features,)
        else:
            raise VerifyError("input_shape is needed (the first layer is not Linear), e.g. (1, 4, 4)")
    shape = tuple(int(s) for s in input_shape)
    if not shape or any(s < 1 for s in shape):
        raise VerifyError(f"invalid input shape {input_shape!r}")
    d = math.prod(shape)
    b = GraphBuilder(d)
    xs = np.empty(d, dtype=object)
    xs[:] = b.input_exprs()
    x = xs.reshape((1,) + shape)
    for where, layer in layers:
        x = _apply(torch, b, layer, x, where)
    for v in x.reshape(-1).tolist():
        b.output(v if isinstance(v, Expr) else Expr(const=Fraction(v)))
    label = name or (os.path.basename(source) if source else type(model).__name__)
    net = b.build(name=label)
    windows = T.infer_windows(net)
    if windows is not None and net.n_outputs > 1:
        net = b.build(windows=windows, name=label)
    return net


def _flatten(torch, module, where):
    if isinstance(module, torch.nn.Sequential):
        for k, child in enumerate(module):
            yield from _flatten(torch, child, f"{where}[{k}]")
    else:
        yield f"{where} ({type(module).__name__})", module


def _param(p) -> np.ndarray:
    arr = p.detach().cpu().double().numpy()  # float32 -> float64 is exact
    if not np.all(np.isfinite(arr)):
        raise NetworkFormatError("a weight is NaN or infinite")
    return T.const_array(arr)


def _tuple(v, n):
    return list(v) if isinstance(v, (tuple, list)) else [v] * n


def _apply(torch, b, m, x, where):
    nn = torch.nn
    if isinstance(m, (nn.Identity, nn.Dropout)):
        return x
    if isinstance(m, nn.ReLU):
        return T.relu(b, x)
    if isinstance(m, nn.Linear):
        if x.shape[-1] != m.in_features:
            raise NetworkFormatError(f"{where}: expects {m.in_features} features, gets shape {x.shape[1:]}")
        out = T.matmul(x, _param(m.weight).T)
        return out + _param(m.bias) if m.bias is not None else out
    if isinstance(m, nn.Flatten):
        s, e = m.start_dim % x.ndim, m.end_dim % x.ndim
        return x.reshape(x.shape[:s] + (math.prod(x.shape[s:e + 1]),) + x.shape[e + 1:])
    if isinstance(m, (nn.Conv1d, nn.Conv2d)):
        n = 1 if isinstance(m, nn.Conv1d) else 2
        if x.ndim != n + 2:
            raise NetworkFormatError(f"{where}: expects a [C, {'L' if n == 1 else 'H, W'}] input, gets {x.shape[1:]}")
        if m.padding_mode != "zeros":
            raise UnsupportedOpError(f"{where}: padding_mode={m.padding_mode!r} is not supported")
        kernel, stride, dil = list(m.kernel_size), list(m.stride), list(m.dilation)
        if isinstance(m.padding, str):
            pads = T.spatial_pads(x.shape[2:], kernel, stride, dil, None,
                                  "VALID" if m.padding == "valid" else "SAME_UPPER", where)
        else:
            pads = [(p, p) for p in _tuple(m.padding, n)]
        return T.conv(x, _param(m.weight), _param(m.bias) if m.bias is not None else None, stride, dil, pads,
                      m.groups, where)
    if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)):
        n = 1 if isinstance(m, (nn.MaxPool1d, nn.AvgPool1d)) else 2
        if x.ndim != n + 2:
            raise NetworkFormatError(f"{where}: expects a [C, {'L' if n == 1 else 'H, W'}] input, gets {x.shape[1:]}")
        kernel = _tuple(m.kernel_size, n)
        stride = _tuple(m.stride if m.stride is not None else m.kernel_size, n)
        pads = [(p, p) for p in _tuple(m.padding, n)]
        if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d)):
            if m.return_indices:
                raise UnsupportedOpError(f"{where}: return_indices=True is not supported")
            return T.pool(b, x, "max", kernel, stride, _tuple(m.dilation, n), pads, ceil_mode=m.ceil_mode, where=where)
        divisor = getattr(m, "divisor_override", None)
        return T.pool(b, x, "avg", kernel, stride, [1] * n, pads, ceil_mode=m.ceil_mode,
                      count_include_pad=m.count_include_pad, divisor=divisor, where=where)
    raise UnsupportedOpError(f"unsupported layer {type(m).__name__} at {where}")
