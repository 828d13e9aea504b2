"""torch import beyond nn.Sequential: custom modules through torch's ONNX exporter (nn.Unfold windows,
slicing, clamp, min/max, padding), TorchScript files, state dicts with the architecture in Python, and
the new layers of the layer-by-layer route (BatchNorm, ReLU6, Hardtanh, LeakyReLU).

Values are checked against torch itself (float64 on the same float32 weights and inputs), and against
hand computations where the weights are set by hand.
"""

from fractions import Fraction as F

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
nn = torch.nn

from verify.analysis import Status, check_equivalent  # noqa: E402
from verify.backends.evaluator import evaluate  # noqa: E402
from verify.domain import Box  # noqa: E402
from verify.errors import NetworkFormatError, UnsupportedOpError, VerifyError  # noqa: E402
from verify.io.torch_import import import_torch, is_torchscript_file  # noqa: E402


def agree(model, net, shape, n=6, seed=0, atol=1e-5):
    model = model.eval()
    rng = np.random.default_rng(seed)
    for _ in range(n):
        x = rng.standard_normal((1,) + shape).astype(np.float32)
        with torch.no_grad():
            want = model(torch.from_numpy(x)).double().numpy().ravel()
        got = np.array([float(v) for v in evaluate(net, [F(float(v)) for v in x.ravel()])])
        assert got.shape == want.shape and np.allclose(got, want, atol=atol), (got, want)


class UnfoldMLP(nn.Module):
    """A ReLU MLP applied to every 2x2 window (stride 2), written with nn.Unfold."""

    def __init__(self, hidden=6):
        super().__init__()
        self.unfold = nn.Unfold(2, stride=2)
        self.mlp = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.mlp(self.unfold(x).transpose(1, 2)).flatten(1)


class SliceWindows(nn.Module):
    """The same with per-window slicing, plus clamp, minimum/maximum, reflect padding and dropout."""

    def __init__(self):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 1))
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        outs = []
        for i in (0, 2):
            for j in (0, 2):
                outs.append(self.mlp(x[:, 0, i:i + 2, j:j + 2].reshape(1, 4)))
        y = torch.cat(outs, 1)
        z = torch.maximum(y, torch.minimum(y * 2, x[:, 0, 0, :4]))
        p = nn.functional.pad(x, (1, 1, 0, 0), mode="reflect")[:, 0, 0, :]
        return torch.cat([self.drop(z), torch.clamp(y, -0.25, 0.5), nn.functional.relu6(3 * y),
                          nn.functional.hardtanh(y), p], 1)


def test_unfold_window_mlp_through_the_default_exporter():
    torch.manual_seed(0)
    model = UnfoldMLP()
    net = import_torch(model, (1, 4, 4))  # custom module: torch.onnx.export (dynamo) + exact ONNX import
    assert net.n_inputs == 16 and net.n_outputs == 4 and net.n_relus == 24
    agree(model, net, (1, 4, 4))
    # Each output reads only its window (the decomposition relies on it): output 1 is window (0,2),(0,3),...
    from verify.analysis.decompose import output_supports
    assert output_supports(net) == ((0, 1, 4, 5), (2, 3, 6, 7), (8, 9, 12, 13), (10, 11, 14, 15))


def test_unfold_torchscript_exporter_graph_with_shape_arithmetic():
    # The TorchScript exporter writes nn.Unfold as Shape/Gather/Range/Add/Concat/Pad arithmetic (the graph
    # that used to crash with "'Fraction' object has no attribute 'dtype'" in Sub).
    import io
    import warnings

    import onnx

    from verify.io.onnx_import import import_onnx
    torch.manual_seed(1)
    model = UnfoldMLP().eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 1, 4, 4),), buf, dynamo=False)
    ops = {n.op_type for n in onnx.load_from_string(buf.getvalue()).graph.node}
    assert {"Shape", "Gather", "Range", "Sub", "Concat", "Pad"} <= ops
    net = import_onnx(buf.getvalue())
    agree(model, net, (1, 4, 4))
    # the same function as the dynamo export's import, proved by z3
    assert check_equivalent(net, import_torch(model, (1, 4, 4)), Box.cube(16, -1, 1)).status is Status.PROVED


