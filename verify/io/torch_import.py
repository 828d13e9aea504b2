"""torch models to the IR, exactly: ``nn.Sequential`` layer by layer, anything else through torch's ONNX
exporter.

Three ways in (:func:`import_torch`):

1. an ``nn.Sequential`` (nested Sequentials allowed) of the layers in :data:`SUPPORTED_TORCH_LAYERS`
   is read layer by layer: weights (float32, float64, float16) are converted exactly
   (:func:`verify.numbers.from_float`); MaxPool stays an IR ``max`` node (see
   :mod:`verify.io.onnx_import`); ReLU6, Hardtanh and LeakyReLU become ReLUs through exact identities;
   BatchNorm uses its running statistics (inference);
2. any other ``nn.Module`` (a custom ``forward``: ``nn.Unfold`` windows, slicing, ``torch.clamp``, ...) is
   exported by torch itself to ONNX (its default dynamo exporter, which needs ``onnxscript``, from the
   ``onnx`` extra) in inference mode and read by :func:`verify.io.onnx_import.import_onnx`;
3. files: a ``torch.save``'d ``nn.Sequential`` of supported layers (read with
   ``torch.load(..., weights_only=True)`` and only those classes allowed: a file naming any other class
   is refused before anything is unpickled, with the class named); a TorchScript archive
   (``torch.jit.save`` of a scripted or traced module: loaded with ``torch.jit.load``, which runs
   TorchScript, never pickled Python classes, and exported with torch's TorchScript exporter); a
   ``state_dict`` file together with the architecture given in Python:
   ``import_torch(MyNet(), (1, 6, 6), state_dict="weights.pt")``.

``torch`` is an optional extra (``pip install 'verify[torch]'``, pinned to the CPU wheel).
"""

from __future__ import annotations

import copy
import io
import math
import os
import warnings
import zipfile
from fractions import Fraction
from typing import Sequence

import numpy as np

from ..errors import MissingExtraError, NetworkFormatError, UnsupportedOpError, VerifyError
from ..ir.builder import Expr, GraphBuilder
from ..ir.graph import Network
from . import _tensors as T

__all__ = ["import_torch", "load_torch_file", "is_torchscript_file", "SUPPORTED_TORCH_LAYERS"]

SUPPORTED_TORCH_LAYERS = ("Sequential", "Linear", "ReLU", "ReLU6", "Hardtanh", "LeakyReLU", "MaxPool1d", "MaxPool2d",
                          "AvgPool1d", "AvgPool2d", "Flatten", "Conv1d", "Conv2d", "BatchNorm1d", "BatchNorm2d",
                          "Identity", "Dropout")


def _torch():
    try:
        import torch
    except ImportError:
        raise MissingExtraError("torch import needs torch: pip install 'verify[torch]'") from None
    return torch


def _allowed_classes(torch) -> list:
    nn = torch.nn
    return [getattr(nn, n) for n in SUPPORTED_TORCH_LAYERS]


