"""Synthetic training data: Dutch and foreign plate texts, plate images and OCR crops."""
