"""Dropout, the training step and the epoch's batches for the torch backend, through torch's public API:
``nn.Dropout`` seeded with ``torch.manual_seed`` (inside ``torch.random.fork_rng``, so the caller's RNG state is
untouched), ``nn.Linear`` with torch's activation and loss modules and ``torch.optim.SGD``, and
``torch.utils.data.DataLoader``.

Early stopping is declared unsupported: core PyTorch ships none (PyTorch Lightning's ``EarlyStopping`` is not a
dependency of nnspec), so there is no framework implementation to judge.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from nnspec.adapters.base import UnsupportedError

#: The named spec variant torch's dropout follows (docs/spec/dropout.md#dropped-values): the input is
#: multiplied by the scaled mask, so a dropped inf or NaN becomes NaN (aten/src/ATen/native/Dropout.cpp).
TRAINING_CONVENTIONS = MappingProxyType({"dropout": MappingProxyType({"dropped_value": "x_times_zero"})})


class TorchTrainingMixin:
    """Training methods of TorchBackend. ``TRAINING_FEATURES`` is what capabilities() declares, and
    ``TRAINING_CONVENTIONS`` the conventions it adds to the backend's."""

    TRAINING_FEATURES: frozenset = frozenset({"dropout", "training_step", "epoch_batches"})
    TRAINING_CONVENTIONS = TRAINING_CONVENTIONS

    def dropout(self, x, p, training, seed, dtype, grad_output=None):
        import torch

        tensor = self._tensor(x, dtype, requires_grad=grad_output is not None)
        module = torch.nn.Dropout(p).train(training)
        devices = [self._device] if self._device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            y = module(tensor)
        as_numpy = lambda t: t.detach().to("cpu", torch.float64).numpy()  # noqa: E731
        if grad_output is None:
            return as_numpy(y), None
        (grad,) = torch.autograd.grad(y, tensor, self._tensor(grad_output, dtype))
        return as_numpy(y), as_numpy(grad)

    def training_step(self, layers, x, target, loss, loss_params, optimizer, hyper, dtype, dropout_masks=None):
        import torch

        from nnspec.adapters import torch_backend

        if optimizer != "sgd":
            raise UnsupportedError(f"torch: training_step is declared for optimizer 'sgd' only, got {optimizer!r}")
        torch_dtype = torch_backend._DTYPES[dtype]
        linears, activations = [], []
        for layer in layers:
            linear = torch.nn.Linear(layer.weight.shape[0], layer.weight.shape[1], bias=layer.bias is not None,
                                     device=self._device, dtype=torch_dtype)
            with torch.no_grad():
                linear.weight.copy_(self._tensor(layer.weight.T, dtype))  # (in, out) -> (out, in)
                if layer.bias is not None:
                    linear.bias.copy_(self._tensor(layer.bias, dtype))
            linears.append(linear)
            activations.append(torch_backend._ACTIVATIONS[layer.activation](dict(layer.activation_params)))
        masks = dropout_masks or [None] * len(layers)
        sgd = torch.optim.SGD([p for m in linears for p in m.parameters()], **dict(hyper))
        h = self._tensor(x, dtype)
        for linear, activation, mask in zip(linears, activations, masks):
            h = activation(linear(h))
            if mask is not None:
                h = h * self._tensor(mask, dtype)  # the dropout layer with its mask fixed
        value = torch_backend._LOSSES[loss](dict(loss_params))(h, self._tensor(target, dtype))
        sgd.zero_grad()
        value.backward()
        sgd.step()
        as_numpy = lambda t: t.detach().to("cpu", torch.float64).numpy()  # noqa: E731
        return value.item(), [(as_numpy(m.weight).T, None if m.bias is None else as_numpy(m.bias)) for m in linears]

    def epoch_batches(self, n_examples, batch_size, shuffle, drop_last, seed):
        """One epoch of a DataLoader over the indices 0..n-1 (its RandomSampler draws from a seeded Generator)."""
        import torch

        generator = torch.Generator().manual_seed(seed)
        loader = torch.utils.data.DataLoader(torch.arange(n_examples), batch_size=batch_size, shuffle=shuffle,
                                             drop_last=drop_last, generator=generator)
        return [batch.numpy().astype(np.int64) for batch in loader]
