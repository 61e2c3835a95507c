"""Rooms of the normalization layers (reference/normalization/): their error bounds."""
