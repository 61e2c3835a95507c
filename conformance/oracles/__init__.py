"""Oracles: exact values of the reference's primitives, computed independently of ``nnspec.reference``.

Each oracle writes a spec formula again as a SymPy expression, takes its derivatives with ``sympy.diff`` and
evaluates them with mpmath at a precision high enough that the result, rounded once to float64, is the
correctly rounded value. They are slow and meant for short inputs; the suite and the reference's own tests
compare against them within the error budgets of ``nnspec.conformance.budgets``.
"""
