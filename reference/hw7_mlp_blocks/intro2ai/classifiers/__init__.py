"""Classifiers built from intro2ai layers; HW7 adds the fully connected net with dropout and L1/L2 (fc_net.py)."""
