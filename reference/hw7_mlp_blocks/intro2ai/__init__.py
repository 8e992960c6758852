"""intro2ai: the course's numpy deep-learning package (cs231n assignment-2 API), HW7 reference.

HW7 (seed 003, the course's Keras practice) adds inverted dropout, ReLU6 and the depthwise
convolution (layers.py), the fully connected net with dropout and L1/L2 (classifiers/fc_net.py),
Keras-style callbacks and whole-model saving (callbacks.py, on the given solver.py), the residual,
Inception and MobileNetV2 blocks (blocks.py) and a Fashion-MNIST-shaped data set
(fashion_data.py); HW5's layers and Solver are given.
"""
