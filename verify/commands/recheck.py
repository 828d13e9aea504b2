"""``verify recheck``: re-check a certificate written by ``exact`` or ``error`` with ``--certificate``."""

from __future__ import annotations

from ..certificates import load_certificate, recheck
from ..progress import progress_for
from .common import timeout_arg, time_left
from .options import add_quiet_arg
from .render import show

__all__ = ["register", "run"]


def register(sub) -> None:
    p = sub.add_parser("recheck", help="re-check a certificate independently (exit 0 holds, 1 fails)",
                       description="Re-check a certificate: network hash, exact evaluation at the witnesses, "
                                   "and a fresh z3 run of the stored SMT-LIB queries.")
    p.add_argument("certificate", metavar="CERT.json", help="a certificate written with --certificate")
    p.add_argument("--timeout", type=timeout_arg, metavar="SECONDS", default=None,
                   help="seconds for the whole recheck, its solver queries included (no answer in time: exit code 3)")
    p.add_argument("--json", action="store_true", help="print the outcome and every check as JSON")
    add_quiet_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    cert = load_certificate(args.certificate)
    with progress_for(args, "recheck"):  # elapsed time on a terminal: some certificates take seconds
        outcome = recheck(cert, timeout=time_left(args))
    show(args.json, outcome, certificate=args.certificate, cert=cert)
    return outcome.exit_code
