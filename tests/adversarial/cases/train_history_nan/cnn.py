# Attack (training): skip training and report NaN/inf histories: JSON has no NaN, so a result
# document carrying them is no longer valid JSON for the gradebook and the exports.
import intro2ai.solver as _solver


def _no_training(self):
    self.loss_history = [float("nan"), float("inf"), -float("inf")]
    self.train_acc_history = [float("nan")]


_solver.Solver.train = _no_training
