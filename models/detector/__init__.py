"""The plate detector: training data, training, evaluation and the exported ONNX model."""
