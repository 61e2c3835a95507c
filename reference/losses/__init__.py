"""Losses: mean squared error, binary cross-entropy (of probabilities and of logits), softmax cross-entropy."""
