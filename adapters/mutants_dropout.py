"""Planted bugs in dropout's random stream: ONE dropout layer that draws the same mask at every call.

Each backend is correct call by call (the right keep rate, the right scale, a fresh mask for a fresh seed), so it
passes every per-call dropout test; only driving one layer through many calls, as a training loop does
(``Backend.dropout_stream``; docs/spec/dropout.md#stream), exposes it. Run one with
``nnspec run --backend nnspec.adapters.mutants_dropout:KerasSeedGeneratorNeverAdvanced --profile ci -k dropout``.
tests/conformance/test_dropout_stream_bugs.py asserts that each fails that run.
"""

from __future__ import annotations

import torch

from nnspec.adapters.jax.backend import JaxBackend
from nnspec.adapters.tensorflow.backend import TensorFlowBackend
from nnspec.adapters.tensorflow.runtime import keras
from nnspec.adapters.torch.backend import TorchBackend

__all__ = ["MUTANTS", "TorchReseededEveryCall", "KerasSeedGeneratorNeverAdvanced", "JaxKeyNeverSplit",
           "TorchDropoutFixedMask"]


class TorchReseededEveryCall(TorchBackend):
    """``torch.manual_seed(seed)`` inside the loop, before every call of the one ``nn.Dropout`` module: every
    call replays the first mask (the "seed in the training step" mistake)."""

    name = "mutant-torch-dropout-reseeded-every-call"

    def dropout_stream(self, x, p, n_calls, seed, dtype):
        module, tensor = torch.nn.Dropout(p).train(True), self._tensor(x, dtype)
        with torch.random.fork_rng(devices=[self._device] if self._device.type == "cuda" else []), torch.no_grad():
            outputs = []
            for _ in range(n_calls):
                torch.manual_seed(0 if seed is None else seed)
                outputs.append(module(tensor).to("cpu", torch.float64).numpy())
            return outputs


class _DropoutWhoseSeedGeneratorNeverAdvances(keras.layers.Dropout):
    """Keras's Dropout, but each call puts its SeedGenerator's state back where it was: the generator never
    advances, and every call draws from the same seed."""

    def call(self, inputs, training=False):
        state = self.seed_generator.state.value * 1  # a copy, as SeedGenerator.next makes one
        outputs = super().call(inputs, training=training)
        self.seed_generator.state.assign(state)
        return outputs


class KerasSeedGeneratorNeverAdvanced(TensorFlowBackend):
    """The Dropout layer's SeedGenerator is never advanced, so every call of one layer draws the same mask
    (issue 16's hidden bug: per-call tests build a new layer per call and cannot see it)."""

    name = "mutant-keras-dropout-seed-generator-never-advanced"

    def dropout_layer(self, p, seed, dtype):
        return _DropoutWhoseSeedGeneratorNeverAdvances(rate=p, seed=seed, dtype=dtype)


class JaxKeyNeverSplit(JaxBackend):
    """The dropout key is used as it is at every call, never split or advanced: the same mask every step (the
    classic JAX mistake of reusing a PRNG key)."""

    name = "mutant-jax-dropout-key-never-split"

    @staticmethod
    def next_dropout_key(key):
        return key, key


MUTANTS = {
    "torch-dropout-reseeded": TorchReseededEveryCall,
    "keras-dropout-seed-generator": KerasSeedGeneratorNeverAdvanced,
    "jax-dropout-key-never-split": JaxKeyNeverSplit,
}


class _DropoutWithAFixedMask(torch.nn.Dropout):
    """nn.Dropout whose forward draws from a generator reseeded at every call: one fixed mask per shape."""

    def forward(self, input):
        with torch.random.fork_rng():
            torch.manual_seed(1234)
            return super().forward(input)


class TorchDropoutFixedMask(TorchBackend):
    """The framework's Dropout module itself draws the same mask at every forward: every stream, and every step
    of a training loop (``dropout_training_stream``), repeats one mask."""

    name = "mutant-torch-dropout-fixed-mask"

    @staticmethod
    def dropout_module(p):
        return _DropoutWithAFixedMask(p)
