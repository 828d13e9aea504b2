"""Catalogue family ``frontier``: two hidden layers for max of 5, 6 and the weight-2 obstruction at 7.

The public claim (msun170/relu-max6, M. Sun 2026, not peer reviewed; LITERATURE.md section 6) is settled
here from its description: the support-function sum is compiled to its 6-42-1532-1 network, which the
arrangement route proves equal to max on all of R^6, and whose certificate the independent checker
re-checks. The claimed finite-family obstruction for max of 7 is re-derived by the search and its
certificate re-checked. Consistency with the depth lower bounds: a two-hidden-layer max_6 needs
non-integer weights (Haase, Hertrich, Loho: integer weights need ceil(log2 6) = 3 hidden layers) and cannot
be braid-conforming (Grillo, Hertrich, Loho: braid-conforming needs 3 hidden layers already for max_5,
and max_5 is max_6 restricted to x_6 = x_5).
"""

from __future__ import annotations

import json
import random

from ..analysis.arrangement import arrangement_certificate, prove_by_arrangement
from ..analysis.arrangement_check import recheck_arrangement
from ..analysis.conformity import braid_nonconformity_witness
from ..status import Status
from ..analysis.search import search_max
from ..analysis.search_check import recheck_search
from ..constructions.support_sum import (compile_support_sum, load_shipped_support_sum, max6_two_hidden,
                                         orbit_sizes)
from ..numbers import to_text
from .catalogue import Computed, claim
from .claims_depth import load_max5
from .depth import check_depth_consistency, haase_integer_lower_bound

__all__: list[str] = []  # the claims register themselves with the catalogue on import


def _shape(net) -> str:
    return f"{net.n_inputs}-" + "-".join(map(str, net.widths)) + "-1"


@claim(
    id="frontier.max6.layout",
    family="frontier",
    statement="The public max_6 construction (six S6-orbits of weight-2 blocks) compiles to a 6-42-1532-1 network; "
              "its 1530 blocks are 1350 distinct polytopes (orbit sizes 360, 360, 180, 180, 180, 90: the third "
              "public orbit of 360 corner-point sets is 180 polytopes with two decompositions each)",
    source_key="sun2026",
    conditions="orbits under permuting coordinates, polytopes compared by exact vertex sets",
    expected=lambda: "6-42-1532-1; 1530 blocks; distinct 360,360,180,180,180,90 = 1350",
)
def _layout():
    public = load_shipped_support_sum("max6")
    distinct = load_shipped_support_sum("max6-orbits")
    sizes = orbit_sizes(distinct)
    net = compile_support_sum(public)
    return Computed(f"{_shape(net)}; {sum(orbit_sizes(public))} blocks; distinct "
                    f"{','.join(map(str, sizes))} = {sum(sizes)}",
                    {"public_terms": [str(s) for s in orbit_sizes(public)],
                     "coefficients": [to_text(t.coeff) for t in distinct.terms]})


def _prove_and_recheck(net) -> tuple[str, dict]:
    res, proof = prove_by_arrangement(net)
    if res.status is not Status.PROVED:
        return f"{res.status}: {res.reason}", {}
    cert = json.loads(json.dumps(arrangement_certificate(net, proof)))
    out = recheck_arrangement(cert)
    detail = {k: str(v) for k, v in res.stats.items()}
    return ("PROVED on R^%d, certificate holds" % net.n_inputs) if out.holds else f"certificate fails: {out.reason}", detail


@claim(
    id="frontier.max6.two-hidden",
    family="frontier",
    statement="The 6-42-1532-1 network of the public max_6 construction computes max(x1..x6) on all of R^6 "
              "(two hidden layers suffice for max of 6)",
    source_key="sun2026",
    conditions="domain R^6; the toolkit's own proof: exact hyperplane arrangement (120 hyperplanes, rank 5) and "
               "its 116401 lines; certificate re-checked by the independent checker",
    expected=lambda: "PROVED on R^6, certificate holds",
    heavy=True,
)
def _max6():
    value, detail = _prove_and_recheck(max6_two_hidden())
    return Computed(value, detail)


@claim(
    id="frontier.max5.rebuild-arrangement",
    family="frontier",
    statement="The max_5 support sum of the data README compiles to a network that, like max5_depth2.json, "
              "computes max on all of R^5: the two networks are the same function",
    source_key="project",
    conditions="domain R^5; both proved by the arrangement route, certificates re-checked",
    expected=lambda: "both PROVED on R^5, certificates hold",
)
def _max5_rebuild():
    a, da = _prove_and_recheck(compile_support_sum(load_shipped_support_sum("max5")))
    b, db = _prove_and_recheck(load_max5())
    ok = a == b == "PROVED on R^5, certificate holds"
    return Computed("both PROVED on R^5, certificates hold" if ok else f"{a}; {b}", {"built": da, "shipped": db})


@claim(
    id="frontier.max5.scrambled",
    family="frontier",
    statement="max5_depth2.json with inputs permuted and units rescaled and shuffled is proved equal to max on R^5 "
              "without any symmetry argument",
    source_key="project",
    conditions="domain R^5; arrangement route (no symmetry used)",
    expected=lambda: "PROVED on R^5",
)
def _scrambled():
    from ..ir.layers import Layer, from_layers, to_layers
    from fractions import Fraction

    rnd = random.Random(13)
    L = to_layers(load_max5())
    W1, W2, W3 = ([list(r) for r in l.weights] for l in L)
    perm = list(range(5))
    rnd.shuffle(perm)
    W1 = [[row[perm[i]] for i in range(5)] for row in W1]
    for j in range(len(W1)):
        c = Fraction(rnd.randint(1, 9), rnd.randint(1, 9))
        W1[j] = [w * c for w in W1[j]]
        for row in W2:
            row[j] /= c
    o2 = list(range(len(W2)))
    rnd.shuffle(o2)
    W2, W3 = [W2[u] for u in o2], [[W3[0][u] for u in o2]]
    z = lambda n: (Fraction(0),) * n
    net = from_layers(5, [Layer(tuple(map(tuple, W1)), z(len(W1)), "relu"),
                          Layer(tuple(map(tuple, W2)), z(len(W2)), "relu"), Layer(tuple(map(tuple, W3)), z(1), "linear")])
    res, _ = prove_by_arrangement(net)
    return Computed("PROVED on R^5" if res.status is Status.PROVED else str(res.status),
                    {k: str(v) for k, v in getattr(res, "stats", {}).items()})


