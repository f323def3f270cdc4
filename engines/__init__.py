"""CSRNet: weights, preprocessing, engines (TensorRT, OpenVINO, ONNX Runtime, torch), export, training."""
