"""Jikimi: find, remove and document deepfake sexual-abuse imagery."""

__version__ = "0.1.0"

__all__ = ["__version__"]
