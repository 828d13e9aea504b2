"""Every plot writer picks its format from the file's extension: PDF and SVG are vector files, not PNG
bytes under another name. The magic bytes of each file say what it is."""

import numpy as np
import pytest

from verify.analysis.regions.plot import plot_region_map
from verify.analysis.tradeoff import plot_tradeoff, tradeoff
from verify.analysis.windows import RATIO_BINS, ImageReport, plot_image_report
from verify.constructions import max_tree
from verify.domain import Box
from verify.errors import VerifyError
from verify.io.figures import figure_format

MAGIC = {"png": (b"\x89PNG\r\n\x1a\n",), "pdf": (b"%PDF",), "svg": (b"<?xml", b"<svg")}


def _kind(data: bytes) -> str:
    for kind, heads in MAGIC.items():
        if any(data.startswith(h) for h in heads):
            if kind == "svg" and b"<svg" not in data[:2000]:
                continue
            return kind
    return "unknown"


def _fake_image_report():
    mids = len(RATIO_BINS) - 1
    rows = [{"R": [0, 1], "worst_case_cube_float": 0.5, "mean_by_gap_over_spread": [{"mean": 0.1 * (k + 1)} for k in range(mids)]}]
    rep = ImageReport(2, 2, ["synthetic"], 100, {}, 0.2, 0.1, rows)
    return rep, {"ratio": np.linspace(0, 1, 100)}


@pytest.fixture(scope="module")
def rows3():
    return tradeoff(3)


@pytest.mark.parametrize("ext", ["png", "pdf", "svg"])
def test_every_writer_follows_the_extension(tmp_path, ext, rows3):
    writers = {
        "tradeoff": lambda p: plot_tradeoff(rows3, 3, str(p)),
        "images": lambda p: plot_image_report(*_fake_image_report(), str(p)),
        "regions": lambda p: plot_region_map(max_tree(2, "A"), Box.cube(2, -1, 1), 0, 1, str(p)),
    }
    for name, write in writers.items():
        p = tmp_path / f"{name}.{ext}"
        write(p)
        data = p.read_bytes()
        assert _kind(data) == ext, (name, data[:20])
        if ext == "svg":
            assert data.rstrip().endswith(b"</svg>")


def test_format_rules(tmp_path):
    assert figure_format("a.PNG") == "png" and figure_format("noext") == "png"
    with pytest.raises(VerifyError, match=r"x\.jpgz: unknown plot format 'jpgz'"):
        figure_format("x.jpgz")
    with pytest.raises(VerifyError):
        plot_image_report(*_fake_image_report(), str(tmp_path / "y.doc"))
    assert not (tmp_path / "y.doc").exists()
