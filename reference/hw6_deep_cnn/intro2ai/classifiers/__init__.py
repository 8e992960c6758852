"""Classifiers built from intro2ai layers; HW6 adds the configurable deep convnet (convnet.py)."""
