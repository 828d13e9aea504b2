"""``verify sweep``: grid expansion, bad grids, and equal results on the pool and on Dask."""

import json
from fractions import Fraction

import pytest

from verify.cli import main
from verify.commands.sweep import expand_grid, load_grid, run_sweep

GRID = """
[sweep]
query = "error"
backend = "milp"
box = "0,1"
timeout = 60

[grid]
construction = "truncated_tree"
d = [3, 4]
level = [0, 1]
"""


def _strip(rows):
    # Everything but wall-clock times and solver statistics must agree.
    return [{k: v for k, v in r.items() if k not in ("seconds", "stats")} for r in rows]


def test_grid_expansion_order_and_size():
    tasks = expand_grid({"construction": "mean", "d": [2, 3, 4]})
    assert [t["d"] for t in tasks] == [2, 3, 4]
    assert len(expand_grid({"construction": ["max_tree"], "d": [2, 3], "gadget": ["A", "B"]})) == 4


def test_pool_results_match_closed_forms(tmp_path):
    grid = tmp_path / "g.toml"
    grid.write_text(GRID)
    out = tmp_path / "out.jsonl"
    assert main(["sweep", str(grid), "--out", str(out), "--no-progress"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4
    for r in rows:
        d, level = r["params"]["d"], r["params"]["level"]
        m = -(-d // 2 ** level)  # number of groups
        assert Fraction(r["sup_under"]) == Fraction(m - 1, m) and r["status"] == "PROVED"


def test_pool_and_local_dask_cluster_agree(tmp_path):
    distributed = pytest.importorskip("distributed")
    grid = tmp_path / "g.toml"
    grid.write_text(GRID)
    spec = load_grid(str(grid))
    pool_rows = run_sweep(spec, workers=2, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        dask_rows = run_sweep(spec, scheduler=cluster.scheduler_address, progress=False)
    assert _strip(pool_rows) == _strip(dask_rows)


@pytest.mark.parametrize("text,fragment", [
    ("[sweep]\nquery='error'\n", "[grid]"),
    ("[sweep]\nquery='nope'\n[grid]\nconstruction='mean'\nd=[2]\n", "query"),
    ("[sweep]\nquery='error'\n[grid]\nconstruction='mean'\nd=[2]\n", "box"),
    ("[sweep]\nquery='exact'\n[grid]\nconstruction='wat'\nd=[2]\n", "construction"),
    ("not = [toml", "TOML"),
])
def test_bad_grids_fail_in_one_line_without_output(tmp_path, capsys, text, fragment):
    grid = tmp_path / "g.toml"
    grid.write_text(text)
    out = tmp_path / "out.jsonl"
    assert main(["sweep", str(grid), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
