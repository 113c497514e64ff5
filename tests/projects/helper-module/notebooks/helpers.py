"""Helpers the notebooks import; a module, not a notebook task.

It mentions parameters, upstream and product, and even assigns one, but it has
no cell tagged "parameters".
"""

product = "not a product"


def double(values):
    return [2 * value for value in values]
