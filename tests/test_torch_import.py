"""torch import: nn.Sequential models built here, safe loading, agreement with torch in float64."""

from fractions import Fraction as F

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from verify.analysis import Status, check_equivalent  # noqa: E402
from verify.backends.evaluator import evaluate  # noqa: E402
from verify.constructions import pool2d  # noqa: E402
from verify.constructions.emulate import emulate_max  # noqa: E402
from verify.domain import Box  # noqa: E402
from verify.errors import NetworkFormatError, UnsupportedOpError, VerifyError  # noqa: E402
from verify.io.torch_import import import_torch  # noqa: E402


def _agree(model, net, shape, n=8, seed=0):
    # torch in float64 on float32 weights and inputs: close to the exact value (not exact: rounding).
    model = model.double().eval()
    rng = np.random.default_rng(seed)
    for _ in range(n):
        x = rng.standard_normal((1,) + shape).astype(np.float32)
        want = model(torch.from_numpy(x.astype(np.float64))).detach().numpy().ravel()
        got = np.array([float(v) for v in evaluate(net, [F(float(v)) for v in x.ravel()])])
        assert got.shape == want.shape and np.allclose(got, want, atol=1e-9)


def test_mlp_exact_hand_weights():
    lin1, lin2 = nn.Linear(2, 2), nn.Linear(2, 1)
    with torch.no_grad():
        lin1.weight.copy_(torch.tensor([[0.5, -1.0], [2.0, 0.25]]))
        lin1.bias.copy_(torch.tensor([0.0, -1.0]))
        lin2.weight.copy_(torch.tensor([[1.0, -3.0]]))
        lin2.bias.copy_(torch.tensor([0.125]))
    net = import_torch(nn.Sequential(lin1, nn.ReLU(), lin2))
    for a, b in [(1, 0), (F(1, 3), F(2, 5)), (-1, -1), (4, 1)]:
        want = max(F(1, 2) * a - b, 0) - 3 * max(2 * a + F(1, 4) * b - 1, 0) + F(1, 8)
        assert evaluate(net, (a, b)) == (want,)


def test_cnn_matches_torch_and_emulation():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.MaxPool2d(2, 1), nn.Flatten(), nn.Linear(8, 2))
    net = import_torch(model, (1, 4, 4))
    assert net.n_inputs == 16 and net.n_outputs == 2 and len(net.max_nodes) == 8
    _agree(model, net, (1, 4, 4))


def test_pooling_layers_and_padding():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, stride=(2, 1), padding=1, groups=2), nn.ReLU(),
                          nn.MaxPool2d(2, stride=1, padding=1), nn.AvgPool2d((2, 1)), nn.Flatten())
    net = import_torch(model, (2, 5, 4))
    _agree(model, net, (2, 5, 4))
    m1 = nn.Sequential(nn.Conv1d(1, 2, 3, padding="same"), nn.ReLU(), nn.MaxPool1d(2), nn.AvgPool1d(2, padding=1,
                                                                                               count_include_pad=False))
    _agree(m1, import_torch(m1, (1, 6)), (1, 6))


def test_pure_pool_model_has_windows_and_equals_construction():
    net = import_torch(nn.Sequential(nn.MaxPool2d(2), nn.Flatten()), (1, 4, 4))
    assert net.windows[0] == (0, 1, 4, 5)
    assert check_equivalent(net, pool2d(4, 4, 2, 2, "B")).status is Status.PROVED
    assert check_equivalent(net, emulate_max(net, "A"), Box.cube(16)).status is Status.PROVED


def test_file_round_trip_weights_only(tmp_path):
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    path = tmp_path / "m.pt"
    torch.save(model, path)
    net = import_torch(path)
    assert net.n_inputs == 3
    _agree(model, net, (3,))


def test_file_with_other_class_is_refused_before_unpickling(tmp_path):
    path = tmp_path / "bad.pt"
    torch.save(nn.Sequential(nn.Linear(2, 2), nn.Sigmoid()), path)
    with pytest.raises(UnsupportedOpError, match="Sigmoid"):
        import_torch(path)
    state = tmp_path / "state.pt"
    torch.save(nn.Linear(2, 2).state_dict(), state)
    with pytest.raises(NetworkFormatError, match="state_dict"):
        import_torch(state)


def test_unsupported_layer_in_memory():
    with pytest.raises(UnsupportedOpError, match=r"Tanh at model\[1\]"):
        import_torch(nn.Sequential(nn.Linear(2, 2), nn.Tanh()))
    with pytest.raises(VerifyError, match="input_shape"):
        import_torch(nn.Sequential(nn.Conv2d(1, 1, 2)))


def test_torch_and_onnx_importers_agree():
    # Two independent paths to the IR: the torch importer on the module, and the ONNX importer on
    # torch's own ONNX export of it (TorchScript exporter). z3 proves the two networks equal.
    pytest.importorskip("onnx")
    import io
    import warnings
    from verify.io.onnx_import import import_onnx
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.MaxPool2d(2, 1), nn.Flatten(), nn.Linear(2, 1))
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.zeros(1, 1, 3, 3), buf, dynamo=False)
    a = import_torch(model, (1, 3, 3))
    b = import_onnx(buf.getvalue())
    assert len(a.max_nodes) == len(b.max_nodes) == 2
    assert check_equivalent(a, b, Box.cube(9)).status is Status.PROVED
