"""The difference-network reduction: compare two networks by maximising one ReLU network.

:func:`difference_network` turns "compare output ``o`` of ``f`` and ``g``" into "maximise the output of
one ReLU-only network": both graphs are replayed into one graph with shared inputs, every ``max`` node
becomes a balanced tree of a pairwise ReLU gadget (the toolkit's one lowering of max,
:func:`verify.constructions.emulate.replay`; by default ``max(a, b) = b + relu(a - b)``, an exact
identity), and each new output is ``sign * (f_o(x) - g_o(x))``. ``g`` defaults to the max reference of
``f`` (one max per output window), which makes the difference network the error function of ``f``.

:class:`DifferenceNetwork` is the reduction ``Supremum -> Maximize``: ``sup_x sign * (f_o - g_o)`` over a
box is the maximum of the difference network's single output; ``invert`` re-evaluates the witness on
``f`` and ``g`` themselves (not only on the rewritten network) and refuses a value that does not
reproduce.

References
----------
R. Arora, A. Basu, P. Mianjy, A. Mukherjee, "Understanding deep neural networks with rectified linear
units", ICLR 2018 (arXiv:1611.01491): max of k numbers by a tree of pairwise maxima.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

from ..backends.evaluator import evaluate
from ..constructions.emulate import replay
from ..constructions.gadgets import check_gadget
from ..constructions.reference import reference_network
from ..errors import ToolkitBugError, VerifyError
from ..ir.builder import GraphBuilder
from ..ir.graph import Network
from .base import Reduction
from .problems import Maximize, Supremum

__all__ = ["difference_network", "DifferenceNetwork"]


def difference_network(f: Network, g: Network | None = None, output: int | None = None, sign: int = 1,
                       gadget: str = "skip", deadline=None) -> Network:
    """A ReLU-only network with outputs ``sign * (f_o(x) - g_o(x))`` (all outputs, or only ``output``).

    ``g = None`` is the max reference of ``f``: then the outputs are ``sign * (f_o - max over window o)``.
    Exact: every node computes a value of ``f`` or ``g`` (``max`` nodes through the gadget's identity).

    >>> from verify.constructions import max_tree, mean_network
    >>> from verify.backends.evaluator import evaluate
    >>> evaluate(difference_network(mean_network(2)), [1, 0])   # mean - max = 1/2 - 1
    (Fraction(-1, 2),)
    """
    if g is None:
        g = reference_network(f)
    if g.n_inputs != f.n_inputs or g.n_outputs != f.n_outputs:
        raise VerifyError("networks have different shapes")
    if sign not in (1, -1):
        raise VerifyError(f"sign must be 1 or -1, got {sign!r}")
    check_gadget(gadget)
    outputs = range(f.n_outputs) if output is None else [output]
    for o in outputs:
        if isinstance(o, bool) or not isinstance(o, int) or not 0 <= o < f.n_outputs:
            raise VerifyError(f"output {o!r} does not exist (the networks have {f.n_outputs})")
    b = GraphBuilder(f.n_inputs)
    vf = replay(b, f, gadget, deadline=deadline)
    vg = replay(b, g, gadget, deadline=deadline)
    for o in outputs:
        b.output((vf[f.outputs[o]] - vg[g.outputs[o]]) * sign)
    what = "outputs" if output is None else f"output {output}"
    label = f"{'' if sign == 1 else '-'}({f.name or 'f'} - {g.name or 'g'})"
    return b.build(name=f"difference of {what}: {label}")


class DifferenceNetwork(Reduction):
    """``Supremum(f, g, box, output o, sign)`` -> ``Maximize(D)`` with ``D = sign * (f_o - g_o)``.

    ``merge``: also merge parallel ReLUs of ``D`` (exact identities; fewer unstable ReLUs for the
    relaxations, :func:`verify.ir.rewrites.merge_parallel_relus`).
    """

    name = "difference-network"

    def __init__(self, merge: bool = True):
        self.merge = merge

    def accepts(self, problem) -> bool:
        return isinstance(problem, Supremum)

    def apply(self, problem: Supremum, deadline=None):
        from ..ir.rewrites import merge_parallel_relus

        d = difference_network(problem.f, problem.g, problem.output, problem.sign, deadline=deadline)
        if self.merge:
            d = merge_parallel_relus(d, deadline=deadline)
        new = Maximize(d, problem.box, problem.constraints, floor=problem.floor, stop_above=problem.stop_above,
                       samples=problem.samples, seed=problem.seed)
        return new, problem

    def apply_within(self, problem: Supremum, deadline):
        return self.apply(problem, deadline)

    def invert(self, solution, problem: Supremum):
        if solution.witness is None:
            return solution
        o, sign = problem.output, problem.sign
        value = sign * (evaluate(problem.f, solution.witness)[o] - evaluate(problem.g, solution.witness)[o])
        if value != solution.value:  # pragma: no cover - the rewrite is exact; this guards it
            raise ToolkitBugError(f"the difference network disagrees with its networks at {solution.witness}: "
                                  f"{value} != {solution.value}")
        return dataclasses.replace(solution, value=Fraction(value))
