"""Exactness on all of R^d for bias-free networks with at most two hidden layers, by a hyperplane arrangement.

The argument (no symmetry, no solver). Let ``N`` be bias-free with two hidden layers. Rewrite it exactly
(:func:`two_layer_form`): a first-layer unit ``relu(<g, x>)`` is ``c relu(<h, x>)`` with ``h`` the
primitive integer direction of ``g`` (first non-zero entry positive) and ``c > 0``, or
``c (relu(<h, x>) - <h, x>)`` when ``g`` points the other way; so every second-layer pre-activation is
``F(x) = sum_h a_h relu(<h, x>) + <l, x>``, and proportional ones merge (``relu(tF) = t relu(F)``,
``relu(-tF) = t relu(F) - tF`` for ``t > 0``; pairs ``relu(y) - relu(-y) = y`` disappear). Then

    N(x) = sum_F b_F relu(F(x)) + G(x),      G a first-layer function.

Let ``A`` be the central arrangement of the hyperplanes ``<h, x> = 0`` (every ``h`` used), the zero sets
``<sum_{h in S} a_h h + l, x> = 0`` of every ``F`` under every choice ``S`` of the ``h`` it reads, and the
braid hyperplanes ``x_i = x_j`` of the output's window. On a closed cell of ``A`` every ``relu(<h, x>)``
has a fixed sign, so every ``F`` equals one of those linear forms, whose sign is fixed too; hence ``N`` is
linear on the cell, and so is ``max`` (braid hyperplanes). A closed cell is ``L + cone(rays)``, ``L`` the
lineality space of ``A`` and the rays half-lines of the one-dimensional flats of ``A`` modulo ``L``
(faces of cells are cells of restrictions to flats). A linear function that vanishes on ``L`` and on the
rays vanishes on the cell, and the cells cover R^d. So

    N == max on R^d   iff   N == max on a basis of L (both signs) and at both half-lines of every line
                            of rank k - 1 (k the rank of A).

The lines are enumerated exactly (:mod:`verify.analysis.flats`), ``N`` is evaluated at their integer
directions in integer arithmetic (weights scaled by their common denominator per layer: ``relu`` commutes
with positive scaling and there are no biases), and a difference found is re-run through the exact
evaluator before REFUTED is reported. Random integer points are tried first (a counterexample found
there costs nothing). A PROVED result carries an :class:`ArrangementProof`, from which
:func:`arrangement_certificate` makes a certificate that :func:`verify.analysis.arrangement_check.recheck`
re-checks without trusting this module.

References
----------
.. [1] R. Arora, A. Basu, P. Mianjy, A. Mukherjee. ICLR 2018, arXiv:1611.01491 (ReLU networks compute
   continuous piecewise-linear functions).
.. [2] P. Orlik, H. Terao. Arrangements of Hyperplanes. Springer (1992), ch. 2; R. P. Stanley, An
   introduction to hyperplane arrangements (2007), lecture 1 (cells, faces, flats, essentialisation).
"""

from __future__ import annotations

import dataclasses

import math
import random
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..backends.evaluator import evaluate
from ..domain import RealSpace
from ..ir.graph import Network
from ..ir.layers import to_layers
from .flats import FlatBudgetExceeded, enumerate_flats, essential_coordinates, primitive_rows
from ..deadline import Deadline
from ..status import Status
from .results import ExactnessResult

__all__ = ["TwoLayerForm", "ArrangementProof", "two_layer_form", "network_hyperplanes", "integer_layers",
           "integer_forward", "check_exact_arrangement", "prove_by_arrangement", "arrangement_certificate",
           "MAX_UNIT_DIRECTIONS", "MAX_FORMS", "MAX_CANDIDATES"]

MAX_UNIT_DIRECTIONS = 16  # a second-layer unit reading h first-layer hyperplanes has 2^h linear forms
MAX_FORMS = 4_000_000
MAX_CANDIDATES = 400_000_000
ARRANGEMENT_FORMAT = "verify-arrangement/1"


