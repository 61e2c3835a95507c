"""The JAX backend, one module per role: ``tables`` (dtype map, primitives, conventions), ``model`` (the network
as a pure function of its parameters), ``backend`` (``JaxBackend``) and ``known_issues``.

Import ``nnspec.adapters.jax.backend`` for the backend; this package itself imports no framework.
"""
