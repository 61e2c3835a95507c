"""PyTorch's BatchNorm running statistics, the feature ``batch_norm_running_stats``
(docs/spec/normalization.md#running-statistics): one ``nn.BatchNorm1d`` trained on batches, then evaluated.
"""

from __future__ import annotations

from types import MappingProxyType

import torch

from nnspec.adapters.torch import model

__all__ = ["TorchNormalizationMixin"]


class TorchNormalizationMixin:
    """``batch_norm_running_stats`` with one ``nn.BatchNorm1d`` (docs/spec/normalization.md#running-statistics):
    torch's momentum weights the new batch ("x_new = (1 - momentum) * x_hat + momentum * x_t") and its running
    variance averages the unbiased batch variance while training normalizes with the biased one (the BatchNorm1d
    docstring in torch/nn/modules/batchnorm.py, PyTorch 2.13)."""

    NORMALIZATION_FEATURES = frozenset({"batch_norm_running_stats"})
    NORMALIZATION_CONVENTIONS = MappingProxyType({"batch_norm_running_stats": MappingProxyType(
        {"momentum_weights": "new", "running_variance": "unbiased"})})

    def batch_norm_running_stats(self, batches, momentum, x, weight, bias, eps, dtype):
        module = torch.nn.BatchNorm1d(len(weight), eps=eps, momentum=momentum, device=self._device,
                                      dtype=self._tensor(weight, dtype).dtype)
        with torch.no_grad():
            module.weight.copy_(self._tensor(weight, dtype))
            module.bias.copy_(self._tensor(bias, dtype))
            module.train()
            for batch in batches:
                module(self._tensor(batch, dtype))
            module.eval()
            y = module(self._tensor(x, dtype))
        return tuple(model.as_numpy(t) for t in (module.running_mean, module.running_var, y))
