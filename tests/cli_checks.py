"""What the CLI tests share: a small network file and the check of a one-line refusal (exit 2)."""

from __future__ import annotations

from verify.cli import main

# float32-exact weights, so that ONNX export needs no rounding
SMALL_NET = ('{"format": "relu-net/1", "inputs": 2, "layers": [{"weights": [[1, -1], ["0.5", "0.25"]], '
             '"activation": "relu"}, {"weights": [[2, "-0.5"]], "activation": "linear"}]}')


def refused(capsys, argv, fragment):
    """Run ``verify argv``: exit 2, exactly one stderr line ``verify: error: ...`` containing ``fragment``,
    nothing on stdout (refused before any work). Returns the line."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2, (argv, code, err)
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("verify: error: "), err
    assert fragment in lines[0], (fragment, lines[0])
    assert out == "", out
    return lines[0]