def _primitive(v) -> tuple[tuple[int, ...], Fraction] | None:
    """``v = s * h`` with ``h`` a primitive integer vector whose first non-zero entry is positive; ``(h, s)``."""
    v = [Fraction(t) for t in v]
    lead = next((t for t in v if t != 0), None)
    if lead is None:
        return None
    den = math.lcm(*(t.denominator for t in v))
    ints = [int(t * den) for t in v]
    g = math.gcd(*ints)
    h = [t // g for t in ints]
    if h[next(i for i, t in enumerate(h) if t != 0)] < 0:
        h = [-t for t in h]
    first = next(i for i, t in enumerate(h) if t != 0)
    return tuple(h), v[first] / h[first]


@dataclass
class TwoLayerForm:
    """``N_o(x) = sum_F b_F relu(F(x)) + G(x)`` for one output (module docstring).

    ``directions[k]`` is a primitive integer vector ``h_k``; a first-layer function is a pair
    ``(a, l)``: ``a`` maps direction index -> coefficient of ``relu(<h_k, x>)``, ``l`` the linear part.
    ``units`` lists ``(b_F, a_F, l_F)``; ``rest`` is ``G``.
    """

    d: int
    directions: list
    units: list
    rest: tuple

    def active_directions(self) -> set:
        used = {k for _, a, _ in self.units for k, v in a.items() if v != 0}
        return used | {k for k, v in self.rest[0].items() if v != 0}


def _add_scaled(acc_a: dict, acc_l: list, a: dict, l, c: Fraction) -> None:
    for k, v in a.items():
        acc_a[k] = acc_a.get(k, 0) + c * v
    for i, v in enumerate(l):
        acc_l[i] += c * v


def two_layer_form(net: Network) -> list[TwoLayerForm] | str:
    """The canonical form of every output of a bias-free layered network with <= 2 hidden layers,
    or a one-line reason why the network does not have that shape."""
    layers = to_layers(net)
    if layers is None:
        return "the network is not layered (skip connections or max nodes)"
    if len(layers) > 3:
        return f"the network has {len(layers) - 1} hidden layers (this route handles at most 2)"
    if any(b != 0 for layer in layers for b in layer.bias):
        return "the network has non-zero biases (the route needs a positively homogeneous network)"
    d = net.n_inputs
    directions: dict = {}
    units1 = []  # per first-layer unit: (direction index, scale > 0, negative?) or None for a zero row
    if len(layers) >= 2:
        for row in layers[0].weights:
            split = _primitive(row)
            if split is None:
                units1.append(None)
                continue
            h, s = split
            k = directions.setdefault(h, len(directions))
            units1.append((k, abs(s), s < 0))
    dirs = list(directions)

    def layer1_function(weights) -> tuple[dict, list]:
        a: dict = {}
        l = [Fraction(0)] * d
        for w, u in zip(weights, units1):
            if w == 0 or u is None:
                continue
            k, s, neg = u
            a[k] = a.get(k, 0) + w * s
            if neg:  # relu(-s h.x) = s relu(h.x) - s h.x
                for i, t in enumerate(dirs[k]):
                    l[i] -= w * s * t
        return {k: v for k, v in a.items() if v != 0}, l

    forms = []
    for o in range(net.n_outputs):
        if len(layers) == 1:
            forms.append(TwoLayerForm(d, dirs, [], ({}, list(layers[0].weights[o]))))
            continue
        if len(layers) == 2:
            forms.append(TwoLayerForm(d, dirs, [], layer1_function(layers[1].weights[o])))
            continue
        merged: dict = {}
        rest_a: dict = {}
        rest_l = [Fraction(0)] * d
        for row, w_out in zip(layers[1].weights, layers[2].weights[o]):
            if w_out == 0:
                continue
            a, l = layer1_function(row)
            lead = next((a[k] for k in sorted(a) if a[k] != 0), None)
            if lead is None:
                lead = next((t for t in l if t != 0), None)
            if lead is None:
                continue  # relu(0) = 0
            t = abs(lead)
            a_hat = {k: v / lead for k, v in a.items()}
            l_hat = [v / lead for v in l]
            key = (tuple(sorted(a_hat.items())), tuple(l_hat))
            merged[key] = merged.get(key, 0) + w_out * t
            if lead < 0:  # relu(-t F) = t relu(F) - t F
                _add_scaled(rest_a, rest_l, a_hat, l_hat, -w_out * t)
        units = [(b, dict(ka), list(kl)) for (ka, kl), b in merged.items() if b != 0]
        forms.append(TwoLayerForm(d, dirs, units, ({k: v for k, v in rest_a.items() if v != 0}, rest_l)))
    return forms


def _subset_forms(a: dict, l, dirs) -> np.ndarray:
    """Integer normals of ``sum_{k in S} a_k h_k + l`` over all subsets ``S`` of the directions read."""
    ks = sorted(a)
    den = math.lcm(*(Fraction(v).denominator for v in list(a.values()) + list(l)))
    V = [[int(a[k] * den) * t for t in dirs[k]] for k in ks]
    w = [int(v * den) for v in l]
    s = len(ks)
    bound = (sum(max((abs(t) for t in row), default=0) for row in V) + max((abs(t) for t in w), default=0))
    dt = np.int64 if bound < 2 ** 62 else object
    B = ((np.arange(2 ** s)[:, None] >> np.arange(s)[None, :]) & 1).astype(dt)
    Vm = np.array(V, dtype=dt).reshape(s, len(w))
    return B @ Vm + np.array(w, dtype=dt)[None, :]


def network_hyperplanes(forms: list[TwoLayerForm], windows) -> list[tuple[int, ...]] | str:
    """The normals of the arrangement ``A`` (module docstring), primitive and deduplicated, or a reason."""
    found: set = set()
    d = forms[0].d
    for f in forms:
        for k in f.active_directions():
            found.add(tuple(f.directions[k]))
        for _, a, l in f.units:
            if len(a) > MAX_UNIT_DIRECTIONS:
                return (f"a second-layer unit reads {len(a)} first-layer hyperplanes (limit {MAX_UNIT_DIRECTIONS}: "
                        f"2^{len(a)} linear pieces)")
            rows, _ = primitive_rows(_subset_forms(a, l, f.directions))
            found.update(map(tuple, rows.tolist()))
            if len(found) > MAX_FORMS:
                return f"more than {MAX_FORMS} distinct hyperplanes"
    for w in windows:
        for i in w:
            for j in w:
                if i < j:
                    found.add(tuple(1 if t == i else (-1 if t == j else 0) for t in range(d)))
    return sorted(tuple(int(t) for t in h) for h in found)


def integer_layers(net: Network) -> list[tuple[np.ndarray, int]]:
    """Each layer of a bias-free layered network as ``(M, q)``: integer matrix ``M = q W``, ``q > 0``."""
    out = []
    for layer in to_layers(net):
        q = math.lcm(*(w.denominator for row in layer.weights for w in row)) if layer.weights else 1
        ints = [[int(w * q) for w in row] for row in layer.weights]
        big = max((abs(v) for row in ints for v in row), default=0) >= 2 ** 62
        out.append((np.array(ints, dtype=object if big else np.int64), q))
    return out


def integer_forward(int_layers, X: np.ndarray) -> np.ndarray:
    """``Q N(x)`` for integer rows ``x`` of ``X`` (``Q`` the product of the layer scales), exactly.

    A layer's product is done in float64 (BLAS) only when a bound shows every partial sum is an integer
    below 2^53 (then no rounding happens), in int64 when below 2^62, else in Python integers.
    """
    width = max(len(M) for M, _ in int_layers)
    rows = max(1, (1 << 22) // max(width, 1))
    if len(X) > rows:  # bounded memory: at most ~4M values per layer at a time
        return np.concatenate([integer_forward(int_layers, X[i:i + rows]) for i in range(0, len(X), rows)])
    bound = int(np.abs(X).max()) if X.size else 0
    for M, _q in int_layers:
        bound *= int(np.abs(M).sum(axis=1).max()) if M.size else 0
        if bound >= 2 ** 53 or M.dtype == object:
            break
    else:
        if X.dtype != object:
            # Every value and partial sum is an integer below 2^53 in every layer: float64 is exact.
            Z = X.astype(np.float64)
            for li, (M, _q) in enumerate(int_layers):
                Z = Z @ M.T.astype(np.float64)
                if li < len(int_layers) - 1:
                    np.maximum(Z, 0, out=Z)
            return Z.astype(np.int64)
    Z = X
    for li, (M, _q) in enumerate(int_layers):
        zmax = int(np.abs(Z).max()) if Z.size else 0
        rowsum = int(np.abs(M).sum(axis=1).max()) if M.size else 0
        bound = zmax * rowsum
        if bound < 2 ** 53 and M.dtype != object and Z.dtype != object:
            Z = np.rint(Z.astype(np.float64) @ M.T.astype(np.float64)).astype(np.int64)
        elif bound < 2 ** 62 and M.dtype != object and Z.dtype != object:
            Z = Z.astype(np.int64) @ M.T.astype(np.int64)
        else:
            Z = Z.astype(object) @ M.T.astype(object)
        if li < len(int_layers) - 1:
            Z = np.maximum(Z, 0)
    return Z


@dataclass
class ArrangementProof:
    """What a PROVED result rests on: the arrangement, its flats, the points and the values there."""

    hyperplanes: list
    pivots: list
    rank: int
    lineality: list
    flat_indices: dict  # rank j -> list of index tuples (ranks 2 .. k-1; rank 1 is every hyperplane)
    rays: list  # lifted integer directions (one per line; both signs evaluated)
    stats: dict = field(default_factory=dict)

    def certificate(self, net: Network, result=None) -> dict:
        """The ``verify-arrangement/1`` certificate of this proof (:func:`arrangement_certificate`; the
        proof holds all it needs, ``result`` is not read)."""
        return arrangement_certificate(net, self)


def _reference_scaled(X: np.ndarray, windows, Q: int) -> np.ndarray:
    cols = [X[:, list(w)].max(axis=1) for w in windows]
    R = np.stack(cols, axis=1)
    return R.astype(object) * Q if R.dtype == object or Q >= 2 ** 20 else R * Q


def _first_mismatch(net, int_layers, X, Q) -> tuple | None:
    """First row of ``X`` where some output differs from its max, confirmed by the exact evaluator."""
    Y = integer_forward(int_layers, X)
    R = _reference_scaled(X, net.windows, Q)
    bad = np.nonzero(np.any(Y != R, axis=1))[0]
    for i in bad[:8]:
        point = tuple(Fraction(int(v)) for v in X[i])
        vals = evaluate(net, point)
        for o, w in enumerate(net.windows):
            ref = max(point[j] for j in w)
            if vals[o] != ref:
                return point, o, vals[o], ref
    return None


def prove_by_arrangement(net: Network, *, timeout: float | None = None, samples: int = 64,
                         seed: int = 0) -> tuple[ExactnessResult, ArrangementProof | None]:
    """Decide ``N == max`` on R^d by the arrangement argument; ``(result, proof or None)``."""
    deadline = Deadline(timeout)
    d = net.n_inputs
    domain = RealSpace(d)

    def unknown(reason: str) -> tuple[ExactnessResult, None]:
        return ExactnessResult(Status.UNKNOWN, domain, deadline.elapsed(), backend="arrangement",
                               reason=reason), None

    if net.windows is None:
        return unknown("the network has several outputs and no windows")
    forms = two_layer_form(net)
    if isinstance(forms, str):
        return unknown(forms)
    int_layers = integer_layers(net)
    Q = math.prod(q for _, q in int_layers)
    rnd = random.Random(seed)
    X = np.array([[rnd.randint(-2 ** 20, 2 ** 20) for _ in range(d)] for _ in range(samples)],
                 dtype=np.int64).reshape(samples, d)
    bad = _first_mismatch(net, int_layers, X, Q) if samples else None
    if bad is not None:
        return _refuted(domain, deadline, bad, "a random integer point"), None
    hyper = network_hyperplanes(forms, net.windows)
    if isinstance(hyper, str):
        return unknown(hyper)
    pivots, k, lineality = essential_coordinates(hyper, d)
    stats = {"hyperplanes": len(hyper), "rank": k, "lineality_dim": len(lineality)}
    A = np.array([[h[p] for p in pivots] for h in hyper], dtype=np.int64).reshape(len(hyper), k)
    try:
        flats = enumerate_flats(A, deadline=deadline, max_candidates=MAX_CANDIDATES)
    except FlatBudgetExceeded as exc:
        return unknown(f"{exc} ({len(hyper)} hyperplanes of rank {k})")
    rays = np.zeros((len(flats.rays), d), dtype=flats.rays.dtype)
    if len(flats.rays):
        rays[:, pivots] = flats.rays
    stats.update({"flats": {str(j): len(v) for j, v in flats.indices.items()}, "rays": len(rays),
                  "intersections": flats.candidates})
    L = np.array(lineality, dtype=np.int64).reshape(len(lineality), d)
    points = np.concatenate([rays, -rays, L, -L]).astype(rays.dtype if rays.dtype == object else np.int64)
    if deadline.expired():
        return unknown("deadline reached before the rays were evaluated")
    bad = _first_mismatch(net, int_layers, points, Q)
    if bad is not None:
        return _refuted(domain, deadline, bad, "a ray of the arrangement"), None
    from ..bounds.depth import check_depth_consistency

    ancestors_weights = [w for w in net.weights()]
    for window in net.windows:
        check_depth_consistency(net.hidden_layers, ancestors_weights, len(window))
    proof = ArrangementProof(hyper, pivots, k, lineality,
                             {j: [tuple(map(int, r)) for r in v.tolist()] for j, v in flats.indices.items() if j >= 2},
                             [tuple(int(t) for t in r) for r in rays.tolist()], stats)
    reason = (f"N is linear on every cell of a central arrangement of {len(hyper)} hyperplanes (rank {k}); "
              f"N == max at both half-lines of all {len(rays)} lines of rank {k - 1} and on the "
              f"{len(lineality)}-dimensional lineality space (exact integer evaluation)")
    res = ExactnessResult(Status.PROVED, domain, deadline.elapsed(), backend="arrangement", reason=reason,
                          stats=stats)
    return res, proof


def _refuted(domain, deadline, bad, where: str) -> ExactnessResult:
    point, o, nv, rv = bad
    return ExactnessResult(Status.REFUTED, domain, deadline.elapsed(), counterexample=point, output_index=o,
                           network_value=nv, reference_value=rv, backend="arrangement",
                           reason=f"counterexample at {where}, confirmed by exact evaluation")


def check_exact_arrangement(net: Network, timeout: float | None = None) -> ExactnessResult:
    """``N == max`` on all of R^d by the arrangement argument (PROVED, REFUTED, or UNKNOWN with a reason).

    UNKNOWN, quickly, when the route does not apply: biases, more than two hidden layers, a unit reading
    more than :data:`MAX_UNIT_DIRECTIONS` hyperplanes, or too many flats for the budget or ``timeout``.

    >>> from verify.constructions import max_tree
    >>> check_exact_arrangement(max_tree(4, gadget="B")).status
    <Status.PROVED: 'PROVED'>
    """
    result, proof = prove_by_arrangement(net, timeout=timeout)
    if proof is not None:
        result = dataclasses.replace(result, proof=proof)  # for verify.certificates.certificate_for
    return result


def arrangement_certificate(net: Network, proof: ArrangementProof) -> dict:
    """A self-contained certificate (format ``verify-arrangement/1``) of a PROVED result.

    Holds the network and its hash, the hyperplanes, pivots, lineality basis, every flat of ranks
    2 .. k-1 as indices of hyperplanes cutting it out, the ray directions, and the exact values
    ``N(r), N(-r)`` at every ray (which equal ``max``).
    """
    from ..certificates import canonical_network
    from ..io.json_format import network_hash, network_to_mapping
    from ..numbers import to_text
    from .. import __version__

    net = canonical_network(net)
    int_layers = integer_layers(net)
    Q = math.prod(q for _, q in int_layers)
    R = np.array(proof.rays, dtype=object).reshape(len(proof.rays), net.n_inputs)
    if R.size and int(np.abs(R).max()) < 2 ** 40:
        R = R.astype(np.int64)
    values = []
    if len(R):
        Yp = integer_forward(int_layers, R)
        Yn = integer_forward(int_layers, -R)
        values = [[to_text(Fraction(int(a), Q)) for a in Yp[i]] + [to_text(Fraction(int(b), Q)) for b in Yn[i]]
                  for i in range(len(R))]
    return {
        "format": ARRANGEMENT_FORMAT,
        "query": "exact",
        "status": "PROVED",
        "network_sha256": network_hash(net),
        "network": network_to_mapping(net),
        "domain": RealSpace(net.n_inputs).to_json(),
        "made_by": f"verify {__version__}",
        "hyperplanes": [list(h) for h in proof.hyperplanes],
        "pivots": list(proof.pivots),
        "rank": proof.rank,
        "lineality": [list(v) for v in proof.lineality],
        "flats": {str(j): [list(t) for t in v] for j, v in sorted(proof.flat_indices.items())},
        "rays": [list(r) for r in proof.rays],
        "values": values,
    }
