"""intro2ai: the course's numpy deep-learning package (cs231n assignment-2 API), HW6 reference.

HW6 adds batch normalization (layers.py), the conv-BN-ReLU sandwich and the residual block
(layer_utils.py), a network built from a list of filter counts (classifiers/convnet.py) and the
seed's deep-network experiment (experiment.py); the other modules are HW5's, given.
"""
