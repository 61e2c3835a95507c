"""Optimizers: one module per algorithm, each with a pure ``init(param, ...)`` and ``step(param, grad, state, ...)``.

Every optimizer acts on one parameter array at a time (the caller loops over a network's tensors). Its state is
a ``typing.NamedTuple`` whose fields use PyTorch's state names (``momentum_buffer``, ``sum``, ``square_avg``,
``grad_avg``, ``acc_delta``, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``, ``exp_inf``, ``mu_product``) plus
the int ``step``: the number of steps already taken. Where frameworks disagree, a keyword argument with string
values names the convention (``eps_placement``, ``momentum_buffer``, ``amsgrad_max_of``, ``weight_decay_mode``,
``momentum_schedule``); each module's ``CONVENTIONS`` names its vocabulary, ``profiles.py`` lists which values each
framework uses, and ``nnspec.reference.catalogue.OPTIMIZERS`` registers the modules.

Spec: docs/spec/optimizers.md
"""
