"""ONNX models to the IR, exactly.

The graph is run once on symbolic tensors (:mod:`verify.io._tensors`): float32 weights become exact
rationals (every finite float is a dyadic rational), linear operators are multiplied out into affine
expressions, ``Relu`` becomes IR ReLUs and ``MaxPool`` (and the elementwise ``Max``) stays an IR ``max``
node, so a model with pooling and the same model with a ReLU emulation of the pooling can be compared
exactly (:func:`verify.analysis.check_equivalent`, :func:`verify.analysis.compare.worst_case_difference`).

Supported operators: Gemm, MatMul, Add, Sub, Mul and Div by constants, Neg, Relu, Max, Conv (any number
of spatial axes, groups, strides, dilations, padding), MaxPool, AveragePool, GlobalMaxPool,
GlobalAveragePool, Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Concat, Gather (constant indices), ReduceMax,
Identity, Dropout (inference), Constant, Shape and Cast on constants. Anything else raises
:class:`UnsupportedOpError` naming the operator and the node.

The model has one input; its leading dimension is the batch (fixed to 1). Network inputs are the
remaining entries in row-major order (so an image ``[1, C, H, W]`` gives ``x[(c*H + r)*W + w]``),
outputs the entries of every graph output in order, row-major. ``onnx`` is an optional extra.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

import numpy as np

from ..errors import MissingExtraError, NetworkFormatError, UnsupportedOpError
from ..ir.builder import Expr, GraphBuilder
from ..ir.graph import Network
from . import _tensors as T

__all__ = ["import_onnx", "SUPPORTED_ONNX_OPS"]


def _onnx():
    try:
        import onnx
    except ImportError:
        raise MissingExtraError("ONNX import needs onnx: pip install 'verify[onnx]'") from None
    return onnx


def import_onnx(model, *, name: str | None = None) -> Network:
    """Import an ONNX model (a path, bytes or an ``onnx.ModelProto``) as an exact IR network.

    >>> import onnx                                             # doctest: +SKIP
    >>> net = import_onnx("model.onnx")                         # doctest: +SKIP
    """
    onnx = _onnx()
    source = None
    if isinstance(model, (str, os.PathLike)):
        source = os.fspath(model)
        try:
            model = onnx.load(source)
        except FileNotFoundError:
            raise NetworkFormatError("no such file", source=source) from None
        except Exception as exc:  # onnx raises DecodeError and friends for non-ONNX bytes
            raise NetworkFormatError(f"not an ONNX model ({type(exc).__name__})", source=source) from None
    elif isinstance(model, (bytes, bytearray)):
        try:
            model = onnx.load_from_string(bytes(model))
        except Exception as exc:
            raise NetworkFormatError(f"not an ONNX model ({type(exc).__name__})") from None
    try:
        return _Importer(onnx, model.graph, name or (os.path.basename(source) if source else model.graph.name)).run()
    except NetworkFormatError as exc:
        raise exc.located(source) if source else exc


class _Importer:
    def __init__(self, onnx, graph, name):
        self.onnx = onnx
        self.graph = graph
        self.name = name
        self.values: dict = {}
        self.b: GraphBuilder | None = None

    # -- helpers ----------------------------------------------------------------------------------
    def attrs(self, node) -> dict:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def const_np(self, tensor):
        arr = self.onnx.numpy_helper.to_array(tensor)
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)):
                raise NetworkFormatError(f"tensor {tensor.name!r} holds NaN or infinity")
            return T.const_array(arr)
        return arr  # integer tensors (shapes, indices) stay integer arrays

    def get(self, node, k: int):
        name = node.input[k] if k < len(node.input) else ""
        if name == "":
            return None
        if name not in self.values:
            raise NetworkFormatError(f"node {node.name or node.op_type!r} reads {name!r}, which is not defined before it")
        return self.values[name]

    def ints(self, arr, where) -> list[int]:
        a = np.asarray(arr)
        if a.dtype == object:
            if not T.is_const(a) or any(Fraction(v).denominator != 1 for v in a.ravel()):
                raise UnsupportedOpError(f"{where}: expected a constant integer tensor")
            return [int(v) for v in a.ravel()]
        return [int(v) for v in a.ravel()]

    # -- main -------------------------------------------------------------------------------------
    def run(self) -> Network:
        init_names = set()
        for t in self.graph.initializer:
            self.values[t.name] = self.const_np(t)
            init_names.add(t.name)
        inputs = [i for i in self.graph.input if i.name not in init_names]
        if len(inputs) != 1:
            raise UnsupportedOpError(f"the model has {len(inputs)} inputs; exactly one is supported")
        inp = inputs[0]
        dims = []
        for k, dim in enumerate(inp.type.tensor_type.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                dims.append(int(dim.dim_value))
            elif k == 0:
                dims.append(1)  # symbolic batch dimension
            else:
                raise NetworkFormatError(f"input {inp.name!r}: dimension {k} has no fixed size")
        if not dims:
            raise NetworkFormatError(f"input {inp.name!r} has no shape")
        if dims[0] != 1:
            raise UnsupportedOpError(f"input {inp.name!r}: batch dimension {dims[0]} (only 1 is supported)")
        d = math.prod(dims[1:]) if len(dims) > 1 else 1
        self.b = GraphBuilder(d)
        xs = np.empty(d, dtype=object)
        xs[:] = self.b.input_exprs()
        self.values[inp.name] = xs.reshape(dims)
        for node in self.graph.node:
            handler = getattr(self, f"op_{node.op_type}", None)
            where = f"node {node.name!r} ({node.op_type})" if node.name else f"node {node.op_type}"
            if handler is None or node.domain not in ("", "ai.onnx"):
                raise UnsupportedOpError(f"unsupported ONNX operator {node.op_type!r} at {where}")
            outs = handler(node, self.attrs(node), where)
            if not isinstance(outs, list):
                outs = [outs]
            for name, val in zip(node.output, outs):
                if name:
                    self.values[name] = val
            if len(node.output) > len(outs) and any(node.output[len(outs):]):
                raise UnsupportedOpError(f"{where}: its extra outputs ({', '.join(node.output[len(outs):])}) are not supported")
        outputs = []
        for o in self.graph.output:
            if o.name not in self.values:
                raise NetworkFormatError(f"graph output {o.name!r} is never computed")
            outputs.extend(self.values[o.name].reshape(-1).tolist())
        if not outputs:
            raise NetworkFormatError("the model has no outputs")
        for v in outputs:
            self.b.output(v if isinstance(v, Expr) else Expr(const=Fraction(v)))
        net = self.b.build(name=self.name or "onnx model")
        windows = T.infer_windows(net)
        if windows is not None and net.n_outputs > 1:
            net = self.b.build(windows=windows, name=net.name)
        return net

    # -- operators (one handler each) ---------------------------------------------------------------
    def op_Identity(self, node, a, where):
        return self.get(node, 0)

    op_Dropout = op_Identity  # inference mode: identity (a mask output is refused by run())

    def op_Constant(self, node, a, where):
        if "value" not in a:
            raise UnsupportedOpError(f"{where}: only the 'value' form of Constant is supported")
        return self.const_np(a["value"])

    def op_Cast(self, node, a, where):
        x = self.get(node, 0)
        if x.dtype == object and not T.is_const(x):
            raise UnsupportedOpError(f"{where}: a cast of a network value would round it")
        to = self.onnx.helper.tensor_dtype_to_np_dtype(a["to"])
        vals = np.asarray(x)
        if np.dtype(to).kind in "iu":
            return np.array([int(Fraction(v)) for v in vals.ravel()], dtype=np.int64).reshape(vals.shape)
        if np.dtype(to).kind == "f":
            flat = [Fraction(v) for v in vals.ravel()]
            if any(Fraction(float(np.asarray(float(v), dtype=to))) != v for v in flat):
                raise UnsupportedOpError(f"{where}: the cast would round a constant")
            return T.const_array(np.array([float(v) for v in flat]).reshape(vals.shape))
        raise UnsupportedOpError(f"{where}: cast to {np.dtype(to)} is not supported")

    def op_Shape(self, node, a, where):
        return np.array(self.get(node, 0).shape, dtype=np.int64)

    def _sym(self, x):
        if x.dtype != object:
            return T.const_array(x.astype(np.float64)) if x.dtype.kind != "f" else T.const_array(x)
        return x

    def op_Add(self, node, a, where):
        return self._sym(self.get(node, 0)) + self._sym(self.get(node, 1))

    def op_Sub(self, node, a, where):
        return self._sym(self.get(node, 0)) - self._sym(self.get(node, 1))

    def op_Neg(self, node, a, where):
        return -self._sym(self.get(node, 0))

    def op_Mul(self, node, a, where):
        x, y = self._sym(self.get(node, 0)), self._sym(self.get(node, 1))
        if not (T.is_const(x) or T.is_const(y)):
            raise UnsupportedOpError(f"{where}: product of two non-constant tensors is not piecewise linear")
        return x * y

    def op_Div(self, node, a, where):
        x, y = self._sym(self.get(node, 0)), self._sym(self.get(node, 1))
        if not T.is_const(y):
            raise UnsupportedOpError(f"{where}: division by a non-constant tensor")
        if any(v == 0 for v in y.ravel()):
            raise NetworkFormatError(f"{where}: division by zero")
        inv = np.vectorize(lambda v: 1 / Fraction(v), otypes=[object])(y)
        return x * inv

    def op_Relu(self, node, a, where):
        return T.relu(self.b, self._sym(self.get(node, 0)))

    def op_Max(self, node, a, where):
        return T.elementwise_max(self.b, [self._sym(self.get(node, k)) for k in range(len(node.input))])

    def op_Gemm(self, node, a, where):
        A, B, C = self._sym(self.get(node, 0)), self._sym(self.get(node, 1)), self.get(node, 2)
        if a.get("transA", 0):
            A = A.T
        if a.get("transB", 0):
            B = B.T
        if not T.is_const(B):
            raise UnsupportedOpError(f"{where}: the second factor must be a constant weight matrix")
        alpha = T.const_array(np.array(a.get("alpha", 1.0), dtype=np.float32))[()]
        beta = T.const_array(np.array(a.get("beta", 1.0), dtype=np.float32))[()]
        out = T.matmul(A, B * alpha if alpha != 1 else B)
        if C is not None:
            out = out + self._sym(C) * beta
        return out

    def op_MatMul(self, node, a, where):
        A, B = self._sym(self.get(node, 0)), self._sym(self.get(node, 1))
        if T.is_const(B) and B.ndim == 2:
            return T.matmul(A, B)
        if T.is_const(A) and A.ndim == 2 and B.ndim == 2:
            return T.matmul(B.T, A.T).T
        raise UnsupportedOpError(f"{where}: only products with a constant 2-D matrix are supported")

    def op_Flatten(self, node, a, where):
        x = self.get(node, 0)
        axis = a.get("axis", 1)
        axis = axis + x.ndim if axis < 0 else axis
        return x.reshape((math.prod(x.shape[:axis]), math.prod(x.shape[axis:])))

    def op_Reshape(self, node, a, where):
        x = self.get(node, 0)
        shape = self.ints(self.get(node, 1), where)
        if a.get("allowzero", 0) == 0:
            shape = [x.shape[k] if s == 0 else s for k, s in enumerate(shape)]
        try:
            return x.reshape(shape)
        except ValueError:
            raise NetworkFormatError(f"{where}: cannot reshape {x.shape} to {shape}") from None

    def op_Transpose(self, node, a, where):
        x = self.get(node, 0)
        return np.transpose(x, a.get("perm", None))

    def _axes(self, node, a, k):
        if "axes" in a:
            return list(a["axes"])
        v = self.get(node, k)
        return None if v is None else self.ints(v, "axes")

    def op_Squeeze(self, node, a, where):
        x = self.get(node, 0)
        axes = self._axes(node, a, 1)
        return np.squeeze(x) if axes is None else np.squeeze(x, axis=tuple(ax % x.ndim for ax in axes))

    def op_Unsqueeze(self, node, a, where):
        x = self.get(node, 0)
        axes = self._axes(node, a, 1)
        nd = x.ndim + len(axes)
        for ax in sorted(ax % nd for ax in axes):
            x = np.expand_dims(x, ax)
        return x

    def op_Concat(self, node, a, where):
        parts = [self.get(node, k) for k in range(len(node.input))]
        if any(p.dtype == object for p in parts):
            parts = [self._sym(p) for p in parts]
        return np.concatenate(parts, axis=a["axis"])

    def op_Gather(self, node, a, where):
        x, idx = self.get(node, 0), self.get(node, 1)
        idx = np.asarray(self.ints(idx, where)).reshape(np.asarray(idx).shape)
        return np.take(x, idx, axis=a.get("axis", 0))

    def _spatial(self, x, a, where, kernel=None):
        n = x.ndim - 2
        if n < 1:
            raise UnsupportedOpError(f"{where}: needs an [N, C, *spatial] input, got shape {x.shape}")
        kernel = list(kernel if kernel is not None else a["kernel_shape"])
        strides = list(a.get("strides", [1] * n))
        dil = list(a.get("dilations", [1] * n))
        pads = T.spatial_pads(x.shape[2:], kernel, strides, dil, a.get("pads"), a.get("auto_pad", "NOTSET")
                              if isinstance(a.get("auto_pad", "NOTSET"), str) else a["auto_pad"].decode(), where)
        return kernel, strides, dil, pads

    def op_MaxPool(self, node, a, where):
        x = self._sym(self.get(node, 0))
        if a.get("storage_order", 0):
            raise UnsupportedOpError(f"{where}: storage_order=1 is not supported")
        kernel, strides, dil, pads = self._spatial(x, a, where)
        return T.pool(self.b, x, "max", kernel, strides, dil, pads, ceil_mode=bool(a.get("ceil_mode", 0)), where=where)

    def op_AveragePool(self, node, a, where):
        x = self._sym(self.get(node, 0))
        kernel, strides, dil, pads = self._spatial(x, a, where)
        return T.pool(self.b, x, "avg", kernel, strides, dil, pads, ceil_mode=bool(a.get("ceil_mode", 0)),
                      count_include_pad=bool(a.get("count_include_pad", 0)), where=where)

    def op_ReduceMax(self, node, a, where):
        x = self._sym(self.get(node, 0))
        axes = self._axes(node, a, 1)
        axes = list(range(x.ndim)) if not axes else sorted(ax % x.ndim for ax in axes)
        keep = [ax for ax in range(x.ndim) if ax not in axes]
        moved = np.transpose(x, keep + axes).reshape([x.shape[k] for k in keep] + [-1])
        out = np.empty(moved.shape[:-1], dtype=object)
        for idx in np.ndindex(*moved.shape[:-1]):
            out[idx] = T._max_of(list(moved[idx]), self.b)
        if a.get("keepdims", 1):
            out = out.reshape([1 if ax in axes else x.shape[ax] for ax in range(x.ndim)])
        return out

    def op_GlobalMaxPool(self, node, a, where):
        x = self._sym(self.get(node, 0))
        n = x.ndim - 2
        return T.pool(self.b, x, "max", list(x.shape[2:]), [1] * n, [1] * n, [(0, 0)] * n, where=where)

    def op_GlobalAveragePool(self, node, a, where):
        x = self._sym(self.get(node, 0))
        n = x.ndim - 2
        return T.pool(self.b, x, "avg", list(x.shape[2:]), [1] * n, [1] * n, [(0, 0)] * n, where=where)

    def op_Conv(self, node, a, where):
        x, w, bias = self._sym(self.get(node, 0)), self.get(node, 1), self.get(node, 2)
        if not T.is_const(self._sym(w)):
            raise UnsupportedOpError(f"{where}: the weights must be constant")
        w = self._sym(w)
        kernel, strides, dil, pads = self._spatial(x, a, where, kernel=a.get("kernel_shape", w.shape[2:]))
        if list(kernel) != list(w.shape[2:]):
            raise NetworkFormatError(f"{where}: kernel_shape {kernel} does not match the weights {w.shape}")
        return T.conv(x, w, None if bias is None else self._sym(bias), strides, dil, pads, int(a.get("group", 1)), where)


SUPPORTED_ONNX_OPS = tuple(sorted(n[3:] for n in dir(_Importer) if n.startswith("op_")))
