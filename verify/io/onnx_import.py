"""ONNX models to the IR, exactly.

The graph is run once on symbolic tensors (:mod:`verify.io._tensors`): float32 weights become exact
rationals (every finite float is a dyadic rational), linear operators are multiplied out into affine
expressions, ``Relu`` becomes IR ReLUs and ``MaxPool`` (and the elementwise ``Max`` of several network
values) stays an IR ``max`` node, so a model with pooling and the same model with a ReLU emulation of
the pooling can be compared exactly (:func:`verify.analysis.check_equivalent`,
:func:`verify.analysis.compare.worst_case_difference`).

Supported operators (:data:`SUPPORTED_ONNX_OPS`):

- linear: Gemm, MatMul, Add, Sub, Mul and Div by constants, Neg, Sum, Mean, Conv (any number of spatial
  axes, groups, strides, dilations, padding), AveragePool, GlobalAveragePool, ReduceSum, ReduceMean,
  BatchNormalization (inference, at any position: its per-channel affine map is folded into the
  expressions it reads);
- piecewise linear: Relu, Max, Min, MaxPool, GlobalMaxPool, ReduceMax, ReduceMin, Clip, Abs, LeakyRelu,
  PRelu (constant slope), HardSigmoid, as ReLUs and max nodes through exact identities
  (``clip(z, a, b) = a + relu(z - a) - relu(z - b)``, ``min(a, b) = -max(-a, -b)``, ...);
- data movement: Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Concat, Split, Slice, Gather, Expand,
  Tile, Pad (constant, reflect, edge), Identity, Dropout (inference);
- arithmetic on constant tensors, folded exactly at import (what exporters emit for ``nn.Unfold`` and
  reshapes): Constant, ConstantOfShape, Shape, Size, Cast, Range, Equal, Where, and the integer forms of
  Add/Sub/Mul/Div.

Anything else raises :class:`UnsupportedOpError` naming the operator, the node and the file.

One rounding is unavoidable and documented: ``BatchNormalization`` divides by ``sqrt(var + eps)``,
irrational in general. Its per-channel factor ``scale / sqrt(var + eps)`` is rounded to the nearest
float32 (the value a fused float32 model holds), unless ``var + eps`` is the square of a rational, when it
is exact; the shift ``B - mean * factor`` is computed exactly from that factor.

The model has one input; its leading dimension is the batch (fixed to 1). Network inputs are the
remaining entries in row-major order (so an image ``[1, C, H, W]`` gives ``x[(c*H + r)*W + w]``),
outputs the entries of every graph output in order, row-major. ``onnx`` is an optional extra.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

import numpy as np

from ..errors import MissingExtraError, NetworkFormatError, ResourceLimitError, UnsupportedOpError, VerifyError
from ..ir.builder import Expr, GraphBuilder
from ..ir.graph import Network
from . import _tensors as T

__all__ = ["import_onnx", "SUPPORTED_ONNX_OPS"]

# Operators whose results are new affine combinations: with ``keep_layers`` each result is a node.
_AFFINE_OPS = frozenset({"Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Neg", "Sum", "Mean", "Conv", "AveragePool",
                         "GlobalAveragePool", "ReduceSum", "ReduceMean", "BatchNormalization"})


def _onnx():
    try:
        import onnx
    except ImportError:
        raise MissingExtraError("ONNX import needs onnx: pip install 'verify[onnx]'") from None
    return onnx


def import_onnx(model, *, name: str | None = None, keep_layers: bool = False) -> Network:
    """Import an ONNX model (a path, bytes or an ``onnx.ModelProto``) as an exact IR network.

    Parameters
    ----------
    model : path, bytes or onnx.ModelProto
    name : str, optional
        The network's label (default: the file name or the graph's name).
    keep_layers : bool
        Give the result of every linear operator (Gemm, MatMul, Conv, Add, ...) its own affine node,
        instead of multiplying consecutive linear layers out. The function is the same; the graph keeps
        the model's layer boundaries, which :func:`verify.analysis.pool_replacement.pool_replacement`
        needs to find the output of a replacement sub-network.

    Errors name the file (or the graph), the node and the operator.

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
    elif not hasattr(model, "graph"):
        raise NetworkFormatError(f"expected a path, bytes or an onnx.ModelProto, got {type(model).__name__}")
    label = source or (f"ONNX graph {model.graph.name!r}" if model.graph.name else "ONNX model")
    try:
        if getattr(model, "functions", None):
            # Exporters (torch's dynamo exporter) may leave model-local functions: inline them.
            from onnx import inliner

            model = inliner.inline_local_functions(model)
        return _Importer(onnx, model.graph, name or (os.path.basename(source) if source else model.graph.name),
                         keep_layers).run()
    except NetworkFormatError as exc:
        raise exc.located(label) from None
    except (UnsupportedOpError, ResourceLimitError) as exc:
        raise type(exc)(f"{label}: {exc}") from None


