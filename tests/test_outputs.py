"""Every output is written atomically into a checked place (issue 16, item 3).

A path a command cannot write to (an existing folder, a device such as /dev/null, a pipe, a missing or
unwritable folder, one of its own inputs, two outputs naming one file) is one line on stderr and exit
code 2 before any work is done: nothing on stdout, nothing created, nothing replaced. A VNN-LIB folder
says which files it replaced. The tests never write to /dev/null itself: before this was fixed, an
atomic rename onto /dev/null as root replaced the device with a plain file for the whole machine; a
symlink to it inside the test's folder shows the same refusal safely.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.cli_checks import refused as _refused
from verify.cli import build_parser, main


SENTINEL = "pre-existing: must stay untouched\n"


def _places(tmp_path):
    """Odd output places, each with a fragment of its refusal."""
    folder = tmp_path / "a-folder"
    folder.mkdir()
    fifo = tmp_path / "a-fifo"
    os.mkfifo(fifo)
    null_link = tmp_path / "null-link"
    null_link.symlink_to(os.devnull)
    return {
        "folder": (folder, "it is a folder"),
        "folder-slash": (f"{tmp_path / 'new'}/", "the path names a folder"),
        "fifo": (fifo, "is not a regular file"),
        "devnull-link": (null_link, "is not a regular file"),
        "missing-parent": (tmp_path / "missing" / "deeper" / "out.json", "does not exist"),
        "parent-is-file": (tmp_path / "net.json" / "out.json", "is not a folder"),
        "proc": ("/proc/verify-test-output.json", "no file can be made in the folder /proc"),
        "empty": ("", "its path is empty"),
    }


def _writers(net, tmp_path):
    """One argument vector per output argument of every command; ``{}`` is the output path."""
    return {
        "build -o": ["build", "mean", "--d", "3", "-o", "{}"],
        "import -o": ["import", tmp_path / "model.onnx", "-o", "{}"],
        "exact --certificate": ["exact", net, "--certificate", "{}"],
        "error --certificate": ["error", net, "--box", "0,1", "--certificate", "{}"],
        "export --smtlib": ["export", net, "--smtlib", "{}"],
        "export --onnx": ["export", net, "--onnx", "{}"],
        "prove --json": ["prove", "--only", "trees.size.A", "--json", "{}"],
        "prove --markdown": ["prove", "--only", "trees.size.A", "--markdown", "{}"],
        "optimal --save": ["optimal", "--d", "3", "--R", "0,1", "--save", "{}"],
        "tradeoff --markdown": ["tradeoff", "--d", "3", "--markdown", "{}"],
        "one-hidden --save-network": ["one-hidden", net, "--save-network", "{}"],
        "sweep --out": ["sweep", tmp_path / "grid.toml", "--out", "{}"],
        "search -o": ["search", "--max", "2", "--symmetric", "-o", "{}"],
        "search --support-sum": ["search", "--max", "2", "--symmetric", "--support-sum", "{}"],
        "search --certificate": ["search", "--max", "2", "--symmetric", "--certificate", "{}"],
        "describe -o": ["describe", net, "-o", "{}"],
    }


@pytest.mark.parametrize("place", ["folder", "folder-slash", "fifo", "devnull-link", "missing-parent",
                                   "parent-is-file", "proc", "empty"])
def test_every_file_output_refuses_odd_places(capsys, tmp_path, net, place):
    path, fragment = _places(tmp_path)[place]
    for name, argv in _writers(net, tmp_path).items():
        before = sorted(p.name for p in tmp_path.iterdir())
        _refused(capsys, [path if a == "{}" else a for a in argv], fragment)
        assert sorted(p.name for p in tmp_path.iterdir()) == before, name  # nothing created
    assert os.path.islink(tmp_path / "null-link") and stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_every_output_argument_is_checked():
    """Every argument registered as an output (add_output_arg) of every command is in the list above, so
    that a new writer cannot skip the check silently (commands without outputs have none)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    registered = set()
    for name, p in sub.choices.items():
        for dest, kind, _ in p.get_default("output_args") or ():
            registered.add((name, dest))
    covered = {("build", "output"), ("import", "output"), ("exact", "certificate"), ("error", "certificate"),
               ("export", "smtlib"), ("export", "onnx"), ("export", "vnnlib"), ("prove", "json"),
               ("prove", "markdown"), ("optimal", "save"), ("tradeoff", "markdown"), ("tradeoff", "plot"),
               ("images", "plot"), ("regions", "plot"), ("one-hidden", "save_network"), ("sweep", "out"),
               ("search", "output"), ("search", "support_sum"), ("search", "certificate"), ("describe", "output")}
    assert covered <= registered
    new = registered - covered
    assert all(dest in ("plot", "output", "out", "json", "markdown", "certificate") for _, dest in new), new


def test_plot_outputs_are_checked_before_work(capsys, tmp_path, net):
    folder = tmp_path / "d.png"
    folder.mkdir()
    _refused(capsys, ["tradeoff", "--d", "3", "--plot", folder], "it is a folder")
    _refused(capsys, ["tradeoff", "--d", "3", "--plot", tmp_path / "x.docx"], "unknown plot format")
    _refused(capsys, ["regions", net, "--box", "0,1", "--plot", tmp_path / "no" / "map.png"], "does not exist")
    _refused(capsys, ["images", "--plot", tmp_path / "no" / "w.png"], "does not exist")


