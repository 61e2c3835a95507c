"""The PyTorch backend, one module per role: ``tables`` (dtype map, primitives, activation and loss modules,
conventions), ``model`` (the one model builder), ``backend`` (``TorchBackend``: primitives and the network),
``training`` (dropout, the training step, the epoch's batches) and ``known_issues``.

Import ``nnspec.adapters.torch.backend`` for the backend; this package itself imports no framework.
"""
