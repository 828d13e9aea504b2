"""Constructions against hand-derived identities, depths and sizes (LITERATURE.md sections 2-3)."""

import math
import random
from fractions import Fraction

import pytest

from verify.backends.evaluator import evaluate
from verify.constructions import GADGETS, max_chain, max_tree, mean_network, pool2d, pool2d_windows, truncated_tree
from verify.errors import VerifyError
from verify.io import network_to_mapping

RNG = random.Random(7)


def rational_points(d, n=40):
    pts = [tuple(Fraction(RNG.randint(-50, 50), RNG.randint(1, 9)) for _ in range(d)) for _ in range(n)]
    pts.append((Fraction(0),) * d)  # all tied
    pts.append(tuple(Fraction(i % 2) for i in range(d)))  # ties between ones
    return pts


@pytest.mark.parametrize("gadget", GADGETS)
def test_gadget_identity_two_inputs(gadget):
    net = max_tree(2, gadget)
    for a in range(-3, 4):
        for b in range(-3, 4):
            x = (Fraction(a, 2), Fraction(b, 3))
            assert evaluate(net, x) == (max(x),)


@pytest.mark.parametrize("gadget", GADGETS)
@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17])
def test_tree_computes_max_and_has_log_depth(gadget, d):
    net = max_tree(d, gadget)
    assert net.hidden_layers == math.ceil(math.log2(d))  # Arora et al.: ceil(log2 d) hidden layers
    for x in rational_points(d, 15):
        assert evaluate(net, x) == (max(x),)


@pytest.mark.parametrize("d", [2, 4, 8, 16, 32])
def test_tree_sizes_for_powers_of_two(d):
    # LITERATURE.md section 3: 3(d-1) ReLUs with gadget A, 4(d-1) with gadget B; skip uses 1 per pair.
    assert max_tree(d, "A").n_relus == 3 * (d - 1)
    assert max_tree(d, "B").n_relus == 4 * (d - 1)
    assert max_tree(d, "skip").n_relus == d - 1


@pytest.mark.parametrize("gadget", GADGETS)
def test_chain_has_depth_d_minus_one(gadget):
    for d in (1, 2, 5):
        net = max_chain(d, gadget)
        assert net.hidden_layers == d - 1
        for x in rational_points(d, 10):
            assert evaluate(net, x) == (max(x),)


def test_plain_gadgets_are_layered_skip_is_not():
    assert network_to_mapping(max_tree(5, "A"))["format"] == "relu-net/1"
    assert network_to_mapping(max_chain(4, "B"))["format"] == "relu-net/1"
    assert network_to_mapping(max_tree(4, "skip"))["format"] == "relu-graph/1"


def test_pool2d_windows_and_values():
    # 3x4 image, 2x2 windows, stride 1: 2 x 3 = 6 windows; window (0,0) is pixels 0,1,4,5.
    w = pool2d_windows(3, 4, 2, 1)
    assert len(w) == 6 and w[0] == (0, 1, 4, 5) and w[-1] == (6, 7, 10, 11)
    net = pool2d(3, 4, 2, 1, "B")
    for x in rational_points(12, 5):
        assert evaluate(net, x) == tuple(max(x[i] for i in win) for win in w)
    assert len(pool2d_windows(6, 6, 3, 2)) == 4


def test_mean_and_truncated_tree_values():
    x = tuple(Fraction(v) for v in (3, -1, 4, 1, -5, 9))
    assert evaluate(mean_network(6), x) == (Fraction(11, 6),)
    # groups of 2: max(3,-1)=3, max(4,1)=4, max(-5,9)=9 -> mean 16/3
    assert evaluate(truncated_tree(6, 1, "A"), x) == (Fraction(16, 3),)
    # groups of 4: {3,-1,4,1} -> 4, {-5,9} -> 9 -> mean 13/2; plain gadgets carry the short group up
    for g in GADGETS:
        net = truncated_tree(6, 2, g)
        assert evaluate(net, x) == (Fraction(13, 2),)
        assert net.hidden_layers == 2


@pytest.mark.parametrize("bad", [0, -1, True, 2.0])
def test_bad_sizes_are_refused(bad):
    with pytest.raises(VerifyError):
        max_tree(bad)
    with pytest.raises(VerifyError):
        max_tree(3, gadget="C")
