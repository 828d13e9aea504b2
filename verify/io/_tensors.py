"""Symbolic tensors for the importers: numpy object arrays of exact affine expressions.

An imported model is run once, symbolically: every tensor element is an :class:`~verify.ir.builder.Expr`
(an exact affine combination of IR nodes) or a :class:`fractions.Fraction` constant. Linear layers
(Gemm, MatMul, Conv, average pooling, reshapes) only combine expressions, exactly; ReLU and max pooling
add IR nodes through the :class:`~verify.ir.builder.GraphBuilder`. Max pooling stays a ``max`` node.

Shapes include the batch dimension (of size 1). Spatial operators work on any number of spatial axes
(``[N, C, *spatial]``), which covers the 1-D and 2-D cases of ONNX and torch.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import Sequence

import numpy as np

from ..errors import ResourceLimitError, UnsupportedOpError
from ..ir.builder import Expr, GraphBuilder
from ..ir.ops import Op
from ..numbers import from_float

__all__ = ["MAX_TERMS", "const_array", "as_array", "symbolic", "is_const", "lincomb", "relu", "matmul", "conv", "pool",
           "elementwise_max", "elementwise_min", "clip", "binary", "scale_channels", "infer_windows", "spatial_pads"]

# Unrolling a convolution or a dense layer writes one term per weight use; refuse beyond this.
MAX_TERMS = 20_000_000


def const_array(a) -> np.ndarray:
    """A numpy object array of exact Fractions from a float/int array (float32 converted exactly)."""
    a = np.asarray(a)
    if a.dtype == object:
        return a
    if a.dtype.kind == "f":
        flat = [from_float(v) for v in a.astype(np.float64).ravel().tolist()]
    elif a.dtype.kind in "iub":
        flat = [Fraction(int(v)) for v in a.ravel().tolist()]
    else:
        raise UnsupportedOpError(f"tensor of type {a.dtype} is not numeric")
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(a.shape)


def as_array(v) -> np.ndarray:
    """``v`` as a numpy array; a scalar (Fraction, Expr, numpy scalar) becomes a 0-d array.

    numpy returns Python scalars from operations on 0-d object arrays; wrapping them keeps every
    tensor an array (so ``.dtype`` and ``.shape`` always exist).
    """
    if isinstance(v, np.ndarray):
        return v
    if isinstance(v, np.generic):
        return np.asarray(v)
    out = np.empty((), dtype=object)
    out[()] = v
    return out


def symbolic(a) -> np.ndarray:
    """An object array of Fractions/Exprs (numeric arrays converted exactly)."""
    a = as_array(a)
    if a.dtype == object:
        return a
    if a.dtype.kind == "b":
        a = a.astype(np.int64)
    return const_array(a)


def is_const(a: np.ndarray) -> bool:
    return all(not isinstance(v, Expr) for v in np.asarray(a).ravel())


def _as_expr(v) -> Expr:
    return v if isinstance(v, Expr) else Expr(const=v)


def lincomb(pairs, const=Fraction(0)) -> Expr | Fraction:
    """``sum w * v + const`` over (Fraction w, Expr|Fraction v) pairs, without quadratic copying."""
    coef: dict = {}
    level = 0
    const = Fraction(const)
    symbolic = False
    for w, v in pairs:
        if not w:
            continue
        if isinstance(v, Expr):
            symbolic = True
            level = max(level, v.level)
            const += w * v.const
            for n, c in v.coef.items():
                coef[n] = coef.get(n, 0) + w * c
        else:
            const += w * v
    if not symbolic:
        return const
    return Expr(coef, const, level)


def _count(n: int, what: str) -> None:
    if n > MAX_TERMS:
        raise ResourceLimitError(f"{what} would write {n} terms (limit {MAX_TERMS})")


def relu(b: GraphBuilder, a: np.ndarray) -> np.ndarray:
    def one(v):
        if not isinstance(v, Expr) or not v.coef:
            c = v.const if isinstance(v, Expr) else v
            return c if c > 0 else Fraction(0)
        return b.relu(v)

    out = np.empty(a.shape, dtype=object)
    flat = out.reshape(-1)
    for k, v in enumerate(a.reshape(-1)):
        flat[k] = one(v)
    return out


def _map(fn, arrays: Sequence[np.ndarray]) -> np.ndarray:
    """``fn`` applied to the elements of ``arrays`` (numpy broadcasting), into a new object array."""
    arrays = np.broadcast_arrays(*[symbolic(a) for a in arrays])
    out = np.empty(arrays[0].shape, dtype=object)
    flat = out.reshape(-1)
    cols = [a.reshape(-1) for a in arrays]
    for k in range(flat.size):
        flat[k] = fn(*[c[k] for c in cols])
    return out


def binary(op: str, x, y) -> np.ndarray:
    """Exact elementwise ``x + y``, ``x - y``, ``x * y`` or ``x / y`` (broadcasting); a product or a
    quotient needs a constant factor (the network must stay piecewise linear: checked by the caller)."""
    if op == "add":
        return _map(lambda u, v: lincomb(((1, u), (1, v))), (x, y))
    if op == "sub":
        return _map(lambda u, v: lincomb(((1, u), (-1, v))), (x, y))
    if op == "mul":
        return _map(lambda u, v: lincomb(((v, u),)) if not isinstance(v, Expr) else lincomb(((u, v),)), (x, y))
    if op == "div":
        return _map(lambda u, v: lincomb(((1 / Fraction(v), u),)), (x, y))
    raise ValueError(op)


def elementwise_max(b: GraphBuilder, arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Elementwise max with numpy broadcasting.

    Several symbolic arguments become one IR ``max`` node (a max stays a max); constant arguments are
    merged into one constant ``c`` and applied through the exact identity ``max(z, c) = c + relu(z - c)``.
    """
    return _map(lambda *vals: _max_with_consts(list(vals), b), arrays)


