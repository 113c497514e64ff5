"""Arithmetic helpers for the square notebook."""


def square(n):
    return n * n
