"""The rooms of the optimizers: for ``reference/optimizers/<name>.py`` the tracked bound of one step lives in
``conformance/optimizers/<name>.py`` as ``bound(p, g, s, h)``: the parameter and the gradient as
``errormodel.Tracked`` values, the state ``s`` (Tracked arrays and the int ``step``) and the hyperparameters,
conventions and precision facts ``h``; it returns the new parameter and the new state fields.
``nnspec.conformance.budgets.optimizer_steps`` finds them by the optimizer's name.
Spec: docs/spec/error-budgets.md#optimizers
"""
