"""Initializers for the torch backend: ``torch.nn.init`` on a fresh (out, in) tensor with a seeded
``torch.Generator`` (every ``nn.init`` function takes ``generator=``), and a fresh ``nn.Linear`` built under
``torch.manual_seed`` inside ``torch.random.fork_rng``. Layout translation only: the weight comes back transposed
to nnspec's (in, out), so torch's fan_in (``size(1)`` of its (out, in) weight) is nnspec's ``shape[0]``.

Conventions (docs/spec/initializers.md#conventions): ``xavier_normal_`` and ``kaiming_normal_`` draw an
untruncated normal (``normal="untruncated_normal"``); ``nn.Linear`` is ``layer="torch_linear"``. He is
``kaiming_*_(nonlinearity="relu")`` (gain sqrt 2), LeCun ``kaiming_*_(mode="fan_in", nonlinearity="linear")``
(gain 1); torch has no fan_avg mode for kaiming and no variance-scaling initializer with a free scale.
"""

from __future__ import annotations

import torch
from torch import nn

from nnspec.adapters.base import UnsupportedError
from nnspec.adapters.torch import model
from nnspec.adapters.torch.tables import DTYPES

__all__ = ["TorchInitializersMixin"]


def _he(function, mode: str):
    if mode not in ("fan_in", "fan_out"):
        raise UnsupportedError(f"torch: nn.init.kaiming_* has modes fan_in and fan_out, not {mode!r}")
    return lambda t, hyper, g: function(t, mode=mode, nonlinearity="relu", generator=g)


#: initializer -> (hyper -> (tensor, hyper, generator) -> None)
_INIT = {
    "glorot_uniform": lambda hyper: lambda t, h, g: nn.init.xavier_uniform_(t, gain=1.0, generator=g),
    "glorot_normal": lambda hyper: lambda t, h, g: nn.init.xavier_normal_(t, gain=1.0, generator=g),
    "he_uniform": lambda hyper: _he(nn.init.kaiming_uniform_, hyper.get("mode", "fan_in")),
    "he_normal": lambda hyper: _he(nn.init.kaiming_normal_, hyper.get("mode", "fan_in")),
    "lecun_uniform": lambda hyper: lambda t, h, g: nn.init.kaiming_uniform_(t, mode="fan_in", nonlinearity="linear",
                                                                             generator=g),
    "lecun_normal": lambda hyper: lambda t, h, g: nn.init.kaiming_normal_(t, mode="fan_in", nonlinearity="linear",
                                                                           generator=g),
    "truncated_normal": lambda hyper: lambda t, h, g: nn.init.trunc_normal_(
        t, mean=h.get("mean", 0.0), std=h.get("std", 1.0), a=h.get("a", -2.0), b=h.get("b", 2.0), generator=g),
}


class TorchInitializersMixin:
    """``initialize`` and ``dense_default_init`` of TorchBackend (which provides ``_device`` and
    ``_forked_rng``)."""

    INIT_FEATURES: frozenset = frozenset({"initializers", "dense_default_init"})
    INIT_CONVENTIONS = {"initializers": {"normal": "untruncated_normal"},
                        "dense_default_init": {"layer": "torch_linear"}}

    def initialize(self, initializer, shape, hyper, seed, dtype):
        if initializer not in _INIT:
            raise UnsupportedError(f"torch: torch.nn.init has no {initializer!r} (a variance-scaling initializer "
                                   "with a free scale)")
        fill = _INIT[initializer](hyper)
        weight = torch.empty(shape[1], shape[0], dtype=DTYPES[dtype], device=self._device)  # torch's (out, in)
        generator = torch.Generator(device=self._device).manual_seed(seed)
        with torch.no_grad():
            fill(weight, hyper, generator)
        return model.as_numpy(weight.T)

    def dense_default_init(self, fan_in, fan_out, seed, dtype):
        with self._forked_rng():
            torch.manual_seed(seed)
            linear = nn.Linear(fan_in, fan_out, device=self._device, dtype=DTYPES[dtype])
        return model.as_numpy(linear.weight.detach().T), model.as_numpy(linear.bias.detach())
