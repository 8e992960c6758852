"""intro2ai: the course's numpy deep-learning package (cs231n assignment-2 API), HW8 reference.

HW8 adds CutMix and Mixup (augment.py), the softmax loss for soft targets (layers.py) and the
comparison experiment (experiment.py); the network and the other modules are HW5's, given.
"""