def is_torchscript_file(path) -> bool:
    """Is ``path`` a TorchScript archive (``torch.jit.save``)? Those hold a ``code/`` folder of TorchScript."""
    try:
        with zipfile.ZipFile(os.fspath(path)) as z:
            return any("/code/" in n for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def load_torch_file(path) -> object:
    """Load a ``.pt`` file holding a pickled ``nn.Sequential`` of supported layers (or a state_dict), safely.

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
                                 f"(supported: {', '.join(SUPPORTED_TORCH_LAYERS)}); save the module's state_dict and "
                                 f"call import_torch(module, input_shape, state_dict=FILE), or save it with torch.jit")
    try:
        with torch.serialization.safe_globals(_allowed_classes(torch)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise NetworkFormatError(f"cannot be loaded with weights_only=True ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else ''})", source=path) from None


def _load_state_dict(torch, state_dict):
    if isinstance(state_dict, (str, os.PathLike)):
        path = os.fspath(state_dict)
        loaded = load_torch_file(path)
        if not isinstance(loaded, dict):
            raise NetworkFormatError(f"expected a state_dict, the file holds a {type(loaded).__name__}", source=path)
        return loaded, path
    if not hasattr(state_dict, "keys"):
        raise VerifyError(f"state_dict: expected a mapping or a path, got {type(state_dict).__name__}")
    return state_dict, None


def _with_state(torch, module, state_dict):
    """A copy of ``module`` with ``state_dict`` loaded strictly (the caller's module is left alone)."""
    sd, path = _load_state_dict(torch, state_dict)
    module = copy.deepcopy(module)
    try:
        result = module.load_state_dict(sd, strict=False)
    except RuntimeError as exc:  # shape mismatches
        first = next((ln.strip() for ln in str(exc).splitlines() if "size mismatch" in ln), str(exc).splitlines()[0])
        raise NetworkFormatError(f"the state_dict does not fit the module: {first}", source=path) from None
    problems = []
    if result.missing_keys:
        problems.append(f"missing {', '.join(result.missing_keys)}")
    if result.unexpected_keys:
        problems.append(f"unexpected {', '.join(result.unexpected_keys)}")
    if problems:
        raise NetworkFormatError(f"the state_dict does not fit the module: {'; '.join(problems)}", source=path)
    return module


def _shape_of(torch, input_shape, layers):
    if input_shape is None:
        first = next((m for _, m in layers if not isinstance(m, (torch.nn.Identity, torch.nn.Dropout))), None)
        if isinstance(first, torch.nn.Linear):
            return (first.in_features,)
        raise VerifyError("input_shape is needed (the first layer is not Linear), e.g. (1, 4, 4)")
    if isinstance(input_shape, torch.Tensor):  # an example input, with its batch dimension
        if input_shape.ndim < 2 or input_shape.shape[0] != 1:
            raise VerifyError(f"an example input needs a batch dimension of 1, got shape {tuple(input_shape.shape)}")
        return tuple(int(s) for s in input_shape.shape[1:])
    try:
        shape = tuple(int(s) for s in input_shape)
    except (TypeError, ValueError):
        raise VerifyError(f"invalid input shape {input_shape!r}") from None
    if not shape or any(s < 1 for s in shape):
        raise VerifyError(f"invalid input shape {input_shape!r}")
    return shape


def import_torch(model, input_shape: Sequence[int] | None = None, *, state_dict=None, name: str | None = None,
                 via: str = "auto", keep_layers: bool = False) -> Network:
    """Import a torch model as an exact IR network.

    Parameters
    ----------
    model : torch.nn.Module or path
        A module (``nn.Sequential`` or any ``nn.Module``), or a file: a ``torch.save``'d ``nn.Sequential``
        of supported layers, or a TorchScript archive (``torch.jit.save``).
    input_shape : sequence of int or torch.Tensor, optional
        Shape of one input without the batch dimension, e.g. ``(1, 4, 4)`` for a one-channel 4 x 4
        image, or an example input with a batch dimension of 1. Default: ``(in_features,)`` of a leading
        Linear layer of a Sequential (other models need it).
    state_dict : mapping or path, optional
        Weights to load (strictly: every key must match) into a copy of ``model``, which then only gives
        the architecture: ``import_torch(MyNet(), (1, 6, 6), state_dict="weights.pt")``. A path is read
        with ``weights_only=True``.
    name : str, optional
        The network's label.
    via : {"auto", "layers", "onnx"}
        "layers": walk an ``nn.Sequential`` layer by layer; "onnx": export with torch's ONNX exporter and
        import that; "auto": "layers" for an ``nn.Sequential``, "onnx" for anything else.
    keep_layers : bool
        Passed to :func:`verify.io.onnx_import.import_onnx` on the ONNX route (each linear operator's result
        is its own node).

    Inputs are the entries of the input tensor in row-major order; outputs those of the output tensor.
    The model is evaluated in inference mode (BatchNorm running statistics, no dropout).

    Examples
    --------
    >>> import torch                                                      # doctest: +SKIP
    >>> net = import_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU()))  # doctest: +SKIP
    """
    torch = _torch()
    if via not in ("auto", "layers", "onnx"):
        raise VerifyError(f"via must be auto, layers or onnx, got {via!r}")
    source = None
    if isinstance(model, (str, os.PathLike)):
        source = os.fspath(model)
        if not os.path.exists(source):
            raise NetworkFormatError("no such file", source=source)
        if is_torchscript_file(source):
            return _import_torchscript(torch, source, input_shape, name)
        model = load_torch_file(source)
    if isinstance(model, dict):
        raise NetworkFormatError("the file holds a state_dict, not a model: pass the architecture and the weights, "
                                 "import_torch(module, input_shape, state_dict=FILE)", source=source)
    if isinstance(model, torch.jit.ScriptModule):
        return _export_and_import(torch, model, input_shape, name or type(model).__name__, scripted=True)
    if not isinstance(model, torch.nn.Module):
        raise NetworkFormatError(f"expected an nn.Module, got {type(model).__name__}", source=source)
    if state_dict is not None:
        model = _with_state(torch, model, state_dict)
    label = name or (os.path.basename(source) if source else type(model).__name__)
    if via == "onnx" or (via == "auto" and not isinstance(model, torch.nn.Sequential)):
        return _export_and_import(torch, model, input_shape, label, keep_layers=keep_layers)
    layers = list(_flatten(torch, model, "model"))
    shape = _shape_of(torch, input_shape, layers)
    d = math.prod(shape)
    b = GraphBuilder(d)
    xs = np.empty(d, dtype=object)
    xs[:] = b.input_exprs()
    x = xs.reshape((1,) + shape)
    for where, layer in layers:
        x = _apply(torch, b, layer, x, where)
    for v in x.reshape(-1).tolist():
        b.output(v if isinstance(v, Expr) else Expr(const=Fraction(v)))
    net = b.build(name=label)
    windows = T.infer_windows(net)
    if windows is not None and net.n_outputs > 1:
        net = b.build(windows=windows, name=label)
    return net


def _import_torchscript(torch, path, input_shape, name):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 deprecates TorchScript; files remain
            module = torch.jit.load(path, map_location="cpu")
    except Exception as exc:
        raise NetworkFormatError(f"not a loadable TorchScript archive ({type(exc).__name__})", source=path) from None
    if input_shape is None:
        raise VerifyError(f"{path}: a TorchScript model needs input_shape (--input-shape), e.g. 1,6,6")
    return _export_and_import(torch, module, input_shape, name or os.path.basename(path), scripted=True, source=path)


def _export_and_import(torch, module, input_shape, label, *, scripted=False, keep_layers=False, source=None):
    """torch's own ONNX export of ``module`` (inference mode), read by the exact ONNX importer."""
    from .onnx_import import import_onnx

    if input_shape is None:
        raise VerifyError(f"{source or label}: input_shape is needed to export the model, e.g. (1, 6, 6)")
    shape = _shape_of(torch, input_shape, [])
    example = torch.zeros((1,) + shape)
    if scripted:
        module.eval()  # a loaded archive keeps the training flag it was saved with
    else:
        module = copy.deepcopy(module).eval()
        for p in module.parameters():
            if p.dtype != torch.float32:
                module = module.float()  # the ONNX graph carries float32 weights
                break
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if scripted:
                torch.onnx.export(module, (example,), buf, dynamo=False)
                data = buf.getvalue()
            else:
                try:
                    import onnxscript  # noqa: F401  (the dynamo exporter's dependency)
                except ImportError:
                    raise MissingExtraError("exporting a custom nn.Module needs onnxscript: pip install "
                                            "'verify[onnx]'") from None
                program = _quiet_dynamo_export(torch, module, example)
                data = program.model_proto.SerializeToString()
    except VerifyError:
        raise
    except Exception as exc:
        lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
        # torch puts the cause last (after a TorchScript traceback) or first: keep the line that says it.
        msg = lines[-1] if lines and "Error" in lines[-1] else (lines[0] if lines else "")
        raise UnsupportedOpError(f"{source or label}: torch could not export the model to ONNX "
                                 f"({type(exc).__name__}: {msg[:200]})") from None
    try:
        return import_onnx(data, name=label, keep_layers=keep_layers)
    except (NetworkFormatError, UnsupportedOpError) as exc:
        # Name the torch file or module, not the temporary ONNX bytes.
        text = str(exc)
        for prefix in ("ONNX model: ", "ONNX graph "):
            if text.startswith(prefix):
                text = text.split(": ", 1)[1] if prefix == "ONNX model: " else text.split("': ", 1)[-1]
        raise type(exc)(f"{source or label} (exported to ONNX): {text}") from None


def _quiet_dynamo_export(torch, module, example):
    import contextlib
    import logging

    # The exporter reports its progress on stdout and through logging: keep a library call silent.
    old = logging.getLogger("torch").level
    logging.getLogger("torch").setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return torch.onnx.export(module, (example,), dynamo=True, verbose=False)
    finally:
        logging.getLogger("torch").setLevel(old)


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


def from_float_checked(v) -> Fraction:
    """A layer's float hyperparameter as the exact value of its float32 (what the layer computes with)."""
    return Fraction(float(np.float32(v)))


def _batchnorm(m, x, where):
    from .onnx_import import _bn_factor

    if m.running_mean is None or m.running_var is None:
        raise UnsupportedOpError(f"{where}: track_running_stats=False (batch statistics) is not supported")
    if x.ndim < 2 or x.shape[1] != m.num_features:
        raise NetworkFormatError(f"{where}: expects {m.num_features} channels, gets shape {x.shape[1:]}")
    mean, var = _param(m.running_mean), _param(m.running_var)
    scale = _param(m.weight) if m.weight is not None else [Fraction(1)] * m.num_features
    shift = _param(m.bias) if m.bias is not None else [Fraction(0)] * m.num_features
    eps = from_float_checked(m.eps)
    factors = [_bn_factor(s, v + eps) for s, v in zip(scale, var)]
    return T.scale_channels(T.symbolic(x), factors, [c - mu * f for c, mu, f in zip(shift, mean, factors)], axis=1)


def _tuple(v, n):
    return list(v) if isinstance(v, (tuple, list)) else [v] * n


def _apply(torch, b, m, x, where):
    nn = torch.nn
    if isinstance(m, (nn.Identity, nn.Dropout)):
        return x
    if isinstance(m, nn.ReLU):
        return T.relu(b, x)
    if isinstance(m, nn.Hardtanh):  # also ReLU6 (a Hardtanh on [0, 6])
        return T.clip(b, x, from_float_checked(m.min_val), from_float_checked(m.max_val))
    if isinstance(m, nn.LeakyReLU):
        slope = from_float_checked(m.negative_slope)
        neg = T.relu(b, T.binary("mul", x, T.as_array(Fraction(-1))))
        return T.binary("sub", T.relu(b, x), T.binary("mul", neg, T.as_array(slope)))
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return _batchnorm(m, x, where)
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
    raise UnsupportedOpError(f"unsupported layer {type(m).__name__} at {where} (import_torch(..., via='onnx') "
                             f"exports the model through ONNX, which covers more operators)")
