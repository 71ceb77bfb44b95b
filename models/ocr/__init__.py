"""The plate OCR model: training, evaluation and the exported ONNX model with its config."""
