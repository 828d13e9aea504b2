"""Layer-level comparison of a model with max pooling and the same model with the pooling replaced.

A practitioner's question: "I replaced the max pooling in my CNN by a ReLU sub-network. What is the
exact worst-case difference of each window, and what can it do at the output?" :func:`pool_replacement`
answers it in four steps, all exact:

1. **Matching** (on the imported graphs, by canonical forms, :class:`verify.ir.canonical.Canon`, with
   inputs labelled by their index): the pooling layer of MODEL is its max nodes that read no other max
   node; window ``w`` reads the values ``T_w`` (in kernel order). The *trunk* (everything below the
   pooling) must appear in REPLACEMENT with the same canonical ids (the same weights). In REPLACEMENT, a
   node outside the trunk is *local* to window ``w`` when everything it reads from the trunk is built
   from ``T_w``'s units; the replacement of window ``w`` is the one local value the rest of REPLACEMENT
   reads (its *exit*). Finally the rest (the head) must be the same function in both: MODEL's outputs
   with each max node replaced by a placeholder and REPLACEMENT's with each exit replaced by the same
   placeholder get equal canonical ids, output by output. Any failure is one line saying which.
2. **Bounds** on the pooling inputs over the input box, from the layers above: exact interval arithmetic
   (rounded outward to multiples of 2^-32) or LP bound tightening (:func:`verify.backends.bounds.sound_bounds`).
3. **Windows**: the exact ``sup (R_w - max_w)`` and ``sup (max_w - R_w)`` over the box of those bounds,
   through :func:`verify.analysis.decompose.decomposed_difference` (identical windows on identical boxes
   are solved once). The box contains every window the input box reaches, so these are exact for the
   relaxed question and sound upper bounds for the reachable one.
4. **Output**: a sound bound on ``sup (REPLACEMENT_j - MODEL_j)`` and ``sup (MODEL_j - REPLACEMENT_j)``
   through the head: by Clarke's mean value theorem, ``H_j(p') - H_j(p) = sum_w g_w (p'_w - p_w)`` with
   ``g`` in the Clarke gradient somewhere on the segment, enclosed by exact interval bounds of the head's
   Jacobian over a box holding both the pooled values ``p`` and the replaced ones ``p'``; each term is an
   interval product with ``p'_w - p_w`` in ``[-sup_under_w, sup_over_w]``. For a linear head on disjoint
   windows this is the exact worst case over the pooling-input box. Optionally (``whole_model=True``,
   small models) the exact worst-case difference of the two whole models over the input box.

Conventions: ``over`` is REPLACEMENT above MODEL (the replacement's error upward, as ``sup_over`` of
:func:`verify.analysis.worst_case.worst_case_error`), ``under`` below.

References
----------
F. H. Clarke, Optimization and Nonsmooth Analysis, Wiley 1983: the mean value theorem (Lebourg) and the
chain rule for generalized gradients, which the interval Jacobian encloses.
M. Jordan and A. G. Dimakis, "Exactly computing the local Lipschitz constant of ReLU networks",
NeurIPS 2020 (Clarke Jacobians of ReLU networks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Sequence

import networkx as nx

from ..backends.intervals import interval_bounds
from ..domain import Box
from ..errors import DomainError, ToolkitBugError, VerifyError
from ..ir.builder import Expr, GraphBuilder
from ..ir.canonical import Canon
from ..ir.graph import Network
from ..ir.ops import Op
from ..ir.walk import Handlers, walk
from ..numbers import to_text
from ..deadline import Deadline
from ..status import Status
from .decompose import OutputDifference, decomposed_difference

__all__ = ["MatchError", "PoolLayerMatch", "WindowReport", "OutputBound", "PoolReplacementReport", "match_pool_layer",
           "pool_replacement", "interval_jacobian"]


class MatchError(VerifyError):
    """MODEL and REPLACEMENT do not have the shape :func:`match_pool_layer` assumes (the message says where)."""


@dataclass(frozen=True)
class PoolLayerMatch:
    """Where the pooling layer is in both networks, and the sub-networks built from that.

    ``frontier`` names the values the windows read (as nodes of MODEL: units, i.e. ReLU outputs or
    inputs); ``layer_model`` / ``layer_replacement`` compute, from those values, the max of each window
    and its replacement (one output per window); ``head`` computes MODEL's outputs from the pooled values.
    """

    pool_nodes: tuple
    exits: tuple
    windows: tuple[tuple[int, ...], ...]  # positions in the frontier read by each window
    frontier: tuple
    layer_model: Network
    layer_replacement: Network
    head: Network


def _load(net, what: str) -> Network:
    if isinstance(net, Network):
        return net
    if isinstance(net, (str, os.PathLike)):
        path = os.fspath(net)
        if path.lower().endswith(".onnx"):
            from ..io.onnx_import import import_onnx

            return import_onnx(path, keep_layers=True)
        from ..io.json_format import load_network

        return load_network(path)
    raise VerifyError(f"{what}: expected a Network or a path, got {type(net).__name__}")


def _units(canon: Canon, i: int) -> frozenset:
    form = canon.form(i)
    return frozenset([i]) if form is None else frozenset(u for u, _ in form[0])


def match_pool_layer(model: Network, replacement: Network) -> PoolLayerMatch:
    """Find the pooling layer of ``model`` and what replaces each window in ``replacement``.

    Assumes (and checks, raising one line that says which check failed): ``model`` has max nodes; the
    pooling layer is those that read no other max node; the values below it are computed identically
    in ``replacement``; the head of ``model`` reads the layers below only through the pooling; each
    window's replacement is read by the rest of ``replacement`` through one node; the rest of
    ``replacement`` is the same function of the replaced windows as ``model``'s head of the pooled ones.
    """
    if model.n_inputs != replacement.n_inputs or model.n_outputs != replacement.n_outputs:
        raise MatchError(f"MODEL has {model.n_inputs} inputs and {model.n_outputs} outputs, REPLACEMENT "
                         f"{replacement.n_inputs} and {replacement.n_outputs}: they must be the same")
    g = model.graph
    # In the order the importer made them (for a MaxPool layer: channel by channel, row-major).
    pools = [m for m in g.nodes if model.op(m) is Op.MAX and not any(model.op(a) is Op.MAX for a in nx.ancestors(g, m))]
    if not pools:
        raise MatchError("MODEL has no max nodes: nothing to compare (import the model with its MaxPool layers)")
    canon = Canon()
    ids_m = canon.ids(model)
    trunk = set()
    for m in pools:
        trunk |= nx.ancestors(g, m)
    pool_set = set(pools)
    for n in model.order:
        if n in trunk or n in pool_set:
            continue
        for p in model.preds(n):
            if p in trunk:
                raise MatchError(f"MODEL's layers after the pooling read node {p!r} from before it (a skip "
                                 f"connection around the pooling): not supported")
    trunk_ids = {ids_m[n] for n in trunk}
    t_ids = [[ids_m[p] for p in model.preds(m)] for m in pools]
    u_sets = [frozenset().union(*(_units(canon, t) for t in ts)) for ts in t_ids]

    ids_r = canon.ids(replacement)
    r_trunk = {n for n in replacement.order if ids_r[n] in trunk_ids and replacement.op(n) is not Op.OUTPUT}
    missing = {i for ts in t_ids for t in ts for i in _units(canon, t)} - {ids_r[n] for n in r_trunk}
    missing -= {ids_m[n] for n in model.inputs}  # inputs are always there
    if missing:
        raise MatchError("REPLACEMENT does not compute MODEL's pooling inputs: the layers before the pooling differ "
                         "(weights or structure)")
    everything = frozenset(range(len(pools)))
    win: dict = {}
    for n in replacement.order:
        if n in r_trunk or replacement.op(n) is Op.INPUT:
            continue
        if replacement.op(n) is Op.OUTPUT:
            win[n] = frozenset()
            continue
        cands = everything
        for p in replacement.preds(n):
            if p in r_trunk or replacement.op(p) is Op.INPUT:
                us = _units(canon, ids_r[p])
                cands = cands & frozenset(w for w, u in enumerate(u_sets) if us <= u)
            else:
                cands = cands & win[p]
        win[n] = cands
    exits: list = []
    locals_: list = []
    for w in range(len(pools)):
        local = [n for n, c in win.items() if c == frozenset([w])]
        locals_.append(local)
        out = [n for n in local if any(win.get(s) != frozenset([w]) for s in replacement.graph.successors(n))]
        distinct = {}
        for n in out:
            distinct.setdefault(ids_r[n], n)
        if not distinct:
            raise MatchError(f"REPLACEMENT has no sub-network replacing window {w} (MODEL's max node {pools[w]!r}): "
                             f"nothing read by the rest of the model is computed from that window alone")
        if len(distinct) > 1:
            raise MatchError(f"window {w} (MODEL's max node {pools[w]!r}): the rest of REPLACEMENT reads "
                             f"{len(distinct)} different values computed from this window alone (e.g. nodes "
                             f"{', '.join(map(repr, list(distinct.values())[:3]))}), not one output: the replacement's "
                             f"last linear layer was multiplied into the next one (import the ONNX file with "
                             f"keep_layers=True)")
        exits.append(next(iter(distinct.values())))
    if len(set(exits)) != len(exits):
        raise MatchError("two windows share one replacement node: the windows cannot be told apart")
    # The heads must agree: the same function of the placeholders, output by output.
    head_m = canon.ids(model, leaves={m: ("pool", w) for w, m in enumerate(pools)})
    want = [head_m[o] for o in model.outputs]

    def heads_agree(ex):
        head_r = canon.ids(replacement, leaves={e: ("pool", w) for w, e in enumerate(ex)})
        return [head_r[o] for o in replacement.outputs] == want

    if not heads_agree(exits):
        # With one window everything after the replacement is "local" too: the replacement ends at the
        # latest node below which the heads agree.
        found = None
        if len(pools) == 1:
            for n in reversed([n for n in replacement.order if n in set(locals_[0])]):
                if heads_agree([n]):
                    found = [n]
                    break
        if found is None:
            head_r = canon.ids(replacement, leaves={e: ("pool", w) for w, e in enumerate(exits)})
            j = next(j for j, o in enumerate(replacement.outputs) if head_r[o] != want[j])
            raise MatchError(f"output {j}: the layers after the pooling differ between MODEL and REPLACEMENT "
                             f"(the replacement must change the pooling only)")
        exits = found
    # The frontier: every unit the windows read, in window order; as nodes of MODEL.
    node_of = {}
    for n in model.order:
        if n in trunk and model.op(n) in (Op.INPUT, Op.RELU, Op.MAX):
            node_of.setdefault(ids_m[n], n)
    frontier_ids: list = []
    for ts in t_ids:
        for t in ts:
            for u in sorted(_units(canon, t)):
                if u not in frontier_ids:
                    frontier_ids.append(u)
    index = {u: k for k, u in enumerate(frontier_ids)}
    windows = tuple(tuple(sorted(index[u] for u in u_sets[w])) for w in range(len(pools)))
    layer_m = _over_frontier(model, ids_m, canon, index, pools, set(trunk), "max pooling layer of MODEL")
    layer_r = _over_frontier(replacement, ids_r, canon, index, exits, r_trunk, "replacement layer of REPLACEMENT")
    head = _head(model, pools)
    return PoolLayerMatch(tuple(pools), tuple(exits), windows, tuple(node_of[u] for u in frontier_ids),
                          layer_m, layer_r, head)


def _over_frontier(net: Network, ids: dict, canon: Canon, index: dict, targets, trunk: set, name: str) -> Network:
    """A network computing ``targets`` of ``net`` from the frontier values (input k = frontier value k)."""
    b = GraphBuilder(len(index))
    xs = b.input_exprs()

    def from_form(i):
        form = canon.form(i)
        if i in index:
            return xs[index[i]]
        if form is None or any(u not in index for u, _ in form[0]):
            raise MatchError(f"{name}: a window reads a value from before the pooling that is not one of the pooling inputs")
        e = Expr(const=form[1])
        for u, c in form[0]:
            e = e + xs[index[u]] * c
        return e

    def fixed(n):  # the frontier (the trunk, the inputs) is read through its canonical forms
        return from_form(ids[n]) if n in trunk or net.op(n) is Op.INPUT else None

    def outside(n):  # pragma: no cover - outputs are never inside a window
        raise ToolkitBugError(f"unexpected node {n!r} in a window")

    replay = _Replay(net, b, fixed, outside, outside)
    for t in targets:
        b.output(replay.value(t))
    return b.build(name=name)


def _head(model: Network, pools: Sequence) -> Network:
    """MODEL after the pooling, as a function of the pooled values (input w = max node w)."""
    b = GraphBuilder(len(pools))
    xs = b.input_exprs()
    pooled = {m: xs[w] for w, m in enumerate(pools)}

    def reads_input(n):  # pragma: no cover - the head reads no input (checked by the matching)
        raise MatchError(f"the head reads input {n!r} directly")

    replay = _Replay(model, b, pooled.get, reads_input, None)
    for o in model.outputs:
        b.output(replay.value(o))
    return b.build(name="head of MODEL")


class _Replay:
    """A part of a network replayed into a builder, from the nodes whose value is ``fixed(n)`` (not None)
    down to the targets asked for (memoised recursion through the table ``pool.replay``). ``on_input`` /
    ``on_output`` handle an input or an output met on the way (``on_output=None``: read through)."""

    def __init__(self, net: Network, b: GraphBuilder, fixed, on_input, on_output):
        self.net, self.b, self.fixed, self.on_input, self.on_output = net, b, fixed, on_input, on_output
        self.memo: dict = {}

    def value(self, n):
        if n in self.memo:
            return self.memo[n]
        v = self.fixed(n)
        if v is None:
            v = POOL_REPLAY[self.net.op(n)](self, self.net, n, None)
        self.memo[n] = v
        return v


def _replay_input(r: _Replay, net, n, _):
    return r.on_input(n)


def _replay_affine(r: _Replay, net, n, _):
    v = Expr(const=net.bias(n))
    for p, w in net.affine_terms(n):
        v = v + r.value(p) * w
    return v


def _replay_relu(r: _Replay, net, n, _):
    return r.b.relu(r.value(net.single_pred(n)))


def _replay_max(r: _Replay, net, n, _):
    return r.b.max([r.value(p) for p in net.preds(n)])


def _replay_output(r: _Replay, net, n, _):
    return r.value(net.single_pred(n)) if r.on_output is None else r.on_output(n)


POOL_REPLAY = Handlers("pool.replay", {Op.INPUT: _replay_input, Op.AFFINE: _replay_affine, Op.RELU: _replay_relu,
                                       Op.MAX: _replay_max, Op.OUTPUT: _replay_output})


# -- interval Jacobian ---------------------------------------------------------------------------------
def interval_jacobian(net: Network, box: Box) -> list[list[tuple[Fraction, Fraction]]]:
    """Exact interval bounds ``J[j][i] = (lo, hi)`` of ``d net_j / d x_i`` over ``box``, enclosing the
    Clarke generalized Jacobian at every point of the box (forward mode in interval arithmetic; an
    unstable ReLU's derivative is the interval ``[0, 1]``, a max node's the hull of its possible arguments').

    >>> from verify.constructions import max_tree
    >>> interval_jacobian(max_tree(2, "A"), Box((Fraction(2), Fraction(-1)), (Fraction(3), Fraction(1))))
    [[(Fraction(1, 1), Fraction(1, 1)), (Fraction(0, 1), Fraction(0, 1))]]
    """
    jac = _Jacobian(box, net.n_inputs)
    walk(net, INTERVAL_JACOBIAN, jac)
    grad = jac.grad
    return [grad[o] for o in net.outputs]


class _Jacobian:
    """Interval values ``val`` and interval gradients ``grad`` (one interval per input) of every node."""

    def __init__(self, box: Box, d: int):
        self.box, self.d = box, d
        self.zero = (Fraction(0), Fraction(0))
        self.val: dict = {}
        self.grad: dict = {}


def _jac_input(j: _Jacobian, net, n, _):
    i = net.graph.nodes[n]["index"]
    j.val[n] = (j.box.lo[i], j.box.hi[i])
    j.grad[n] = [(Fraction(1), Fraction(1)) if k == i else j.zero for k in range(j.d)]


def _jac_affine(j: _Jacobian, net, n, _):
    d = j.d
    lo = hi = net.bias(n)
    gl = [Fraction(0)] * d
    gh = [Fraction(0)] * d
    for p, w in net.affine_terms(n):
        plo, phi = j.val[p]
        lo, hi = (lo + w * plo, hi + w * phi) if w > 0 else (lo + w * phi, hi + w * plo)
        for k, (a, c) in enumerate(j.grad[p]):
            if w > 0:
                gl[k] += w * a
                gh[k] += w * c
            else:
                gl[k] += w * c
                gh[k] += w * a
    j.val[n] = (lo, hi)
    j.grad[n] = list(zip(gl, gh))


def _jac_relu(j: _Jacobian, net, n, _):
    p = net.single_pred(n)
    plo, phi = j.val[p]
    if phi <= 0:
        j.val[n], j.grad[n] = j.zero, [j.zero] * j.d
    elif plo >= 0:
        j.val[n], j.grad[n] = j.val[p], j.grad[p]
    else:
        j.val[n] = (Fraction(0), phi)
        j.grad[n] = [(min(a, Fraction(0)), max(c, Fraction(0))) for a, c in j.grad[p]]


def _jac_max(j: _Jacobian, net, n, _):
    ps = net.preds(n)
    top = max(j.val[p][0] for p in ps)
    live = [p for p in ps if j.val[p][1] >= top]  # the arguments that can be the max somewhere
    j.val[n] = (top, max(j.val[p][1] for p in ps))
    j.grad[n] = [(min(j.grad[p][k][0] for p in live), max(j.grad[p][k][1] for p in live)) for k in range(j.d)]


def _jac_output(j: _Jacobian, net, n, _):
    p = net.single_pred(n)
    j.val[n], j.grad[n] = j.val[p], j.grad[p]


INTERVAL_JACOBIAN = Handlers("pool.interval-jacobian", {Op.INPUT: _jac_input, Op.AFFINE: _jac_affine,
                                                        Op.RELU: _jac_relu, Op.MAX: _jac_max, Op.OUTPUT: _jac_output})


def _interval_product_hi(g: tuple, lo: Fraction, hi: Fraction) -> Fraction:
    return max(g[0] * lo, g[0] * hi, g[1] * lo, g[1] * hi)


# -- the report --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WindowReport:
    """Exact worst-case difference of one window's replacement against its max, over the bounds box.

    ``sup_over = sup (R_w - max_w)``, ``sup_under = sup (max_w - R_w)``; witnesses are values of the
    window's inputs (``inputs``, nodes of MODEL) inside ``box``, re-evaluated on both original graphs;
    they lie in the bounds box, not necessarily in the image of the input box.
    """

    window: int
    model_node: Any
    replacement_node: Any
    inputs: tuple
    box: tuple[tuple[Fraction, Fraction], ...]
    piece: int
    status: Status
    sup_over: Fraction
    sup_under: Fraction
    witness_over: tuple[Fraction, ...]
    witness_under: tuple[Fraction, ...]
    upper_over: Fraction
    upper_under: Fraction

    @property
    def sup_abs(self) -> Fraction:
        return max(self.sup_over, self.sup_under)

    def to_json(self) -> dict:
        return {"window": self.window, "model_node": str(self.model_node), "replacement_node": str(self.replacement_node),
                "inputs": [str(n) for n in self.inputs], "box": [[to_text(a), to_text(b)] for a, b in self.box],
                "piece": self.piece, "status": self.status.value, "sup_over": to_text(self.sup_over),
                "sup_under": to_text(self.sup_under), "sup_abs": to_text(self.sup_abs),
                "witness_over": [to_text(v) for v in self.witness_over],
                "witness_under": [to_text(v) for v in self.witness_under],
                "upper_over": to_text(self.upper_over), "upper_under": to_text(self.upper_under)}


@dataclass(frozen=True)
class OutputBound:
    """Sound bounds of ``sup (REPLACEMENT_j - MODEL_j)`` (``bound_over``) and of ``sup (MODEL_j -
    REPLACEMENT_j)`` (``bound_under``) over the input box, from the head's interval Jacobian
    (``jacobian[w]`` bounds ``dH_j / dp_w``); ``exact`` holds the whole-model worst case when computed."""

    output: int
    bound_over: Fraction
    bound_under: Fraction
    jacobian: tuple[tuple[Fraction, Fraction], ...]
    exact: OutputDifference | None = None

    @property
    def bound_abs(self) -> Fraction:
        return max(self.bound_over, self.bound_under)

    def to_json(self) -> dict:
        return {"output": self.output, "bound_over": to_text(self.bound_over), "bound_under": to_text(self.bound_under),
                "bound_abs": to_text(self.bound_abs), "jacobian": [[to_text(a), to_text(b)] for a, b in self.jacobian],
                "exact": None if self.exact is None else self.exact.to_json()}


@dataclass(frozen=True)
class PoolReplacementReport:
    """The answer of :func:`pool_replacement`: per window, per output, and what was assumed.

    ``status`` is PROVED when every window's value is exact (and the whole-model values, if asked for);
    the output bounds are sound in any case (from the windows' upper bounds when a window is UNKNOWN).
    """

    status: Status
    domain: Box
    seconds: float
    bounds_method: str
    windows: tuple[WindowReport, ...]
    distinct_windows: int
    solver_calls: int
    outputs: tuple[OutputBound, ...]
    head_linear: bool
    assumptions: tuple[str, ...]
    stats: dict = field(default_factory=dict)

    @property
    def max_window_error(self) -> Fraction:
        return max(w.sup_abs for w in self.windows)

    @property
    def output_bound(self) -> Fraction:
        return max(o.bound_abs for o in self.outputs)

    def to_json(self) -> dict:
        return {"query": "pool-replacement", "status": self.status.value, "domain": self.domain.to_json(),
                "seconds": round(self.seconds, 6), "bounds": self.bounds_method,
                "windows": [w.to_json() for w in self.windows], "distinct_windows": self.distinct_windows,
                "solver_calls": self.solver_calls, "max_window_error": to_text(self.max_window_error),
                "outputs": [o.to_json() for o in self.outputs], "output_bound": to_text(self.output_bound),
                "head_linear": self.head_linear, "assumptions": list(self.assumptions), "stats": self.stats}


def _frontier_bounds(model: Network, box: Box, frontier, method: str, deadline: Deadline) -> list:
    from ..backends.bounds import propagate_intervals, sound_bounds

    if method == "interval":
        b = propagate_intervals(model, box)
        return [b[n] for n in frontier]
    if method != "lp":
        raise VerifyError(f"bounds must be 'interval' or 'lp', got {method!r}")
    # LP tightening needs a ReLU-only network: the trunk (everything below the pooling), its outputs the frontier.
    keep = set(model.inputs)
    for n in frontier:
        keep |= nx.ancestors(model.graph, n) | {n}
    g = nx.DiGraph(model.graph.subgraph(keep))
    outs = []
    for k, n in enumerate(frontier):
        o = ("frontier", k)
        g.add_node(o, op=Op.OUTPUT, index=k)
        g.add_edge(n, o)
        outs.append(o)
    trunk = Network(g, model.inputs, outs, name="trunk")
    b = sound_bounds(trunk, box, method="lp", deadline=deadline)
    return [b[n] for n in frontier]


def _check_on_originals(model, replacement, match: PoolLayerMatch, w: int, point, diff: Fraction, ids) -> None:
    """Re-evaluate ``R_w - max_w`` at frontier values ``point`` on the original graphs, node by node."""
    ids_m, ids_r = ids
    fixed_ids = {ids_m[n]: v for n, v in zip(match.frontier, point)}

    def run(net, ids, target):
        def fixed(n):
            return fixed_ids[ids[n]] if ids[n] in fixed_ids and net.op(n) is not Op.AFFINE else None

        def stray(n):
            raise ToolkitBugError(f"window {w}: node {n!r} reads an input that is not a pooling input")

        return _Evaluate(net, fixed, stray).value(target)

    got = run(replacement, ids_r, match.exits[w]) - run(model, ids_m, match.pool_nodes[w])
    if got != diff:
        raise ToolkitBugError(f"window {w}: the original graphs give {got} at the witness, the layer networks {diff}")


class _Evaluate:
    """Exact values of a part of a network from the nodes whose value is ``fixed(n)`` (not None): memoised
    recursion through the table ``pool.evaluate``; an input or output met on the way goes to ``stray``."""

    def __init__(self, net: Network, fixed, stray):
        self.net, self.fixed, self.stray = net, fixed, stray
        self.memo: dict = {}

    def value(self, n):
        if n in self.memo:
            return self.memo[n]
        v = self.fixed(n)
        if v is None:
            v = POOL_EVALUATE[self.net.op(n)](self, self.net, n, None)
        self.memo[n] = v
        return v


def _ev_stray(e: _Evaluate, net, n, _):
    return e.stray(n)


def _ev_affine(e: _Evaluate, net, n, _):
    return net.bias(n) + sum((w * e.value(p) for p, w in net.affine_terms(n)), Fraction(0))


def _ev_relu(e: _Evaluate, net, n, _):
    return max(e.value(net.single_pred(n)), Fraction(0))


def _ev_max(e: _Evaluate, net, n, _):
    return max(e.value(p) for p in net.preds(n))


POOL_EVALUATE = Handlers("pool.evaluate", {Op.INPUT: _ev_stray, Op.AFFINE: _ev_affine, Op.RELU: _ev_relu,
                                           Op.MAX: _ev_max, Op.OUTPUT: _ev_stray})


def pool_replacement(model, replacement, box: Box, *, bounds: str = "interval", backend: str = "auto",
                     solver=None, whole_model: bool = False, timeout: float | None = None,
                     samples: int = 256, seed: int = 0) -> PoolReplacementReport:
    """Compare MODEL (with max pooling) and REPLACEMENT (the pooling replaced) layer by layer, exactly.

    Parameters
    ----------
    model, replacement : Network or path
        ONNX paths are imported with ``keep_layers=True`` (each linear layer's result is a node, so the
        output of a replacement sub-network can be found); JSON paths are read as network files. Networks
        built from torch modules: ``import_torch(m, shape, via="onnx", keep_layers=True)``.
    box : Box
        The input domain.
    bounds : {"interval", "lp"}
        How the pooling inputs are bounded from the layers above.
    backend, solver
        The per-window engine (see :func:`verify.analysis.decompose.decomposed_difference`).
    whole_model : bool
        Also compute the exact worst-case difference of the two whole models over ``box`` (small models).
    timeout : float, optional
        For the whole query; windows not solved in time are UNKNOWN with sound brackets.

    Returns
    -------
    PoolReplacementReport
        Frozen, with ``to_json()``.
    """
    if not isinstance(box, Box):
        raise DomainError("pool_replacement needs a box (--box LO,HI)")
    deadline = Deadline(timeout)
    model = _load(model, "MODEL")
    replacement = _load(replacement, "REPLACEMENT")
    if box.dim != model.n_inputs:
        raise VerifyError(f"box has dimension {box.dim}, the models have {model.n_inputs} inputs")
    match = match_pool_layer(model, replacement)
    fb = _frontier_bounds(model, box, match.frontier, bounds, deadline)
    fbox = Box(tuple(a for a, _ in fb), tuple(b for _, b in fb))
    layer = decomposed_difference(match.layer_replacement, match.layer_model, fbox, solver=solver, backend=backend,
                                  timeout=deadline.remaining(), samples=samples, seed=seed)
    canon = Canon()
    ids = (canon.ids(model), canon.ids(replacement))
    windows = []
    for w, p in enumerate(layer.per_output):
        inputs = tuple(match.frontier[k] for k in match.windows[w])
        sub = tuple(fb[k] for k in match.windows[w])
        wo = tuple(p.witness_over[k] for k in match.windows[w])
        wu = tuple(p.witness_under[k] for k in match.windows[w])
        _check_on_originals(model, replacement, match, w, p.witness_over, p.sup_over, ids)
        _check_on_originals(model, replacement, match, w, p.witness_under, -p.sup_under, ids)
        windows.append(WindowReport(w, match.pool_nodes[w], match.exits[w], inputs, sub, p.piece, p.status,
                                    p.sup_over, p.sup_under, wo, wu, p.upper_over, p.upper_under))
    # Output bounds through the head: pooled values in [max lo, max hi]; replaced ones within the errors.
    pooled = interval_bounds(match.layer_model, fbox)
    hull_lo, hull_hi = [], []
    for w, win in enumerate(windows):
        lo, hi = pooled[match.layer_model.outputs[w]]
        hull_lo.append(min(lo, lo - win.upper_under))
        hull_hi.append(max(hi, hi + win.upper_over))
    jac = interval_jacobian(match.head, Box(tuple(hull_lo), tuple(hull_hi)))
    outputs = []
    exact = None
    if whole_model:
        exact = decomposed_difference(replacement, model, box, solver=solver, backend=backend,
                                      timeout=deadline.remaining(), samples=samples, seed=seed)
    for j in range(model.n_outputs):
        over = sum((_interval_product_hi(jac[j][w], -win.upper_under, win.upper_over) for w, win in enumerate(windows)),
                   Fraction(0))
        under = sum((_interval_product_hi(jac[j][w], -win.upper_over, win.upper_under) for w, win in enumerate(windows)),
                    Fraction(0))
        outputs.append(OutputBound(j, over, under, tuple(jac[j]), None if exact is None else exact.per_output[j]))
    head_linear = match.head.n_relus == 0 and not match.head.max_nodes
    disjoint = all(not (set(a) & set(b)) for i, a in enumerate(match.windows) for b in match.windows[i + 1:])
    assumptions = [
        f"MODEL's pooling layer: the {len(match.pool_nodes)} max nodes that read no other max node",
        "REPLACEMENT computes the same values as MODEL before the pooling, and the same function of the pooled "
        "values after it (checked exactly on canonical forms); each window's replacement reads only that window "
        "and is read through one node",
        f"the pooling inputs are bounded over the input box by {'exact interval arithmetic' if bounds == 'interval' else 'LP bound tightening'} "
        "(outward-rounded, sound); window errors are exact over the box of these bounds, which contains every "
        "window the input box reaches: sound upper bounds of the reachable errors, attained at the witnesses "
        "by values of that box, not necessarily by an input",
        "output bounds: Clarke's mean value theorem with exact interval bounds of the head's Jacobian over a box "
        "holding the pooled and the replaced values" + (
            "; the head is linear and the windows disjoint, so the bound is the exact worst case over the "
            "pooling-input box" if head_linear and disjoint else ""),
    ]
    if whole_model:
        assumptions.append("whole-model values: exact worst-case differences of the two models over the input box")
    proved = all(w.status is Status.PROVED for w in windows) and (exact is None or exact.overall.status is Status.PROVED)
    stats = {"frontier": len(match.frontier), "window_seconds": layer.stats.get("seconds"),
             "piece_seconds": [None if p.result is None else round(p.result.seconds, 6) for p in layer.pieces],
             "piece_backends": [None if p.result is None else p.result.backend for p in layer.pieces],
             "model_relus": model.n_relus, "replacement_relus": replacement.n_relus,
             "layer_relus": match.layer_replacement.n_relus}
    return PoolReplacementReport(Status.PROVED if proved else Status.UNKNOWN, box, deadline.elapsed(), bounds,
                                 tuple(windows), layer.distinct, layer.solver_calls, tuple(outputs), head_linear,
                                 tuple(assumptions), stats)

