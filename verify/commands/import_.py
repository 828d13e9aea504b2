"""``verify import``: an ONNX or torch model to a network file (exact weights)."""

from __future__ import annotations

import os

from ..errors import VerifyError
from ..io.json_format import dumps_network
from .common import add_output_arg, write_output

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("import", help="import an ONNX (.onnx) or torch (.pt, nn.Sequential) model as JSON",
                       description="Import a model; float weights are converted to exact rationals and max "
                                   "pooling stays a max node.")
    p.add_argument("model", metavar="MODEL.onnx|MODEL.pt")
    add_output_arg(p, "-o", "--output", required=True, metavar="NET.json", help="network file to write")
    p.add_argument("--input-shape", metavar="C,H,W", default=None,
                   help="torch: shape of one input without the batch dimension (default: from a leading Linear)")
    p.add_argument("--name", default=None, help="name stored in the network file")
    p.set_defaults(func=run)


def run(args) -> int:
    ext = os.path.splitext(args.model)[1].lower()
    if ext == ".onnx":
        from ..io.onnx_import import import_onnx

        net = import_onnx(args.model, name=args.name)
    elif ext in (".pt", ".pth"):
        from ..io.torch_import import import_torch

        shape = None
        if args.input_shape:
            try:
                shape = tuple(int(s) for s in args.input_shape.split(","))
            except ValueError:
                raise VerifyError(f"--input-shape: expected integers like 1,4,4, got {args.input_shape!r}") from None
        net = import_torch(args.model, shape, name=args.name)
    else:
        raise VerifyError(f"{args.model}: unknown model type {ext or '(no extension)'!r} (expected .onnx, .pt or .pth)")
    write_output(args.output, dumps_network(net) + "\n")
    print(f"imported {args.model}: {net.n_inputs} inputs, {net.n_outputs} outputs, {net.n_relus} ReLUs, "
          f"{len(net.max_nodes)} max nodes, {net.hidden_layers} hidden layers -> {args.output}")
    return 0
