"""Classifiers built from intro2ai layers; HW5 adds the three-layer convnet (cnn.py)."""
