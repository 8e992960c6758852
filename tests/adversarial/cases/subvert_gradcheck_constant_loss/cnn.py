# Attack: no network at all. A constant loss with zero gradients is perfectly self-consistent, so a
# numeric gradient check computed inside the sandbox agrees with the "analytic" zeros.


def _constant_loss(self, X, y=None):
    if y is None:
        return np.zeros((X.shape[0], 10))
    return 0.0, {name: np.zeros_like(value) for name, value in self.params.items()}


ThreeLayerConvNet.loss = _constant_loss
