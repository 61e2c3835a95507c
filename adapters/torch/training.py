"""Dropout, the training step and the epoch's batches for the torch backend, through torch's public API:
``nn.Dropout`` seeded with ``torch.manual_seed`` (inside ``torch.random.fork_rng``, so the caller's RNG state is
untouched), the network of model.py with ``torch.optim.SGD``, and ``torch.utils.data.DataLoader``.

Early stopping is declared unsupported: core PyTorch ships none (PyTorch Lightning's ``EarlyStopping`` is not a
dependency of nnspec), so there is no framework implementation to judge.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nnspec.adapters.base import UnsupportedError
from nnspec.adapters.torch import model
from nnspec.adapters.torch.tables import LOSSES, TRAINING_CONVENTIONS

__all__ = ["TorchTrainingMixin"]


class TorchTrainingMixin:
    """Training methods of TorchBackend (which provides ``_tensor`` and ``_device``). ``TRAINING_FEATURES`` is
    what capabilities() declares, and ``TRAINING_CONVENTIONS`` the conventions it adds to the backend's."""

    #: dropout streams: one ``nn.Dropout`` module called n times on the device's default generator
    #: (docs/spec/dropout.md#stream)
    TRAINING_FEATURES: frozenset = frozenset({"dropout", "training_step", "epoch_batches", "dropout_stream",
                                              "dropout_stream_unseeded", "dropout_training_stream"})
    TRAINING_CONVENTIONS = TRAINING_CONVENTIONS

    def _forked_rng(self):
        """``torch.random.fork_rng`` over the CPU generator and, on CUDA, the device's."""
        return torch.random.fork_rng(devices=[self._device] if self._device.type == "cuda" else [])

    def dropout(self, x, p, training, seed, dtype, grad_output=None):
        tensor = self._tensor(x, dtype, requires_grad=grad_output is not None)
        module = torch.nn.Dropout(p).train(training)
        with self._forked_rng():
            torch.manual_seed(seed)
            y = module(tensor)
        if grad_output is None:
            return model.as_numpy(y), None
        (grad,) = torch.autograd.grad(y, tensor, self._tensor(grad_output, dtype))
        return model.as_numpy(y), model.as_numpy(grad)

    def training_step(self, layers, x, target, loss, loss_params, optimizer, hyper, dtype, dropout_masks=None):
        if optimizer != "sgd":
            raise UnsupportedError(f"torch: training_step is declared for optimizer 'sgd' only, got {optimizer!r}")
        network = model.build(layers, dtype, self._device, self._tensor)
        linears = [linear for linear, _ in network]
        masks = None if dropout_masks is None else [None if m is None else self._tensor(m, dtype)
                                                    for m in dropout_masks]
        sgd = torch.optim.SGD([p for m in linears for p in m.parameters()], **dict(hyper))
        value = LOSSES[loss](dict(loss_params))(model.forward(network, self._tensor(x, dtype), masks),
                                                self._tensor(target, dtype))
        sgd.zero_grad()
        value.backward()
        sgd.step()
        return value.item(), [(model.as_numpy(m.weight).T, None if m.bias is None else model.as_numpy(m.bias))
                              for m in linears]

    def epoch_batches(self, n_examples, batch_size, shuffle, drop_last, seed):
        """One epoch of a DataLoader over the indices 0..n-1 (its RandomSampler draws from a seeded Generator)."""
        generator = torch.Generator().manual_seed(seed)
        loader = torch.utils.data.DataLoader(torch.arange(n_examples), batch_size=batch_size, shuffle=shuffle,
                                             drop_last=drop_last, generator=generator)
        return [batch.numpy().astype(np.int64) for batch in loader]

    # --- dropout as training uses it: one module, many calls (docs/spec/dropout.md#stream) --------------------

    def dropout_stream(self, x, p, n_calls, seed, dtype):
        """ONE ``nn.Dropout(p)`` module in training mode called n_calls times, drawing from the device's default
        generator, seeded once with ``torch.manual_seed(seed)`` (left as it is for None) inside
        ``torch.random.fork_rng`` so that the caller's state is untouched. There is no ``torch.Generator`` variant:
        neither ``nn.Dropout`` nor ``F.dropout`` takes a generator (only the private ``torch._fused_dropout``
        does), and ``torch.bernoulli(generator=...)`` times a scale would be the adapter's dropout, not torch's."""
        module, tensor = self.dropout_module(p).train(True), self._tensor(x, dtype)
        with self._forked_rng(), torch.no_grad():
            if seed is not None:
                torch.manual_seed(seed)
            return [module(tensor).to("cpu", torch.float64).numpy() for _ in range(n_calls)]

    @staticmethod
    def dropout_module(p: float) -> nn.Module:
        """The ``nn.Dropout(p)`` module of the stream checks."""
        return nn.Dropout(p)

    def dropout_training_stream(self, x, p, n_steps, seed, dtype):
        """``nn.Sequential(nn.Dropout(p), nn.Linear)`` trained by the usual loop (zero_grad, MSE loss, backward,
        ``SGD(lr=0).step()``) for n_steps on the batch x, the dropout's output taken by a forward hook; the
        default generator is seeded once (``torch.manual_seed``) inside ``fork_rng``."""
        tensor = self._tensor(x, dtype)
        features = tensor.shape[-1]
        dense = nn.Linear(features, features, device=self._device, dtype=tensor.dtype)
        with torch.no_grad():
            dense.weight.copy_(torch.eye(features, dtype=tensor.dtype))
            dense.bias.zero_()
        network, outputs = nn.Sequential(self.dropout_module(p), dense).train(True), []
        hook = network[0].register_forward_hook(
            lambda module, inputs, output: outputs.append(model.as_numpy(output)))
        optimizer = torch.optim.SGD(network.parameters(), lr=0.0)
        try:
            with self._forked_rng():
                if seed is not None:
                    torch.manual_seed(seed)
                for _ in range(n_steps):
                    optimizer.zero_grad()
                    prediction = network(tensor)
                    torch.nn.functional.mse_loss(prediction, torch.zeros_like(prediction)).backward()
                    optimizer.step()
        finally:
            hook.remove()
        return outputs
