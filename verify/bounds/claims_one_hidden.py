"""Catalogue family ``one-hidden``: which max functions one hidden layer can compute.

Mukherjee & Basu (arXiv:1711.03073, as cited by Hertrich et al.): one hidden layer cannot compute MAX_3
at any width; MAX_2 = x_2 + relu(x_1 - x_2) needs one. Decided by :mod:`verify.analysis.one_hidden`
with exact certificates re-checked by exact evaluation alone.
"""

from __future__ import annotations

from ..analysis.one_hidden import check_certificate, max_network, one_hidden_layer
from ..status import Status
from .catalogue import claim, collect

__all__: list[str] = []  # the claims register themselves with the catalogue on import

DS = range(2, 7)


@claim(
    id="one-hidden.max",
    family="one-hidden",
    statement="MAX_2 is computed by one hidden layer; MAX_d for d = 3..6 is not, at any width",
    source_key="mukherjee2017",
    conditions="domain R^d; any real weights; decided exactly with a re-checkable certificate",
    expected=lambda: " ".join(f"d={d}:{'yes' if d == 2 else 'no'}" for d in DS),
)
def _max_one_hidden():
    def rows():
        for d in DS:
            net = max_network(d)
            r = one_hidden_layer(net, timeout=300)
            if r.status is Status.REFUTED:
                ok = check_certificate(net, r.certificate)
                yield (f"d={d}:{'no' if ok.valid else 'certificate-rejected'}", f"d={d}",
                       {"certificate": r.certificate.get("kind"), "checked": bool(ok.valid)}, False)
            elif r.status is Status.PROVED:
                yield f"d={d}:yes", f"d={d}", {"width": r.network.n_relus}, False
            else:
                yield f"d={d}:unknown", None, None, True

    return collect(rows())