def _search_value(n: int) -> Computed:
    res = search_max(n, 2, 2, symmetric=True)
    if res.status != "found":
        return Computed(f"{res.status}: {res.reason}")
    detail = {"network": _shape(res.network), "blocks": str(res.stats["blocks_used"]),
              "orbits_used": str(res.stats["terms"]), "family_orbits": str(res.stats["orbits"]),
              "coefficients": [to_text(t.coeff) for t in res.support_sum.terms]}
    return Computed(f"found, PROVED on R^{n}", detail)


@claim(
    id="frontier.search.max5",
    family="frontier",
    statement="The search of the weight-2 family rediscovers a two-hidden-layer max_5 from scratch (details: 110 "
              "blocks, a 5-75-112-1 network, against 600 blocks in max5_depth2.json)",
    source_key="bakaev2025",
    conditions="weight-2 lattice blocks, symmetric system on the 42 sorted rays; network proved on R^5",
    expected=lambda: "found, PROVED on R^5",
)
def _search5():
    return _search_value(5)


@claim(
    id="frontier.search.max6",
    family="frontier",
    statement="The search of the weight-2 family rediscovers a two-hidden-layer max_6 from scratch (its size is in "
              "the details: 465 blocks, a 6-42-467-1 network, against 1530 blocks publicly)",
    source_key="sun2026",
    conditions="weight-2 lattice blocks, symmetric system on the 411 sorted rays; network proved on R^6",
    expected=lambda: "found, PROVED on R^6",
    heavy=True,
)
def _search6():
    return _search_value(6)


@claim(
    id="frontier.max7.weight2",
    family="frontier",
    statement="max_7 is not a combination of support functions of two-hidden-layer blocks with weight-2 vertices "
              "(a finite-family obstruction, not a depth lower bound)",
    source_key="sun2026",
    conditions="the complete weight-2 family (all lattice differences as generators); exact certificate re-checked "
               "by an independent enumeration of the family",
    expected=lambda: "not in the weight-2 family, certificate holds",
    heavy=True,
)
def _max7():
    res = search_max(7, 2, 2, symmetric=True, prove=False)
    if res.status != "infeasible":
        return Computed(f"{res.status}: {res.reason}")
    out = recheck_search(json.loads(json.dumps(res.certificate)))
    detail = {"points": str(len(res.certificate["points"])), "rank": str(res.stats["rank"]),
              "family_orbits": str(res.stats["orbits"]), "blocks": str(res.stats["blocks"]),
              "zonotopes": str(res.stats["zonotopes"])}
    return Computed("not in the weight-2 family, certificate holds" if out.holds else f"certificate fails: {out.reason}",
                    detail)


@claim(
    id="frontier.one-hidden.max3",
    family="frontier",
    statement="No network with one hidden layer computes max of 3 (exact 4-point certificate)",
    source_key="mukherjee2017",
    conditions="any width and real weights (biases through the recession function); certificate re-checked",
    expected=lambda: "impossible, certificate holds",
)
def _one_hidden():
    res = search_max(3, 1, 2)
    ok = res.status == "infeasible" and recheck_search(res.certificate).holds
    return Computed("impossible, certificate holds" if ok else res.reason,
                    {"points": [str(p) for p in res.certificate["points"]] if res.certificate else []})


@claim(
    id="frontier.max6.non-integer",
    family="frontier",
    statement="A two-hidden-layer max_6 network must have non-integer weights (integer weights need "
              "ceil(log2 6) = 3 hidden layers); the public construction's network has denominators up to 360",
    source_key="haase2023",
    conditions="the 6-42-1532-1 network; the catalogue's depth-consistency check passes",
    expected=lambda: f"non-integer weights, integer bound {haase_integer_lower_bound(6)} > 2 hidden layers",
)
def _non_integer():
    net = max6_two_hidden()
    check_depth_consistency(net.hidden_layers, list(net.weights()), 6)  # raises on a contradiction
    ok = not net.is_integer_weighted and net.hidden_layers < haase_integer_lower_bound(6)
    return Computed(f"non-integer weights, integer bound {haase_integer_lower_bound(6)} > {net.hidden_layers} hidden layers"
                    if ok else "integer weights", {"denominators": [str(q) for q in net.weight_denominators]})


@claim(
    id="frontier.max6.not-braid-conforming",
    family="frontier",
    statement="A two-hidden-layer max_6 cannot be braid-conforming (braid-conforming needs 3 hidden layers already "
              "for max_5); the public construction has a second-layer unit that is not affine on a braid chamber",
    source_key="grillo2025",
    conditions="exact canonical form (carries merged); exact midpoint witness in the open chamber x1 > ... > x6",
    expected=lambda: "not braid-conforming",
)
def _conformity():
    w = braid_nonconformity_witness(max6_two_hidden())
    if w is None:
        return Computed("no witness found")
    return Computed("not braid-conforming", {"layer": str(w.layer), "p": [to_text(v) for v in w.p],
                                             "q": [to_text(v) for v in w.q], "values": [to_text(v) for v in w.values]})
