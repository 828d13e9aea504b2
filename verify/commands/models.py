"""Loading a network for a query from any file the toolkit reads: JSON, ONNX or torch, by extension.

``verify diff``, ``verify exact``, ``verify error`` and ``verify pool-replacement`` take models as users
have them; the ONNX and torch importers (:mod:`verify.io.onnx_import`, :mod:`verify.io.torch_import`) are
imported lazily (their extras are heavy), exactly as ``verify import`` does. The shape of an ONNX
model's input is kept beside the network (:class:`Model`), so a query can tell an image-shaped
model (whose single output is not "the max of all pixels") from a plain vector function.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from ..errors import VerifyError
from ..io.json_format import load_network
from ..ir.graph import Network

__all__ = ["MODEL_EXTENSIONS", "Model", "load_model", "parse_input_shape"]

MODEL_EXTENSIONS = (".json", ".onnx", ".pt", ".pth")


class Model(NamedTuple):
    """A loaded network and the shape of its input without the batch dimension (None for JSON files)."""

    net: Network
    shape: tuple[int, ...] | None = None

    @property
    def image_shaped(self) -> bool:
        """At least two input dimensions above 1 (e.g. ``(1, 6, 6)``): an image, not a vector."""
        return self.shape is not None and sum(1 for s in self.shape if s > 1) >= 2


def parse_input_shape(text: str | None) -> tuple[int, ...] | None:
    """``"1,6,6"`` -> ``(1, 6, 6)`` (``--input-shape`` of torch models); one line on bad text."""
    if not text:
        return None
    try:
        shape = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise VerifyError(f"--input-shape: expected integers like 1,4,4, got {text!r}") from None
    if not shape or any(s <= 0 for s in shape):
        raise VerifyError(f"--input-shape: expected positive integers like 1,4,4, got {text!r}")
    return shape


def load_model(path: str, *, keep_layers: bool = False, input_shape: tuple[int, ...] | None = None) -> Model:
    """The network in ``path``: ``.json`` (relu-net/1, relu-graph/1), ``.onnx``, ``.pt`` / ``.pth`` (torch).

    ``keep_layers`` keeps each imported linear layer's result as a node (the pool-replacement matching
    needs it); ``input_shape`` is the torch input shape without the batch dimension.
    """
    ext = os.path.splitext(path)[1].lower()
    if ext == ".onnx":
        from ..io.onnx_import import import_onnx

        net = import_onnx(path, keep_layers=keep_layers)
        shape = _onnx_input_shape(path)
    elif ext in (".pt", ".pth"):
        from ..io.torch_import import import_torch

        net = import_torch(path, input_shape, keep_layers=keep_layers)
        shape = input_shape
    elif ext == ".json" or not ext:
        return Model(load_network(path))
    else:
        raise VerifyError(f"{path}: unknown model type {ext!r} (expected .json, .onnx, .pt or .pth)")
    if net.n_outputs == 1 and not net.has_explicit_windows:
        # A model that is itself one max pooling window (its output the max of inputs) states its window:
        # the max of those inputs is then the reference, not "the max of all pixels" by default.
        from ..io._tensors import infer_windows

        windows = infer_windows(net)
        if windows is not None:
            net = Network(net.graph, net.inputs, net.outputs, windows=windows, name=net.name)
    return Model(net, None if shape is None else tuple(shape))


def _onnx_input_shape(path: str) -> tuple[int, ...] | None:
    """The fixed dimensions after the batch of the ONNX model's graph input (None if unreadable)."""
    try:
        import onnx

        model = onnx.load(path, load_external_data=False)
    except Exception:  # the importer already read the file; a shape is only a hint here
        return None
    inits = {t.name for t in model.graph.initializer}
    for inp in model.graph.input:
        if inp.name in inits:
            continue
        dims = [d.dim_value for d in inp.type.tensor_type.shape.dim]
        return tuple(int(d) for d in dims[1:]) if len(dims) > 1 else None
    return None