def elementwise_min(b: GraphBuilder, arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Elementwise min through ``min(a, b, ...) = -max(-a, -b, ...)`` (exact)."""
    neg = [_map(lambda v: lincomb(((-1, v),)), (a,)) for a in arrays]
    return _map(lambda v: lincomb(((-1, v),)), (elementwise_max(b, neg),))


def _max_with_consts(vals: list, b: GraphBuilder):
    syms = [v for v in vals if isinstance(v, Expr) and v.coef]
    consts = [v.const if isinstance(v, Expr) else Fraction(v) for v in vals if not (isinstance(v, Expr) and v.coef)]
    if not syms:
        return max(consts)
    z = syms[0] if len(syms) == 1 else b.max([_as_expr(v) for v in syms])
    if not consts:
        return z
    c = max(consts)
    return b.relu(z - c) + c


def clip(b: GraphBuilder, a: np.ndarray, lo: Fraction | None, hi: Fraction | None) -> np.ndarray:
    """Elementwise clip to ``[lo, hi]`` as ReLUs: ``clip(z, a, b) = a + relu(z - a) - relu(z - b)`` for
    ``a < b``, ``max(z, a) = a + relu(z - a)``, ``min(z, b) = b - relu(b - z)`` (exact identities).

    As in ONNX and numpy, ``lo >= hi`` sends every value to ``hi``.
    """
    def one(z):
        if not (isinstance(z, Expr) and z.coef):
            c = z.const if isinstance(z, Expr) else Fraction(z)
            if lo is not None:
                c = max(c, lo)
            if hi is not None:
                c = min(c, hi)
            return c
        if lo is not None and hi is not None:
            if lo >= hi:
                return hi
            return b.relu(z - lo) - b.relu(z - hi) + lo
        if lo is not None:
            return b.relu(z - lo) + lo
        if hi is not None:
            return -b.relu(-z + hi) + hi
        return z

    return _map(one, (a,))


def scale_channels(a: np.ndarray, scale: Sequence[Fraction], shift: Sequence[Fraction], axis: int = 1) -> np.ndarray:
    """``a * scale[c] + shift[c]`` along ``axis`` (a batch norm in inference, folded into the affine
    expressions it reads: exact)."""
    shape = [1] * a.ndim
    shape[axis] = len(scale)
    s = np.empty(len(scale), dtype=object)
    s[:] = list(scale)
    t = np.empty(len(shift), dtype=object)
    t[:] = list(shift)
    return _map(lambda v, k, c: lincomb(((k, v),), c), (a, s.reshape(shape), t.reshape(shape)))


def _max_of(vals: list, b: GraphBuilder):
    if len(vals) == 1:
        return vals[0]
    if all(not isinstance(v, Expr) for v in vals):
        return max(vals)
    return b.max([_as_expr(v) for v in vals])


def matmul(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``a @ w`` with ``a`` symbolic (..., K) and ``w`` constant (K, M)."""
    if w.ndim != 2 or a.shape[-1] != w.shape[0]:
        raise UnsupportedOpError(f"cannot multiply shapes {a.shape} and {w.shape}")
    K, M = w.shape
    rows = a.reshape(-1, K)
    _count(rows.shape[0] * K * M, "a matrix product")
    out = np.empty((rows.shape[0], M), dtype=object)
    for r in range(rows.shape[0]):
        row = rows[r]
        for m in range(M):
            out[r, m] = lincomb((w[k, m], row[k]) for k in range(K))
    return out.reshape(a.shape[:-1] + (M,))


def spatial_pads(in_sizes, kernel, strides, dilations, pads, auto_pad: str, where: str) -> list[tuple[int, int]]:
    """(begin, end) padding per spatial axis, resolving ONNX ``auto_pad``."""
    n = len(in_sizes)
    if auto_pad in ("NOTSET", "", None):
        pads = list(pads) if pads else [0] * (2 * n)
        return [(int(pads[i]), int(pads[i + n])) for i in range(n)]
    if auto_pad == "VALID":
        return [(0, 0)] * n
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        out = []
        for L, k, s, d in zip(in_sizes, kernel, strides, dilations):
            total = max((math.ceil(L / s) - 1) * s + (k - 1) * d + 1 - L, 0)
            small, big = total // 2, total - total // 2
            out.append((small, big) if auto_pad == "SAME_UPPER" else (big, small))
        return out
    raise UnsupportedOpError(f"{where}: auto_pad={auto_pad!r} is not supported")


def _out_size(L, k, s, d, pb, pe, ceil_mode: bool, where: str) -> int:
    span = (k - 1) * d + 1
    if L + pb + pe < span:
        raise UnsupportedOpError(f"{where}: kernel larger than the padded input")
    floor_n = (L + pb + pe - span) // s + 1
    if ceil_mode:
        ceil_n = -(-(L + pb + pe - span) // s) + 1
        if ceil_n != floor_n:
            raise UnsupportedOpError(f"{where}: ceil_mode with a partial last window is not supported")
    return floor_n


def _windows(in_sizes, kernel, strides, dilations, pads, ceil_mode, where):
    """For every output position, the list of (input position or None for padding) it reads."""
    outs = [_out_size(L, k, s, d, pb, pe, ceil_mode, where)
            for L, k, s, d, (pb, pe) in zip(in_sizes, kernel, strides, dilations, pads)]
    result = []
    for pos in itertools.product(*[range(o) for o in outs]):
        cells = []
        for off in itertools.product(*[range(k) for k in kernel]):
            idx = []
            for ax, (p, o) in enumerate(zip(pos, off)):
                i = p * strides[ax] + o * dilations[ax] - pads[ax][0]
                idx.append(i if 0 <= i < in_sizes[ax] else None)
            cells.append(None if any(i is None for i in idx) else tuple(idx))
        result.append((pos, cells))
    return outs, result


def pool(b: GraphBuilder, a: np.ndarray, kind: str, kernel, strides, dilations, pads, *, ceil_mode=False,
         count_include_pad=False, divisor=None, where: str = "pool") -> np.ndarray:
    """Max or average pooling over the spatial axes of ``a`` ([N, C, *spatial]).

    Max: padded cells are ignored (they hold -inf); each window becomes one IR ``max`` node.
    Average: the sum over real cells divided by the kernel size (``count_include_pad``), by the number
    of real cells, or by ``divisor``.
    """
    if a.ndim < 3:
        raise UnsupportedOpError(f"{where}: pooling needs an [N, C, *spatial] tensor, got shape {a.shape}")
    N, C = a.shape[:2]
    sizes = a.shape[2:]
    outs, wins = _windows(sizes, kernel, strides, dilations, pads, ceil_mode, where)
    out = np.empty((N, C) + tuple(outs), dtype=object)
    ksize = math.prod(kernel)
    for n in range(N):
        for c in range(C):
            plane = a[n, c]
            for pos, cells in wins:
                real = [plane[idx] for idx in cells if idx is not None]
                if not real:
                    raise UnsupportedOpError(f"{where}: a window lies entirely in the padding")
                if kind == "max":
                    out[(n, c) + pos] = _max_of(real, b)
                else:
                    den = divisor if divisor is not None else (ksize if count_include_pad else len(real))
                    w = Fraction(1, den)
                    out[(n, c) + pos] = lincomb((w, v) for v in real)
    return out


def conv(a: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, strides, dilations, pads, group: int,
         where: str = "conv") -> np.ndarray:
    """Convolution (cross-correlation, as in ONNX and torch) unrolled exactly into affine expressions.

    ``a``: [N, C, *spatial] symbolic; ``weight``: [M, C/group, *kernel] constant; ``bias``: [M] or None.
    """
    N, C = a.shape[:2]
    M = weight.shape[0]
    kernel = weight.shape[2:]
    if C % group or M % group or weight.shape[1] != C // group:
        raise UnsupportedOpError(f"{where}: weight shape {weight.shape} does not fit {C} channels in {group} groups")
    sizes = a.shape[2:]
    outs, wins = _windows(sizes, kernel, strides, dilations, pads, False, where)
    cg, mg = C // group, M // group
    _count(N * M * len(wins) * cg * math.prod(kernel), "the convolution")
    out = np.empty((N, M) + tuple(outs), dtype=object)
    offsets = list(itertools.product(*[range(k) for k in kernel]))
    for n in range(N):
        for m in range(M):
            g = m // mg
            b0 = bias[m] if bias is not None else Fraction(0)
            for pos, cells in wins:
                pairs = []
                for ci in range(cg):
                    plane = a[n, g * cg + ci]
                    wk = weight[m, ci]
                    for off, idx in zip(offsets, cells):
                        if idx is not None:
                            pairs.append((wk[off], plane[idx]))
                out[(n, m) + pos] = lincomb(pairs, b0)
    return out


def infer_windows(net) -> list[tuple[int, ...]] | None:
    """Pooling windows of a network whose every output is a ``max`` node over plain inputs, else None.

    Then the network *is* max pooling, and the windows let an emulation be compared with it by
    :func:`verify.analysis.worst_case_error`.
    """
    windows = []
    for o in net.outputs:
        node = _through_identity(net, net.single_pred(o))
        if node is None or net.op(node) is not Op.MAX:
            return None
        window = []
        for p in net.preds(node):
            src = _through_identity(net, p)
            if src is None or net.op(src) is not Op.INPUT:
                return None
            window.append(net.graph.nodes[src]["index"])
        if len(set(window)) != len(window):
            return None
        windows.append(tuple(window))
    return windows


def _through_identity(net, node):
    """Follow affine nodes that copy one value (weight 1, bias 0)."""
    while net.op(node) is Op.AFFINE:
        terms = net.affine_terms(node)
        if len(terms) != 1 or terms[0][1] != 1 or net.bias(node) != 0:
            return None
        node = terms[0][0]
    return node
