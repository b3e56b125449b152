"""Runs exported ONNX models in an independent runtime and compares them with
LibTorch's outputs.

    run_onnx.py opencv|gather MODEL.onnx IO.pt [MODEL.onnx IO.pt ...]

Each IO.pt (written by the C++ test) holds x_<batch> inputs and y_<batch>
LibTorch outputs. Each model is checked with
onnx.checker.check_model(full_check=True), then run by OpenCV's ONNX importer
(cv2.dnn.readNetFromONNX); `gather` instead evaluates a single-Gather graph
(an Embedding) with numpy, as OpenCV 4.6 only gathers constant indices.
Prints "RESULT <model>:<name> <value>" lines.
"""
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper


def gather(model, x):
    (node,) = model.graph.node
    assert node.op_type == "Gather", node.op_type
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    return np.take(weights[node.input[0]], x, axis=0)


def check(mode, model_path, io_path):
    name = os.path.splitext(os.path.basename(model_path))[0]
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    print("RESULT %s:full_check 1" % name)
    io = torch.load(io_path)
    for key in sorted(io):
        if not key.startswith("x_"):
            continue
        batch = key[2:]
        x, want = io[key].numpy(), io["y_" + batch].numpy()
        if mode == "gather":
            got = gather(model, x)
        else:
            import cv2

            # cv2 reads a 3-d array whose last dim is <= 512 as an image with
            # channels, not as an [N, C, L] blob: the tests use L > 512.
            assert not (x.ndim == 3 and x.shape[2] <= 512), x.shape
            net = cv2.dnn.readNetFromONNX(model_path)
            net.setInput(x)
            got = net.forward()
        print("RESULT %s:shape_ok_%s %d" % (name, batch, int(got.shape == want.shape)))
        if got.shape != want.shape:
            print("%s: shapes differ: got %s, LibTorch %s" % (name, got.shape, want.shape))
            continue
        print("RESULT %s:max_abs_diff_%s %.9g" % (name, batch, float(np.abs(got - want).max())))


def main():
    mode, paths = sys.argv[1], sys.argv[2:]
    for model_path, io_path in zip(paths[::2], paths[1::2]):
        check(mode, model_path, io_path)


if __name__ == "__main__":
    main()