def test_slicing_clamp_minmax_pad_dropout_module():
    torch.manual_seed(2)
    model = SliceWindows()
    net = import_torch(model, torch.zeros(1, 1, 4, 4))  # an example input is accepted as the shape
    agree(model, net, (1, 1, 4, 4)[1:])


@pytest.mark.parametrize("how", ["script", "trace"])
def test_torchscript_files(tmp_path, how):
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4, 2), nn.ReLU6())
    sm = torch.jit.script(model) if how == "script" else torch.jit.trace(model, torch.zeros(1, 1, 3, 5))
    path = tmp_path / f"m_{how}.pt"
    torch.jit.save(sm, path)
    assert is_torchscript_file(path)
    net = import_torch(path, (1, 3, 5))
    assert len(net.max_nodes) == 4 and net.name == path.name
    agree(torch.jit.load(path), net, (1, 3, 5))
    with pytest.raises(VerifyError, match="needs input_shape"):
        import_torch(path)


def test_state_dict_with_architecture_in_python(tmp_path):
    torch.manual_seed(4)
    trained = UnfoldMLP(hidden=3)
    sd = tmp_path / "weights.pt"
    torch.save(trained.state_dict(), sd)
    fresh = UnfoldMLP(hidden=3)  # other random weights: the state dict must replace them
    before = [p.clone() for p in fresh.parameters()]
    a = import_torch(fresh, (1, 4, 4), state_dict=sd)
    b = import_torch(fresh, (1, 4, 4), state_dict=trained.state_dict())
    agree(trained, a, (1, 4, 4))
    x = [F(k, 7) for k in range(16)]
    assert evaluate(a, x) == evaluate(b, x)
    assert all(torch.equal(p, q) for p, q in zip(before, fresh.parameters()))  # the caller's module is untouched
    with pytest.raises(NetworkFormatError, match=r"weights\.pt: the state_dict does not fit the module: missing"):
        import_torch(UnfoldMLP(hidden=3).mlp, (4,), state_dict=sd)
    with pytest.raises(NetworkFormatError, match="size mismatch"):
        import_torch(UnfoldMLP(hidden=5), (1, 4, 4), state_dict=sd)
    with pytest.raises(NetworkFormatError, match="state_dict=FILE"):
        import_torch(sd)


def test_sequential_batchnorm_relu6_hardtanh_leaky_and_file(tmp_path):
    torch.manual_seed(5)
    model = nn.Sequential(nn.Conv2d(1, 3, 2), nn.BatchNorm2d(3), nn.ReLU6(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(12, 4), nn.BatchNorm1d(4), nn.Hardtanh(-0.5, 0.75), nn.Linear(4, 2), nn.LeakyReLU(0.2))
    with torch.no_grad():
        for bn in (model[1], model[6]):
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.3, 2)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
    net = import_torch(model, (1, 5, 5))
    assert len(net.max_nodes) == 12
    agree(model, net, (1, 5, 5))
    path = tmp_path / "bn.pt"
    torch.save(model, path)
    agree(model, import_torch(path, (1, 5, 5)), (1, 5, 5))


def test_batchnorm_hand_values():
    # BN with var + eps = 1/4 exactly: y = w (x - mu) / (1/2) + b, no rounding.
    lin, bn = nn.Linear(1, 1), nn.BatchNorm1d(1, eps=0.0)
    with torch.no_grad():
        lin.weight.fill_(2.0)
        lin.bias.fill_(0.5)
        bn.running_mean.fill_(1.0)
        bn.running_var.fill_(0.25)
        bn.weight.fill_(3.0)
        bn.bias.fill_(-1.0)
    net = import_torch(nn.Sequential(lin, bn, nn.ReLU6()))
    for x in (F(1, 3), F(-2), F(2)):
        z = 3 * (2 * x + F(1, 2) - 1) / F(1, 2) - 1
        assert evaluate(net, (x,)) == (min(max(z, 0), 6),)


def test_unsupported_in_custom_module_names_operator_and_module():
    class Sig(nn.Module):
        def forward(self, x):
            return torch.sigmoid(x) + 1

    with pytest.raises(UnsupportedOpError, match=r"Sig \(exported to ONNX\): unsupported ONNX operator 'Sigmoid'"):
        import_torch(Sig(), (3,))
    with pytest.raises(VerifyError, match="input_shape is needed"):
        import_torch(Sig())
