"""Small ONNX models built with onnx.helper for the import/export tests."""

import numpy as np


def make_model(nodes, inputs, outputs, initializers, opset=17):
    import onnx
    from onnx import helper

    graph = helper.make_graph(nodes, "test", inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def tensor(name, arr):
    from onnx import numpy_helper
    return numpy_helper.from_array(np.asarray(arr), name)


def value_info(name, shape, elem=None):
    from onnx import TensorProto, helper
    return helper.make_tensor_value_info(name, elem or TensorProto.FLOAT, shape)


def cnn_model(pool="MaxPool", seed=0, size=4, channels=2, outputs=2):
    """[1,1,S,S] -> Conv 2x2 (C channels, pad 0) -> Relu -> pool 2x2 stride 1 -> Flatten -> Gemm -> outputs."""
    from onnx import helper

    rng = np.random.default_rng(seed)
    feat = channels * (size - 2) ** 2
    w = rng.standard_normal((channels, 1, 2, 2)).astype(np.float32)
    b = rng.standard_normal(channels).astype(np.float32)
    fc = rng.standard_normal((outputs, feat)).astype(np.float32)
    fcb = rng.standard_normal(outputs).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[2, 2], name="conv1"),
        helper.make_node("Relu", ["c"], ["r"], name="relu1"),
        helper.make_node(pool, ["r"], ["p"], kernel_shape=[2, 2], strides=[1, 1], name="pool1"),
        helper.make_node("Flatten", ["p"], ["f"], axis=1, name="flat"),
        helper.make_node("Gemm", ["f", "fc", "fcb"], ["y"], transB=1, name="fc1"),
    ]
    return make_model(nodes, [value_info("x", ["N", 1, size, size])], [value_info("y", ["N", outputs])],
                      [tensor("w", w), tensor("b", b), tensor("fc", fc), tensor("fcb", fcb)])
