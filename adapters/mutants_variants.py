"""A planted backend with two bugs in one optimizer, each behind its own hyperparameter: one cell, two distinct
failures that only the variant split of docs/report-schema.md#distinct-failures tells apart.

Run it with ``nnspec run --backend nnspec.adapters.mutants_variants:AdamTwoVariantBugs -k "steps_match_reference
and adam"``. tests/conformance/test_variant_failures.py asserts that both failures are reported, each with its
variant and a replayable case.
"""

from __future__ import annotations

from types import MappingProxyType

import torch

from nnspec.adapters.torch.backend import TorchBackend

__all__ = ["AdamTwoVariantBugs"]

#: A step counter at which 1 - beta**t == 1 in float64 for every beta < 1: no bias correction.
_UNCORRECTED_STEP = 2.0**20


class _AdamTwoVariantBugs(torch.optim.Adam):
    """torch's Adam with two bugs, each only in one variant:

    - ``amsgrad=True``: no bias correction (AMSGrad as printed in Reddi et al. 2018, where PyTorch's AMSGrad
      corrects m and v as Adam does): the step counter is held at 2**20 during torch's step;
    - ``weight_decay > 0``: the L2 term added twice (a framework adding it to the gradient and the optimizer
      adding it again): torch's step runs with twice the weight decay.
    """

    def step(self, closure=None):
        held, decays = {}, [group["weight_decay"] for group in self.param_groups]
        for group in self.param_groups:
            group["weight_decay"] = 2 * group["weight_decay"]
            for p in group["params"]:
                state = self.state[p]
                if not group["amsgrad"] or p.grad is None:
                    continue
                if len(state) == 0:  # torch's lazy initialisation, done here first
                    state.update(step=torch.tensor(0.0), exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p),
                                 max_exp_avg_sq=torch.zeros_like(p))
                held[p] = state["step"].clone()
                state["step"].fill_(_UNCORRECTED_STEP - 1)
        loss = super().step(closure)
        for group, decay in zip(self.param_groups, decays):
            group["weight_decay"] = decay
        for p, step in held.items():
            self.state[p]["step"].copy_(step + 1)
        return loss


class AdamTwoVariantBugs(TorchBackend):
    """Adam wrong only with AMSGrad (no bias correction) and, separately, only with weight decay (applied twice);
    plain Adam is torch's own."""

    name = "mutant-adam-two-variant-bugs"
    optimizer_classes = MappingProxyType({**TorchBackend.optimizer_classes, "adam": _AdamTwoVariantBugs})