def test_an_output_may_not_be_an_input_or_another_output(capsys, tmp_path, net):
    original = net.read_text()
    _refused(capsys, ["exact", net, "--certificate", net], "is also an input")
    _refused(capsys, ["export", net, "--smtlib", net], "is also an input")
    link = tmp_path / "link.json"
    link.symlink_to(net)
    _refused(capsys, ["error", net, "--box", "0,1", "--certificate", link], "is also an input")
    assert net.read_text() == original
    _refused(capsys, ["prove", "--only", "trees.size.A", "--json", tmp_path / "r", "--markdown", tmp_path / "r"],
             "name the same file")


def test_an_existing_output_is_replaced_atomically_and_keeps_its_mode(capsys, tmp_path, net):
    out = tmp_path / "out.json"
    out.write_text(SENTINEL)
    os.chmod(out, 0o640)
    assert main(["build", "mean", "--d", "3", "-o", str(out)]) == 0
    assert out.read_text().startswith('{"format"') and stat.S_IMODE(os.stat(out).st_mode) == 0o640
    new = tmp_path / "new.json"
    old = os.umask(0o022)
    try:
        assert main(["build", "mean", "--d", "3", "-o", str(new)]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(new).st_mode) == 0o644  # as a plain open() would make it, not mkstemp's 0600
    target = tmp_path / "target.json"
    target.write_text(SENTINEL)
    link = tmp_path / "via-link.json"
    link.symlink_to(target)
    assert main(["build", "mean", "--d", "2", "-o", str(link)]) == 0
    assert link.is_symlink() and target.read_text().startswith('{"format"')  # the link stays, its target changes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "new.json", "out.json", "target.json",
                                                          "via-link.json"]


def test_read_only_file_is_refused(capsys, tmp_path, net):
    if os.geteuid() == 0:
        pytest.skip("root may write read-only files")
    out = tmp_path / "ro.json"
    out.write_text(SENTINEL)
    os.chmod(out, 0o444)
    _refused(capsys, ["build", "mean", "--d", "3", "-o", out], "read-only")
    assert out.read_text() == SENTINEL


# -- VNN-LIB: a folder of four files --------------------------------------------------------------------
VNN = ["--box", "0,1", "--threshold", "1"]


def test_vnnlib_folder_places(capsys, tmp_path, net):
    afile = tmp_path / "afile"
    afile.write_text(SENTINEL)
    _refused(capsys, ["export", net, "--vnnlib", afile, *VNN], "it exists and is not a folder")
    assert afile.read_text() == SENTINEL
    null_link = tmp_path / "null-link"
    null_link.symlink_to(os.devnull)
    _refused(capsys, ["export", net, "--vnnlib", null_link, *VNN], "is not a folder")
    _refused(capsys, ["export", net, "--vnnlib", tmp_path / "no" / "bench", *VNN], "does not exist")
    _refused(capsys, ["export", net, "--vnnlib", "/proc/verify-bench", *VNN], "no file can be made in the folder /proc")
    for clash in ("network.onnx", "property.vnnlib", "instances.csv"):
        bench = tmp_path / f"bench-{clash}"
        (bench / clash).mkdir(parents=True)
        _refused(capsys, ["export", net, "--vnnlib", bench, *VNN], f"{clash}: it is a folder")
        assert [p.name for p in bench.iterdir()] == [clash]  # nothing written beside it
    bench = tmp_path / "bench-fifo"
    bench.mkdir()
    os.mkfifo(bench / "difference.onnx")
    _refused(capsys, ["export", net, "--vnnlib", bench, *VNN], "difference.onnx: it is not a regular file")


def test_vnnlib_folder_says_what_it_replaced(capsys, tmp_path, net):
    bench = tmp_path / "bench"
    assert main(["export", str(net), "--vnnlib", str(bench), *VNN]) == 0
    first = capsys.readouterr().out
    assert "replaced" not in first
    assert sorted(p.name for p in bench.iterdir()) == ["difference.onnx", "instances.csv", "network.onnx",
                                                      "property.vnnlib"]
    (bench / "instances.csv").unlink()
    assert main(["export", str(net), "--vnnlib", str(bench), *VNN]) == 0
    out = capsys.readouterr().out
    assert "replaced the existing network.onnx, difference.onnx, property.vnnlib" in out
    assert "instances.csv" not in out.split("replaced")[1]


def test_onnx_export_to_a_missing_folder_is_refused_like_smtlib(capsys, tmp_path, net):
    for flag in ("--onnx", "--smtlib"):
        line = _refused(capsys, ["export", net, flag, "/missing/dir/x.onnx"], "/missing/dir/x.onnx")
        assert "does not exist" in line


# -- the helpers themselves -----------------------------------------------------------------------------
def test_check_output_file_refuses_devices_without_touching_them(tmp_path):
    from verify.errors import OutputPathError
    from verify.io.files import atomic_write_bytes, check_output_file

    with pytest.raises(OutputPathError, match="not a regular file"):
        check_output_file(os.devnull)
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    with pytest.raises(OutputPathError, match="not a regular file"):
        atomic_write_bytes(fifo, b"x")  # a library call is refused too, not only the CLI
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and [p.name for p in tmp_path.iterdir()] == ["p"]
    assert check_output_file(tmp_path / "ok.json") == Path(os.path.realpath(tmp_path / "ok.json"))


def test_atomic_write_files_is_all_or_nothing(tmp_path):
    from verify.errors import OutputPathError
    from verify.io.files import atomic_write_files

    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("old a")
    (tmp_path / "sub").mkdir()
    bad = tmp_path / "sub" / "c"
    os.mkfifo(bad)
    with pytest.raises(OutputPathError):
        atomic_write_files({a: b"new a", b: b"new b", bad: b"c"})
    assert a.read_text() == "old a" and not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "sub"]
