"""The HW6 experiment (given): the seed's deep VGG-like list trained plain, with batch normalization
and with residual blocks, on the same data from the same seed.

The seed's VGG16-like network "does not learn at all" until batch normalization sits before each
ReLU. DEEP_LIST keeps the seed's ten convolutions in four stages and divides its widths by eight,
so that the three runs fit a 2-core machine's budget; the residual network has four blocks of
two convolutions each (eight deep), as costly as the plain list.
"""

import numpy as np

from .classifiers.convnet import ConvNet
from .solver import Solver

DEEP_LIST = [8, 8, "max_pool", 16, 16, "max_pool", 32, 32, 32, "max_pool", 64, 64, 64, "max_pool"]
RESIDUAL_LIST = [8, "max_pool", 16, "max_pool", 32, "max_pool", 64, "max_pool"]  # 2 convs a block: 8 deep
CONFIGS = {
    "plain": ({}, DEEP_LIST),
    "batchnorm": ({"use_batch_norm": True}, DEEP_LIST),
    "residual": ({"use_residual": True}, RESIDUAL_LIST),
}


def train_run(data, config, seed, *, num_filters_list=None, num_epochs=3, batch_size=50, learning_rate=1e-3,
              weight_scale=1e-2, num_train_samples=500, verbose=False):
    """Trains a fresh ConvNet in one configuration ("plain", "batchnorm" or "residual") and returns its Solver.

    num_filters_list defaults to the configuration's list (CONFIGS). The weights and the batches
    come from np.random.seed(seed): the configurations see the same batches in the same order.
    """
    if config not in CONFIGS:
        raise ValueError(f"unknown configuration {config!r}: use one of {', '.join(CONFIGS)}")
    np.random.seed(seed)
    options, default_list = CONFIGS[config]
    model = ConvNet(num_filters_list or default_list, input_dim=data["X_train"].shape[1:], weight_scale=weight_scale,
                    **options)
    solver = Solver(model, data, num_epochs=num_epochs, batch_size=batch_size, update_rule="adam",
                    optim_config={"learning_rate": learning_rate}, verbose=verbose, num_train_samples=num_train_samples,
                    print_every=max(1, len(data["X_train"]) // batch_size))
    solver.train()
    return solver
