"""What the CLI fuzz harness (tests/test_cli_fuzz.py) and the soak (benchmarks/cli_soak.py) found, each
as a test that failed before its fix (an internal error, exit 4, or a file left behind)."""

from __future__ import annotations

import os

import pytest

from tests.cli_checks import refused as _refused
from verify.cli import main


@pytest.mark.parametrize("argv, fragment", [
    # was: ValueError "need at least one array to concatenate" (exit 4)
    (["images", "--images="], "--images names no image"),
    (["images", "--images", " , "], "--images names no image"),
    # was: a stride below 1 reached the window slicer
    (["images", "--stride=-1", "--images", "coins"], "--stride must be at least 1, got -1"),
    (["images", "--stride", "0", "--images", "coins"], "--stride must be at least 1, got 0"),
])
def test_images_arguments(capsys, argv, fragment):
    pytest.importorskip("skimage")
    _refused(capsys, argv, fragment)


def test_a_file_name_too_long_for_the_system(capsys, tmp_path, net):
    """was: OSError ENAMETOOLONG from Path.exists in the VNN-LIB folder check (exit 4)."""
    long = tmp_path / ("x" * 300 + "bench")
    _refused(capsys, ["export", net, "--vnnlib", long, "--box", "0,1", "--threshold", "1"],
             "more than the 255 a file name may have here")
    _refused(capsys, ["error", net, "--box", "0,1", "--certificate", str(long) + ".json"],
             "cannot write certificate")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json"]


def test_a_name_near_the_limit_is_written_atomically(capsys, tmp_path, net):
    """A 250-byte name is legal, but its temporary sibling (``.NAME.XXXX.tmp``) would not be: the
    temporary name is cut, the file is written, nothing else is left."""
    name = "y" * 245 + ".json"
    assert main(["error", str(net), "--box", "0,1", "--certificate", str(tmp_path / name)]) == 0
    capsys.readouterr()
    assert sorted(os.listdir(tmp_path)) == sorted(["net.json", name])
    assert (tmp_path / name).read_text().startswith("{")


def test_a_formula_too_deep_for_sympy(capsys, tmp_path):
    """was: RecursionError inside sympy (exit 4) for `sympy --piecewise` on a 5-input gadget-B tree (each
    Piecewise ReLU nests two copies of its argument); now one line naming the file, exit 2."""
    pytest.importorskip("sympy")
    net = tmp_path / "tree5B.json"
    assert main(["build", "max-tree", "--d", "5", "--gadget", "B", "-o", str(net)]) == 0
    capsys.readouterr()
    _refused(capsys, ["sympy", net, "--piecewise"], "nested too deeply for sympy")
    assert main(["sympy", str(net)]) == 0  # the Max form of the same network is printed
    out, _ = capsys.readouterr()
    assert out.startswith("Max(") or "Max(" in out


def test_search_checks_all_its_outputs_first(capsys, tmp_path):
    """was: `search --max 2 -o A --support-sum MISSING/B` wrote A, then failed on B (exit 2 with a file
    written); every output of search and describe is now checked before the work."""
    a = tmp_path / "a.json"
    _refused(capsys, ["search", "--max", "2", "--symmetric", "-o", a, "--support-sum", tmp_path / "no" / "b.json"],
             "does not exist")
    assert not a.exists()
    _refused(capsys, ["search", "--max", "2", "--certificate", tmp_path / "no" / "c.json"], "cannot write certificate")
    net = tmp_path / "m.json"
    assert main(["build", "max-tree", "--d", "2", "-o", str(net)]) == 0
    capsys.readouterr()
    _refused(capsys, ["describe", net, "-o", tmp_path / "no" / "s.json"], "does not exist")


def test_the_engine_refuses_numbers_beyond_float_range(capsys, tmp_path):
    """was: OverflowError in the engine's float bounds (exit 4) for a 1e400 weight with `--backend engine`;
    now refused up front like `--backend milp`, naming the file and the place; auto stays exact."""
    net = tmp_path / "huge.json"
    net.write_text('{"format": "relu-net/1", "inputs": 2, "layers": [{"weights": [["1e400", 0], [0, 1]], '
                   '"activation": "relu"}, {"weights": [["1e-400", 1]], "activation": "linear"}]}')
    _refused(capsys, ["error", net, "--box", "0,1", "--backend", "engine"], "layer 1, row 1, column 1")
    _refused(capsys, ["exact", net, "--box", "0,1", "--backend", "engine"], "--backend z3 or auto is exact")


def test_one_hidden_on_a_weight_below_float_range(tmp_path, capsys):
    """Soak seed 409700: a 1e-400 weight made a facet coefficient of 1e400 in the float LP of
    one-hidden (OverflowError, exit 4). The rows are scaled exactly first now."""
    from fractions import Fraction

    from verify.analysis.one_hidden import _scaled_floats

    af, cf = _scaled_floats([Fraction(1, 10 ** 400), Fraction(-3)], Fraction(6))
    assert af.tolist() == [0.0, -1.0] and cf == 2.0  # divided by 3: 1e-400/3 underflows to 0
    af, cf = _scaled_floats([Fraction(1, 10 ** 400)], Fraction(1))
    assert af.tolist() == [1.0] and cf == 1e300  # 10^400 clamped: on the LP's box the row always holds
    path = tmp_path / "drawn.json"
    # the soak's file: max-tree d=5 gadget B with the weight of x4 into its unit 9 replaced by 1e-400
    path.write_text('{"format":"relu-net/1","inputs":5,"layers":[{"weights":[["1","-1","0","0","0"],["-1","1","0","0","0"],["1","1","0","0","0"],["-1","-1","0","0","0"],["0","0","1","-1","0"],["0","0","-1","1","0"],["0","0","1","1","0"],["0","0","-1","-1","0"],["0","0","0","0","1e-400"],["0","0","0","0","-1"]],"activation":"relu"},{"weights":[["1/2","1/2","1/2","-1/2","-1/2","-1/2","-1/2","1/2","0","0"],["-1/2","-1/2","-1/2","1/2","1/2","1/2","1/2","-1/2","0","0"],["1/2","1/2","1/2","-1/2","1/2","1/2","1/2","-1/2","0","0"],["-1/2","-1/2","-1/2","1/2","-1/2","-1/2","-1/2","1/2","0","0"],["0","0","0","0","0","0","0","0","1","-1"],["0","0","0","0","0","0","0","0","-1","1"]],"activation":"relu"},{"weights":[["1/2","1/2","1/2","-1/2","-1","1"],["-1/2","-1/2","-1/2","1/2","1","-1"],["1/2","1/2","1/2","-1/2","1","-1"],["-1/2","-1/2","-1/2","1/2","-1","1"]],"activation":"relu"},{"weights":[["1/2","1/2","1/2","-1/2"]],"activation":"linear"}],"name":"max-tree d=5 gadget=B"}')
    code = main(["one-hidden", str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 1) and "internal error" not in err, (code, err)
