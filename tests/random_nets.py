"""Seeded random IR networks with ReLUs, max nodes and skip connections (small integer weights)."""

import random
from fractions import Fraction

from verify.ir.builder import Expr, GraphBuilder


def random_net(seed, d=3, units=5):
    rng = random.Random(seed)
    b = GraphBuilder(d)
    pool = list(b.input_exprs())
    for _ in range(units):
        picks = rng.sample(pool, min(len(pool), 3))
        expr = Expr.sum(p * Fraction(rng.randint(-3, 3), rng.choice([1, 2])) for p in picks) + rng.randint(-2, 2)
        if rng.random() < 0.25 and len(pool) >= 2:
            other = rng.choice(pool) * rng.choice([1, -1])
            pool.append(b.max([expr, other]))
        else:
            pool.append(b.relu(expr))
    b.output(Expr.sum(p * rng.randint(-2, 2) for p in rng.sample(pool, 3)) + Fraction(1, 3))
    return b.build(name=f"random-{seed}")
