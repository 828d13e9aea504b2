"""Strict reading (issue 16, item 5): what a file says is what is read, or one line says why not.

The network files of both formats go through ``tests/malformed/`` (run as real CLI processes by
``tests/test_malformed.py``); this file checks the shared rules themselves, the certificate reader (which
uses them too), numbers given on the command line, and ``sweep --scheduler``.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from verify.cli import main
from verify.errors import NetworkFormatError
from verify.io.json_format import dumps_network, loads_network
from verify.numbers import parse_rational


@pytest.mark.parametrize("text", ["١", "１", "٣/4", "1e١", "0.５", "²"])
def test_non_ascii_digits_are_not_numbers(text):
    with pytest.raises(ValueError, match="ASCII digits"):
        parse_rational(text)


def test_ascii_numbers_still_read_exactly():
    assert parse_rational(" -3/4 ") == Fraction(-3, 4)
    assert parse_rational("1e-3") == Fraction(1, 1000)
    assert parse_rational("0.1") == Fraction(1, 10)


def test_non_ascii_digits_on_the_command_line(capsys, tmp_path):
    net = tmp_path / "m.json"
    assert main(["build", "mean", "--d", "2", "-o", str(net)]) == 0
    capsys.readouterr()
    assert main(["error", str(net), "--box", "0,１"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ASCII digits" in err


GRAPH = {"format": "relu-graph/1", "inputs": 2,
         "nodes": [{"id": "a1", "op": "affine", "in": [["x0", "1"], ["x1", "-1"]]},
                   {"id": "r1", "op": "relu", "in": "a1"},
                   {"id": "m1", "op": "max", "in": ["r1", "x1"]}],
         "outputs": ["m1"]}


@pytest.mark.parametrize("node, key", [(0, "weight"), (1, "bias"), (2, "bias"), (1, "weights"), (0, "activation")])
def test_every_graph_node_has_a_closed_set_of_keys(node, key):
    data = json.loads(json.dumps(GRAPH))
    data["nodes"][node][key] = "1"
    with pytest.raises(NetworkFormatError, match=rf"node {node + 1} \(.*\): unknown key\(s\) \['{key}'\]"):
        loads_network(json.dumps(data), "g.json")


def test_a_valid_graph_still_reads_and_round_trips():
    net = loads_network(json.dumps(GRAPH), "g.json")
    assert loads_network(dumps_network(net)).n_relus == net.n_relus == 1


@pytest.mark.parametrize("text, where", [
    ('{"format": "relu-net/1", "format": "relu-net/1", "inputs": 1, "layers": [{"weights": [[1]], "activation": "linear"}]}',
     "top level: key 'format' is given twice"),
    ('{"format": "relu-graph/1", "inputs": 1, "nodes": [{"id": "a", "op": "affine", "in": [["x0", 1]]}, '
     '{"id": "b", "id": "c", "op": "relu", "in": "a"}], "outputs": ["a"]}', "node 2: key 'id' is given twice"),
    ('{"format": "relu-net/1", "inputs": 1, "layers": [{"weights": [[1]], "activation": "linear"}], '
     '"windows": [[0]], "name": {"a": 1, "a": 2}}', "key 'name': key 'a' is given twice"),
])
def test_duplicate_keys_are_refused_with_their_place(text, where):
    with pytest.raises(NetworkFormatError, match="given twice") as info:
        loads_network(text, "d.json")
    assert str(info.value).startswith(f"d.json: {where}"), str(info.value)


@pytest.mark.parametrize("nid, role", [("x0", "inputs"), ("x7", "inputs"), ("y0", "outputs"), ("y12", "outputs")])
def test_reserved_ids_say_why(nid, role):
    data = json.loads(json.dumps(GRAPH))
    data["nodes"][0]["id"] = nid
    data["nodes"][1]["in"] = nid
    with pytest.raises(NetworkFormatError, match=f"the id '{nid}' is reserved for the {role}"):
        loads_network(json.dumps(data), "g.json")


def test_ids_that_only_look_alike_are_fine():
    data = json.loads(json.dumps(GRAPH))
    for node, new in zip(data["nodes"], ("x", "y0a", "xy1")):
        old = node["id"]
        node["id"] = new
        for other in data["nodes"]:
            if other["in"] == old:
                other["in"] = new
            elif isinstance(other["in"], list):
                other["in"] = [new if t == old else t for t in other["in"]]
    data["outputs"] = ["xy1"]
    assert loads_network(json.dumps(data)).n_relus == 1


def test_messages_show_values_as_written_never_python_reprs():
    for text in ('{"format": 1.5}', '{"format": "relu-net/1", "inputs": 0.5, "layers": []}',
                 '{"format": "relu-net/1", "inputs": 2, "layers": [{"weights": [[1, 1]], "activation": 0.25}]}',
                 '{"format": "relu-graph/1", "inputs": 1, "nodes": [{"id": "a", "op": 2.5, "in": []}], "outputs": ["a"]}',
                 '{"format": "relu-graph/1", "inputs": 1, "nodes": [{"id": "a", "op": "relu", "in": 0.5}], "outputs": ["a"]}'):
        with pytest.raises(NetworkFormatError) as info:
            loads_network(text, "f.json")
        assert "Fraction" not in str(info.value) and "f.json" in str(info.value), str(info.value)


def test_certificates_follow_the_same_rules(tmp_path, capsys):
    net = tmp_path / "m.json"
    cert = tmp_path / "m.cert"
    assert main(["build", "mean", "--d", "2", "-o", str(net)]) == 0
    assert main(["error", str(net), "--box", "0,1", "--certificate", str(cert)]) == 0
    capsys.readouterr()
    text = cert.read_text()
    data = json.loads(text)
    # a second "claim" after the real one: json would keep the forged one silently
    forged = text.rstrip().rstrip("}") + ', "claim": ' + json.dumps({**data["claim"], "sup_under": "0"}) + "}\n"
    bad = tmp_path / "forged.cert"
    bad.write_text(forged)
    assert main(["recheck", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "key 'claim' is given twice" in err and "forged.cert" in err
    odd = tmp_path / "odd.cert"
    odd.write_text('{"format": 2.5}')
    assert main(["recheck", str(odd)]) == 2
    err = capsys.readouterr().err
    assert "format 5/2" in err and "Fraction" not in err


def test_empty_onnx_model_names_the_file(tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    from onnx import helper

    path = tmp_path / "empty.onnx"
    onnx.save(helper.make_model(helper.make_graph([], "empty", [], [])), str(path))
    assert main(["import", str(path), "-o", str(tmp_path / "n.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"verify: error: {path}: the model has 0 inputs")


# -- sweep --scheduler ----------------------------------------------------------------------------------
GRID = '[sweep]\nquery = "error"\nbackend = "z3"\nbox = "0,1"\ntimeout = 5\n[grid]\nconstruction = ["mean"]\nd = [2]\n'


@pytest.mark.parametrize("address, fragment", [
    ("localhost", "expected an address like tcp://HOST:PORT (the port is missing)"),
    ("tcp://host:99999", "expected an address like tcp://HOST:PORT"),
    ("tcp://", "expected an address"), ("", "expected an address"),
])
def test_sweep_scheduler_address_is_checked(tmp_path, capsys, address, fragment):
    grid = tmp_path / "g.toml"
    grid.write_text(GRID)
    assert main(["sweep", str(grid), "--scheduler", address, "--no-progress"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and fragment in err, err


def test_sweep_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    from verify.commands import sweep

    monkeypatch.setattr(sweep, "SCHEDULER_TIMEOUT", 1)
    grid = tmp_path / "g.toml"
    grid.write_text(GRID)
    out_file = tmp_path / "rows.jsonl"
    assert main(["sweep", str(grid), "--scheduler", "tcp://127.0.0.1:1", "--no-progress", "--out", str(out_file)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert "cannot reach the Dask scheduler" in err and not out_file.exists()