class _Importer:
    def __init__(self, onnx, graph, name, keep_layers=False):
        self.onnx = onnx
        self.graph = graph
        self.name = name
        self.keep_layers = keep_layers
        self.values: dict = {}
        self.b: GraphBuilder | None = None

    # -- helpers ----------------------------------------------------------------------------------
    def attrs(self, node) -> dict:
        out = {}
        for a in node.attribute:
            v = self.onnx.helper.get_attribute_value(a)
            out[a.name] = v.decode() if isinstance(v, bytes) else v
        return out

    def const_np(self, tensor):
        arr = self.onnx.numpy_helper.to_array(tensor)
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)):
                raise NetworkFormatError(f"tensor {tensor.name!r} holds NaN or infinity")
            return T.const_array(arr)
        if arr.dtype.kind not in "iub":
            raise UnsupportedOpError(f"tensor {tensor.name!r} has type {arr.dtype}, which is not supported")
        return arr.astype(np.int64) if arr.dtype.kind != "b" else arr  # shapes and indices stay integer

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

    def scalar(self, arr, where) -> Fraction:
        a = np.asarray(arr)
        if a.size != 1 or not T.is_const(a):
            raise UnsupportedOpError(f"{where}: expected a constant scalar")
        return Fraction(a.ravel()[0])

    def const(self, arr, where, what="this input") -> np.ndarray:
        a = T.symbolic(arr)
        if not T.is_const(a):
            raise UnsupportedOpError(f"{where}: {what} must be a constant")
        return a

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
                op = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
                raise UnsupportedOpError(f"unsupported ONNX operator {op!r} at {where}")
            try:
                outs = handler(node, self.attrs(node), where)
            except (ValueError, IndexError) as exc:
                if isinstance(exc, VerifyError):
                    raise
                # numpy's shape errors (broadcasting, reshapes, indices) on a malformed model: one line.
                raise NetworkFormatError(f"{where}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
            if not isinstance(outs, list):
                outs = [outs]
            outs = [T.as_array(v) for v in outs]
            if self.keep_layers and node.op_type in _AFFINE_OPS:
                outs = [self._materialise(v) for v in outs]
            for name, val in zip(node.output, outs):
                if name:
                    self.values[name] = val
            if len(node.output) > len(outs) and any(node.output[len(outs):]):
                raise UnsupportedOpError(f"{where}: its extra outputs ({', '.join(node.output[len(outs):])}) are not supported")
        outputs = []
        for o in self.graph.output:
            if o.name not in self.values:
                raise NetworkFormatError(f"graph output {o.name!r} is never computed")
            outputs.extend(T.symbolic(self.values[o.name]).reshape(-1).tolist())
        if not outputs:
            raise NetworkFormatError("the model has no outputs")
        for v in outputs:
            self.b.output(v if isinstance(v, Expr) else Expr(const=Fraction(v)))
        net = self.b.build(name=self.name or "onnx model")
        windows = T.infer_windows(net)
        if windows is not None and net.n_outputs > 1:
            net = self.b.build(windows=windows, name=net.name)
        return net

    def _materialise(self, arr: np.ndarray) -> np.ndarray:
        if arr.dtype != object:
            return arr
        out = np.empty(arr.shape, dtype=object)
        flat, src = out.reshape(-1), arr.reshape(-1)
        for k, v in enumerate(src):
            if isinstance(v, Expr) and v.coef and not (len(v.coef) == 1 and v.const == 0
                                                       and next(iter(v.coef.values())) == 1):
                v = Expr.node(self.b.materialise(v), v.level)
            flat[k] = v
        return out

    # -- constants and shapes -----------------------------------------------------------------------
    def op_Identity(self, node, a, where):
        return self.get(node, 0)

    def op_Dropout(self, node, a, where):
        # Inference: the identity. A training-mode flag that is true would drop values at random.
        train = self.get(node, 2)
        if train is not None and any(self.ints(train, where)):
            raise UnsupportedOpError(f"{where}: training_mode=True (random) is not supported")
        x = self.get(node, 0)
        return [x, np.ones(x.shape, dtype=bool)]

    def op_Constant(self, node, a, where):
        if "value" in a:
            return self.const_np(a["value"])
        if "value_float" in a:
            return T.const_array(np.array(a["value_float"], dtype=np.float32))
        if "value_floats" in a:
            return T.const_array(np.array(a["value_floats"], dtype=np.float32))
        if "value_int" in a:
            return np.array(a["value_int"], dtype=np.int64)
        if "value_ints" in a:
            return np.array(a["value_ints"], dtype=np.int64)
        raise UnsupportedOpError(f"{where}: only the value, value_float(s) and value_int(s) forms are supported")

    def op_ConstantOfShape(self, node, a, where):
        shape = self.ints(self.get(node, 0), where)
        val = self.const_np(a["value"]) if "value" in a else T.const_array(np.zeros(1, dtype=np.float32))
        out = np.empty(shape, dtype=val.dtype)
        out[...] = val.ravel()[0]
        return out

    def op_Cast(self, node, a, where):
        x = self.get(node, 0)
        if x.dtype == object and not T.is_const(x):
            raise UnsupportedOpError(f"{where}: a cast of a network value would round it")
        to = np.dtype(self.onnx.helper.tensor_dtype_to_np_dtype(a["to"]))
        vals = np.asarray(x)
        if vals.dtype.kind == "b":
            vals = vals.astype(np.int64)
        if to.kind == "b":
            return np.array([Fraction(v) != 0 for v in vals.ravel()], dtype=bool).reshape(vals.shape)
        if to.kind in "iu":
            return np.array([int(Fraction(v)) for v in vals.ravel()], dtype=np.int64).reshape(vals.shape)
        if to.kind == "f":
            flat = [Fraction(v) for v in vals.ravel()]
            if any(Fraction(float(np.asarray(float(v), dtype=to))) != v for v in flat):
                raise UnsupportedOpError(f"{where}: the cast would round a constant")
            return T.const_array(np.array([float(v) for v in flat], dtype=np.float64).reshape(vals.shape))
        raise UnsupportedOpError(f"{where}: cast to {to} is not supported")

    def op_Shape(self, node, a, where):
        shape = self.get(node, 0).shape
        start, end = a.get("start", 0), a.get("end", None)
        return np.array(shape[start:end], dtype=np.int64)

    def op_Size(self, node, a, where):
        return np.array(self.get(node, 0).size, dtype=np.int64)

    def op_Range(self, node, a, where):
        start, limit, delta = (self.get(node, k) for k in range(3))
        if all(np.asarray(v).dtype != object for v in (start, limit, delta)):
            s, lim, dl = (int(np.asarray(v).ravel()[0]) for v in (start, limit, delta))
            if dl == 0:
                raise NetworkFormatError(f"{where}: delta is 0")
            return np.arange(s, lim, dl, dtype=np.int64)
        s, lim, dl = (self.scalar(v, where) for v in (start, limit, delta))
        if dl == 0:
            raise NetworkFormatError(f"{where}: delta is 0")
        n = max(math.ceil((lim - s) / dl), 0)
        out = np.empty(n, dtype=object)
        out[:] = [s + k * dl for k in range(n)]
        return out

    def _compare(self, node, where, fn):
        x, y = self.get(node, 0), self.get(node, 1)
        if not (T.is_const(x) and T.is_const(y)):
            raise UnsupportedOpError(f"{where}: a comparison of network values is not piecewise linear")
        x, y = np.broadcast_arrays(np.asarray(x), np.asarray(y))
        return np.array([fn(Fraction(u), Fraction(v)) for u, v in zip(x.ravel(), y.ravel())],
                        dtype=bool).reshape(x.shape)

    def op_Equal(self, node, a, where):
        return self._compare(node, where, lambda u, v: u == v)

    def op_Less(self, node, a, where):
        return self._compare(node, where, lambda u, v: u < v)

    def op_Greater(self, node, a, where):
        return self._compare(node, where, lambda u, v: u > v)

    def op_Not(self, node, a, where):
        x = self.get(node, 0)
        if x.dtype != bool:
            raise UnsupportedOpError(f"{where}: expected a constant boolean tensor")
        return ~x

    def op_Where(self, node, a, where):
        cond, x, y = (self.get(node, k) for k in range(3))
        if cond.dtype == object:
            raise UnsupportedOpError(f"{where}: the condition must be a constant boolean tensor")
        if x.dtype != object and y.dtype != object:
            return np.where(cond, x, y)
        cond, x, y = np.broadcast_arrays(cond, T.symbolic(x), T.symbolic(y))
        out = np.empty(cond.shape, dtype=object)
        for idx in np.ndindex(*cond.shape):
            out[idx] = x[idx] if cond[idx] else y[idx]
        return out

    # -- elementwise arithmetic -----------------------------------------------------------------------
    def _arith(self, node, where, op):
        x, y = self.get(node, 0), self.get(node, 1)
        if x.dtype != object and y.dtype != object and x.dtype.kind in "iub" and y.dtype.kind in "iub":
            x, y = x.astype(np.int64), y.astype(np.int64)
            if op == "div":  # ONNX integer division truncates toward zero
                if np.any(y == 0):
                    raise NetworkFormatError(f"{where}: integer division by zero")
                return np.sign(x) * np.sign(y) * (np.abs(x) // np.abs(y))
            return {"add": np.add, "sub": np.subtract, "mul": np.multiply}[op](x, y)
        x, y = T.symbolic(x), T.symbolic(y)
        if op == "mul" and not (T.is_const(x) or T.is_const(y)):
            raise UnsupportedOpError(f"{where}: product of two non-constant tensors is not piecewise linear")
        if op == "div":
            if not T.is_const(y):
                raise UnsupportedOpError(f"{where}: division by a non-constant tensor")
            if any(v == 0 for v in y.ravel()):
                raise NetworkFormatError(f"{where}: division by zero")
        return T.binary(op, x, y)

    def op_Add(self, node, a, where):
        return self._arith(node, where, "add")

    def op_Sub(self, node, a, where):
        return self._arith(node, where, "sub")

    def op_Mul(self, node, a, where):
        return self._arith(node, where, "mul")

    def op_Div(self, node, a, where):
        return self._arith(node, where, "div")

    def op_Neg(self, node, a, where):
        x = self.get(node, 0)
        return -x if x.dtype != object else T.binary("mul", x, T.as_array(Fraction(-1)))

    def op_Sum(self, node, a, where):
        out = self.get(node, 0)
        for k in range(1, len(node.input)):
            out = T.binary("add", T.symbolic(out), T.symbolic(self.get(node, k)))
        return T.symbolic(out)

    def op_Mean(self, node, a, where):
        return T.binary("div", self.op_Sum(node, a, where), T.as_array(Fraction(len(node.input))))

    # -- piecewise-linear activations -------------------------------------------------------------------
    def op_Relu(self, node, a, where):
        return T.relu(self.b, T.symbolic(self.get(node, 0)))

    def op_Max(self, node, a, where):
        return T.elementwise_max(self.b, [T.symbolic(self.get(node, k)) for k in range(len(node.input))])

    def op_Min(self, node, a, where):
        return T.elementwise_min(self.b, [T.symbolic(self.get(node, k)) for k in range(len(node.input))])

    def op_Clip(self, node, a, where):
        x = T.symbolic(self.get(node, 0))
        if "min" in a or "max" in a:  # opset < 11: bounds as attributes (float32)
            lo = T.const_array(np.array(a["min"], dtype=np.float32))[()] if "min" in a else None
            hi = T.const_array(np.array(a["max"], dtype=np.float32))[()] if "max" in a else None
        else:
            lo_t, hi_t = self.get(node, 1), self.get(node, 2)
            lo = None if lo_t is None else self.scalar(lo_t, where)
            hi = None if hi_t is None else self.scalar(hi_t, where)
        return T.clip(self.b, x, lo, hi)

    def op_Abs(self, node, a, where):
        # |z| = relu(z) + relu(-z)
        x = T.symbolic(self.get(node, 0))
        return T.binary("add", T.relu(self.b, x), T.relu(self.b, T.binary("mul", x, T.as_array(Fraction(-1)))))

    def _leaky(self, x, slope):
        # z for z >= 0, slope * z below: relu(z) - slope * relu(-z) (exact for any constant slope)
        neg = T.relu(self.b, T.binary("mul", x, T.as_array(Fraction(-1))))
        return T.binary("sub", T.relu(self.b, x), T.binary("mul", neg, slope))

    def op_LeakyRelu(self, node, a, where):
        slope = T.const_array(np.array(a.get("alpha", 0.01), dtype=np.float32))
        return self._leaky(T.symbolic(self.get(node, 0)), slope)

    def op_PRelu(self, node, a, where):
        return self._leaky(T.symbolic(self.get(node, 0)), self.const(self.get(node, 1), where, "the slope"))

    def op_HardSigmoid(self, node, a, where):
        # clip(alpha * z + beta, 0, 1)
        alpha = T.const_array(np.array(a.get("alpha", 0.2), dtype=np.float32))
        beta = T.const_array(np.array(a.get("beta", 0.5), dtype=np.float32))
        z = T.binary("add", T.binary("mul", T.symbolic(self.get(node, 0)), alpha), beta)
        return T.clip(self.b, z, Fraction(0), Fraction(1))

    def op_BatchNormalization(self, node, a, where):
        if a.get("training_mode", 0):
            raise UnsupportedOpError(f"{where}: training_mode=1 (batch statistics) is not supported")
        if len(node.output) > 1 and any(node.output[1:]):
            raise UnsupportedOpError(f"{where}: the running-statistics outputs (training) are not supported")
        x = T.symbolic(self.get(node, 0))
        scale, bias, mean, var = (self.const(self.get(node, k), where, "scale, B, mean and var").ravel()
                                  for k in range(1, 5))
        eps = T.const_array(np.array(a.get("epsilon", 1e-5), dtype=np.float32))[()]
        if x.ndim < 2 or x.shape[1] != len(scale):
            raise NetworkFormatError(f"{where}: {len(scale)} channels of statistics for an input of shape {x.shape}")
        factors, shifts = [], []
        for s, b, m, v in zip(scale, bias, mean, var):
            if v + eps <= 0:
                raise NetworkFormatError(f"{where}: var + epsilon is not positive")
            f = _bn_factor(s, v + eps)
            factors.append(f)
            shifts.append(b - m * f)
        return T.scale_channels(x, factors, shifts, axis=1)

    # -- linear layers ---------------------------------------------------------------------------------
    def op_Gemm(self, node, a, where):
        A, B, C = T.symbolic(self.get(node, 0)), T.symbolic(self.get(node, 1)), self.get(node, 2)
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
            out = T.binary("add", out, T.binary("mul", T.symbolic(C), T.as_array(beta)))
        return out

    def op_MatMul(self, node, a, where):
        A, B = T.symbolic(self.get(node, 0)), T.symbolic(self.get(node, 1))
        if T.is_const(B) and B.ndim == 2:
            return T.matmul(A, B)
        if T.is_const(A) and A.ndim == 2 and B.ndim == 2:
            return T.matmul(B.T, A.T).T
        raise UnsupportedOpError(f"{where}: only products with a constant 2-D matrix are supported")

    def _reduce(self, node, a, where, kind):
        x = T.symbolic(self.get(node, 0))
        axes = self._axes(node, a, 1)
        if not axes and a.get("noop_with_empty_axes", 0):
            return x
        axes = list(range(x.ndim)) if not axes else sorted(ax % x.ndim for ax in axes)
        keep = [ax for ax in range(x.ndim) if ax not in axes]
        moved = np.transpose(x, keep + axes).reshape([x.shape[k] for k in keep] + [-1])
        out = np.empty(moved.shape[:-1], dtype=object)
        for idx in np.ndindex(*moved.shape[:-1]):
            vals = list(moved[idx])
            if kind == "max":
                out[idx] = T.elementwise_max(self.b, [T.as_array(v) for v in vals])[()]
            elif kind == "min":
                out[idx] = T.elementwise_min(self.b, [T.as_array(v) for v in vals])[()]
            else:
                w = Fraction(1) if kind == "sum" else Fraction(1, len(vals))
                out[idx] = T.lincomb((w, v) for v in vals)
        if a.get("keepdims", 1):
            out = out.reshape([1 if ax in axes else x.shape[ax] for ax in range(x.ndim)])
        return out

    def op_ReduceMax(self, node, a, where):
        return self._reduce(node, a, where, "max")

    def op_ReduceMin(self, node, a, where):
        return self._reduce(node, a, where, "min")

    def op_ReduceSum(self, node, a, where):
        return self._reduce(node, a, where, "sum")

    def op_ReduceMean(self, node, a, where):
        return self._reduce(node, a, where, "mean")

    # -- data movement ---------------------------------------------------------------------------------
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
        return np.transpose(self.get(node, 0), a.get("perm", None))

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
        parts = [p for p in parts if p is not None]
        if any(p.dtype == object for p in parts):
            parts = [T.symbolic(p) for p in parts]
        return np.concatenate(parts, axis=a["axis"])

    def op_Split(self, node, a, where):
        x = self.get(node, 0)
        axis = a.get("axis", 0) % x.ndim
        sizes = a.get("split")
        if sizes is None and self.get(node, 1) is not None:
            sizes = self.ints(self.get(node, 1), where)
        n_out = len(node.output)
        if sizes is None:
            L = x.shape[axis]
            n = a.get("num_outputs", n_out)
            step = -(-L // n)
            sizes = [min(step, L - k * step) for k in range(n)]
        if sum(sizes) != x.shape[axis]:
            raise NetworkFormatError(f"{where}: split sizes {list(sizes)} do not add up to {x.shape[axis]}")
        cuts = np.cumsum(sizes)[:-1]
        return list(np.split(x, cuts, axis=axis))

    def op_Slice(self, node, a, where):
        x = self.get(node, 0)
        if "starts" in a:  # opset < 10
            starts, ends, axes, steps = a["starts"], a["ends"], a.get("axes"), None
        else:
            starts, ends = self.ints(self.get(node, 1), where), self.ints(self.get(node, 2), where)
            axes = self._axes(node, {}, 3)
            steps = None if self.get(node, 4) is None else self.ints(self.get(node, 4), where)
        axes = list(range(len(starts))) if axes is None else [ax % x.ndim for ax in axes]
        steps = steps or [1] * len(starts)
        index = [slice(None)] * x.ndim
        for ax, s, e, st in zip(axes, starts, ends, steps):
            if st == 0:
                raise NetworkFormatError(f"{where}: step 0")
            # ONNX clamps out-of-range ends (INT64_MAX means "to the end"); Python slices do the same.
            index[ax] = slice(s, None if (st > 0 and e >= x.shape[ax]) or (st < 0 and e < -x.shape[ax]) else e, st)
        return x[tuple(index)]

    def op_Gather(self, node, a, where):
        x, idx = self.get(node, 0), self.get(node, 1)
        idx = np.asarray(self.ints(idx, where)).reshape(np.asarray(idx).shape)
        return np.take(x, idx, axis=a.get("axis", 0))

    def op_Expand(self, node, a, where):
        x = self.get(node, 0)
        shape = self.ints(self.get(node, 1), where)
        out_shape = np.broadcast_shapes(x.shape, tuple(shape))
        return np.array(np.broadcast_to(x, out_shape))

    def op_Tile(self, node, a, where):
        return np.tile(self.get(node, 0), self.ints(self.get(node, 1), where))

    def op_Pad(self, node, a, where):
        x = self.get(node, 0)
        mode = a.get("mode", "constant")
        if "pads" in a:  # opset < 11
            pads, value = list(a["pads"]), Fraction(a.get("value", 0.0))
            axes = list(range(x.ndim))
        else:
            pads = self.ints(self.get(node, 1), where)
            cv = self.get(node, 2)
            value = Fraction(0) if cv is None or np.asarray(cv).size == 0 else self.scalar(cv, where)
            ax = self.get(node, 3)
            axes = list(range(x.ndim)) if ax is None else [v % x.ndim for v in self.ints(ax, where)]
        n = len(axes)
        if len(pads) != 2 * n:
            raise NetworkFormatError(f"{where}: {len(pads)} pads for {n} axes")
        width = [(0, 0)] * x.ndim
        for k, ax in enumerate(axes):
            width[ax] = (pads[k], pads[k + n])
        if any(p < 0 for pair in width for p in pair):
            # Negative pads crop.
            index = tuple(slice(-b if b < 0 else None, e if e < 0 else None) for b, e in width)
            x = x[index]
            width = [(max(b, 0), max(e, 0)) for b, e in width]
        if mode == "constant":
            if x.dtype != object:
                return np.pad(x, width, mode="constant", constant_values=int(value))
            out = np.empty(tuple(s + b + e for s, (b, e) in zip(x.shape, width)), dtype=object)
            out[...] = value
            out[tuple(slice(b, b + s) for s, (b, _) in zip(x.shape, width))] = x
            return out
        if mode in ("reflect", "edge", "wrap"):
            # Pure index maps: every padded cell copies an existing one.
            return np.pad(x, width, mode={"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode])
        raise UnsupportedOpError(f"{where}: mode={mode!r} is not supported")

    # -- pooling and convolution -------------------------------------------------------------------------
    def _spatial(self, x, a, where, kernel=None):
        n = x.ndim - 2
        if n < 1:
            raise UnsupportedOpError(f"{where}: needs an [N, C, *spatial] input, got shape {x.shape}")
        kernel = list(kernel if kernel is not None else a["kernel_shape"])
        strides = list(a.get("strides", [1] * n))
        dil = list(a.get("dilations", [1] * n))
        pads = T.spatial_pads(x.shape[2:], kernel, strides, dil, a.get("pads"), a.get("auto_pad", "NOTSET"), where)
        return kernel, strides, dil, pads

    def op_MaxPool(self, node, a, where):
        x = T.symbolic(self.get(node, 0))
        if a.get("storage_order", 0):
            raise UnsupportedOpError(f"{where}: storage_order=1 is not supported")
        kernel, strides, dil, pads = self._spatial(x, a, where)
        return T.pool(self.b, x, "max", kernel, strides, dil, pads, ceil_mode=bool(a.get("ceil_mode", 0)), where=where)

    def op_AveragePool(self, node, a, where):
        x = T.symbolic(self.get(node, 0))
        kernel, strides, dil, pads = self._spatial(x, a, where)
        return T.pool(self.b, x, "avg", kernel, strides, dil, pads, ceil_mode=bool(a.get("ceil_mode", 0)),
                      count_include_pad=bool(a.get("count_include_pad", 0)), where=where)

    def op_GlobalMaxPool(self, node, a, where):
        x = T.symbolic(self.get(node, 0))
        n = x.ndim - 2
        return T.pool(self.b, x, "max", list(x.shape[2:]), [1] * n, [1] * n, [(0, 0)] * n, where=where)

    def op_GlobalAveragePool(self, node, a, where):
        x = T.symbolic(self.get(node, 0))
        n = x.ndim - 2
        return T.pool(self.b, x, "avg", list(x.shape[2:]), [1] * n, [1] * n, [(0, 0)] * n, where=where)

    def op_Conv(self, node, a, where):
        x, w, bias = T.symbolic(self.get(node, 0)), self.get(node, 1), self.get(node, 2)
        w = self.const(w, where, "the weights")
        kernel, strides, dil, pads = self._spatial(x, a, where, kernel=a.get("kernel_shape", w.shape[2:]))
        if list(kernel) != list(w.shape[2:]):
            raise NetworkFormatError(f"{where}: kernel_shape {kernel} does not match the weights {w.shape}")
        return T.conv(x, w, None if bias is None else T.symbolic(bias), strides, dil, pads, int(a.get("group", 1)), where)


def _bn_factor(scale: Fraction, q: Fraction) -> Fraction:
    """``scale / sqrt(q)``: exact when ``q`` is the square of a rational, else the nearest float32 (the one
    rounding of the import; computed in float64 first, so off by at most one float32 ulp)."""
    n, d = q.numerator, q.denominator
    rn, rd = math.isqrt(n), math.isqrt(d)
    if rn * rn == n and rd * rd == d:
        return scale / Fraction(rn, rd)
    return Fraction(float(np.float32(float(scale) / math.sqrt(float(q)))))


SUPPORTED_ONNX_OPS = tuple(sorted(n[3:] for n in dir(_Importer) if n.startswith("op_")))
