"""``verify build``: write a construction as a network file."""

from __future__ import annotations

from ..constructions import max_chain, max_tree, mean_network, pool2d, truncated_tree
from ..constructions.gadgets import GADGETS
from ..errors import VerifyError
from ..io.json_format import dumps_network
from .common import add_output_arg, write_output

__all__ = ["register", "run"]

KINDS = ("max-tree", "max-chain", "mean", "truncated-tree", "pool2d", "support-sum")


def register(sub) -> None:
    p = sub.add_parser("build", help="build a construction and write it as JSON",
                       description="Build an exact max-pooling network or an approximation and write it as JSON.")
    p.add_argument("kind", choices=KINDS)
    p.add_argument("file", nargs="?", metavar="FILE", help="support-sum: the support-sum/1 file to compile")
    p.add_argument("--d", type=int, help="number of inputs (max-tree, max-chain, mean, truncated-tree)")
    p.add_argument("--gadget", choices=GADGETS, default="A", help="pairwise-max gadget (default A)")
    p.add_argument("--level", type=int, help="truncated-tree: exact max inside groups of 2^LEVEL inputs")
    p.add_argument("--kernel", type=int, help="pool2d: window size k (k x k)")
    p.add_argument("--stride", type=int, help="pool2d: stride (default: the kernel size)")
    p.add_argument("--height", type=int, help="pool2d: input height")
    p.add_argument("--width", type=int, help="pool2d: input width")
    add_output_arg(p, "-o", "--output", required=True, metavar="FILE", help="where to write the network")
    p.set_defaults(func=run)


def _need(args, *names) -> None:
    missing = [f"--{n}" for n in names if getattr(args, n) is None]
    if missing:
        raise VerifyError(f"build {args.kind} needs {', '.join(missing)}")


def _construction_size(args):
    """``(nodes, dense weights (a function: some are linear in d), name)`` of the construction the
    arguments ask for, or None when they are incomplete or out of range (the builder refuses those)."""
    from .. import limits

    g, d = args.gadget, args.d
    has_d = d is not None and d >= 1
    if args.kind == "max-tree" and has_d:
        return d + limits.tree_nodes(d, g) + 1, lambda: limits.tree_dense(d, g), f"max-tree d={d} gadget={g}"
    if args.kind == "max-chain" and has_d:
        return limits.chain_nodes(d, g), lambda: limits.chain_dense(d, g), f"max-chain d={d} gadget={g}"
    if args.kind == "truncated-tree" and has_d and args.level is not None and args.level >= 0:
        return (limits.truncated_tree_nodes(d, args.level, g), lambda: limits.truncated_tree_dense(d, args.level, g),
                f"truncated-tree d={d} level={args.level} gadget={g}")
    if args.kind == "mean" and has_d:
        return d + 2, lambda: d, f"mean d={d}"
    h, w, k = args.height, args.width, args.kernel
    if args.kind == "pool2d" and None not in (h, w, k) and min(h, w, k) >= 1:
        s = k if args.stride is None else args.stride
        if s >= 1:
            return (limits.pool2d_nodes(h, w, k, s, g), lambda: limits.pool2d_dense(h, w, k, s, g),
                    f"pool2d {h}x{w} k={k} s={s} gadget={g}")
    return None


def _check_written_size(args) -> None:
    """Refuse, before building, a construction whose file (dense relu-net/1 layers) would not fit in memory."""
    from .. import limits

    size = _construction_size(args)
    if size is not None:
        nodes, dense, what = size
        # the node count first: a construction too big to build at all says so in its own words
        limits.check_size(nodes, what)
        limits.check_dense(dense(), what)


def run(args) -> int:
    if args.file is not None and args.kind != "support-sum":
        raise VerifyError(f"build {args.kind} takes no FILE argument")
    _check_written_size(args)
    if args.kind == "max-tree":
        _need(args, "d")
        net = max_tree(args.d, args.gadget)
    elif args.kind == "max-chain":
        _need(args, "d")
        net = max_chain(args.d, args.gadget)
    elif args.kind == "mean":
        _need(args, "d")
        net = mean_network(args.d)
    elif args.kind == "truncated-tree":
        _need(args, "d", "level")
        net = truncated_tree(args.d, args.level, args.gadget)
    elif args.kind == "support-sum":
        if args.file is None:
            raise VerifyError("build support-sum needs the support-sum/1 FILE")
        from ..constructions.support_sum import compile_support_sum
        from ..io.support_sum import load_support_sum

        net = compile_support_sum(load_support_sum(args.file), name=f"support-function sum {args.file}")
    else:
        _need(args, "kernel", "height", "width")
        net = pool2d(args.height, args.width, args.kernel, args.kernel if args.stride is None else args.stride, args.gadget)
    write_output(args.output, dumps_network(net) + "\n")
    print(f"wrote {args.output}: {net.name}, {net.n_inputs} inputs, {net.n_outputs} outputs, "
          f"{net.hidden_layers} hidden layers, {net.n_relus} ReLUs")
    return 0
