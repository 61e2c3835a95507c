"""The rooms of the losses: for ``reference/losses/<name>.py`` the bounds of the loss and its gradient live in
``conformance/losses/<name>.py`` (``forward_bound``, ``backward_bound`` and, for the losses a network bound may
end in, ``hessian_times``). ``nnspec.conformance.budgets`` finds them from the catalogue.
Spec: docs/spec/error-budgets.md#losses
"""
