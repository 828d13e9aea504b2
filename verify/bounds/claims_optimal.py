"""Catalogue family ``optimal``: the seed paper's minimax-optimal subpool approximations.

Matoba, Dimitriadis, Fleuret (arXiv:2203.01016; TMLR 2023), LITERATURE.md section 1. The toolkit's
value is the certified LP optimum (exact beta, exact dual certificate checked in rationals); the
expected value is the paper's closed form. The z3 claim re-measures the error on the built ReLU network.
"""

from __future__ import annotations

from fractions import Fraction

from ..analysis.optimal import closed_forms, optimal_approximation
from ..status import Status
from ..analysis.worst_case import worst_case_error
from ..constructions.subpool import n_subset_maxima, subpool_network
from ..domain import Box
from ..numbers import to_text
from .catalogue import Computed, claim, collect

__all__: list[str] = []  # the claims register themselves with the catalogue on import

D_RANGE = range(2, 11)
D9 = {"{0,1}": (0, 1), "{0,1,2}": (0, 1, 2), "{0,1,8}": (0, 1, 8), "{0,1,7,8}": (0, 1, 7, 8), "all": tuple(range(9))}
D9_PAPER = {"{0,1}": "4/9", "{0,1,2}": "8/25", "{0,1,8}": "1/20", "{0,1,7,8}": "1/81", "all": "1/512"}


def _cases():
    return [(d, name, R, value) for d in D_RANGE for name, R, value in closed_forms(d)]


@claim(
    id="optimal.closed-forms",
    family="optimal",
    statement="Certified optimal sup errors on [0,1]^d equal the closed forms: {0}: 1/2; {0,1}: (d-1)/(2d); {0,1,2}: "
              "t1 t2/(2(t1 t2 + d)); {0,1,d-1}: 1/(2(d+1)); {0,1,d-2,d-1}: 1/d^2; {0..d-1}: 2^-d (d = 2..10)",
    source_key="matoba2022",
    conditions="box [0,1]^d; f = b0 + sum_k b_k A_k; L-infinity error; optimum certified by an exact dual certificate",
    expected=lambda: " ".join(to_text(v) for _, _, _, v in _cases()),
)
def _closed_forms():
    values, detail = [], {}
    for d, name, R, _ in _cases():
        opt = optimal_approximation(d, R)
        values.append(to_text(opt.error))
        detail[f"d={d} R={name}"] = {"error": to_text(opt.error), "beta": {str(k): to_text(v) for k, v in opt.beta.items()}}
    return Computed(" ".join(values), detail)


@claim(
    id="optimal.d9",
    family="optimal",
    statement="For a 3x3 window (d = 9): {0,1}: 4/9; {0,1,2}: 8/25; {0,1,8}: 1/20; {0,1,7,8}: 1/81; all sizes: 1/512",
    source_key="matoba2022",
    conditions="box [0,1]^9",
    expected=lambda: " ".join(D9_PAPER[k] for k in D9),
)
def _d9():
    return Computed(" ".join(to_text(optimal_approximation(9, R).error) for R in D9.values()))


@claim(
    id="optimal.width",
    family="optimal",
    statement="Error 2^-d with all sizes 1..d-1 needs all 2^d - d - 2 nontrivial subset maxima (exponential width), d = 3..12",
    source_key="matoba2022",
    conditions="R = {0, ..., d-1}",
    expected=lambda: " ".join(f"{to_text(Fraction(1, 2 ** d))}@{2 ** d - d - 2}" for d in range(3, 13)),
)
def _width():
    out = []
    for d in range(3, 13):
        R = tuple(range(d))
        out.append(f"{to_text(optimal_approximation(d, R).error)}@{n_subset_maxima(d, R)}")
    return Computed(" ".join(out))


def _z3_cross_check(cases) -> Computed:
    def rows():
        for d, R in cases:
            opt = optimal_approximation(d, R)
            net = subpool_network(d, R, opt.beta)
            r = worst_case_error(net, Box.cube(d))
            yield (to_text(r.sup_abs), f"d={d} R={list(R)}",
                   {"z3_sup_abs": to_text(r.sup_abs), "lp_error": to_text(opt.error), "relus": net.n_relus},
                   r.status is not Status.PROVED)

    return collect(rows())


Z3_CASES = [(d, R) for d in (3, 4) for _, R, _ in closed_forms(d)]
Z3_CASES_HEAVY = [(d, R) for d in (5, 6) for _, R, _ in closed_forms(d)]

for _suffix, _cases_z3, _heavy in (("", Z3_CASES, False), ("-large", Z3_CASES_HEAVY, True)):
    claim(
        id=f"optimal.z3{_suffix}",
        family="optimal",
        statement="z3's exact worst-case error of the built ReLU network with the optimal beta equals the certified "
                  f"LP optimum (d in {sorted({d for d, _ in _cases_z3})}, every closed-form R)",
        source_key="matoba2022",
        conditions="box [0,1]^d; a second, independent method (no vertex reduction)",
        expected=lambda cs=_cases_z3: " ".join(to_text(optimal_approximation(d, R).error) for d, R in cs),
        heavy=_heavy,
    )(lambda cs=_cases_z3: _z3_cross_check(cs))
