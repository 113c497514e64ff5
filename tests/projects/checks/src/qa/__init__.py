"""Integrity checks of the checks fixture project."""
