"""The rooms of the activations: for ``reference/activations/<name>.py`` the bounds of its forward and backward
pass live in ``conformance/activations/<name>.py`` (``forward_bound``, ``backward_bound`` and, for the smooth
activations a network may use, ``second_derivative``). ``nnspec.conformance.budgets`` finds them from the
catalogue. Spec: docs/spec/error-budgets.md#elementwise
"""
