"""Ploomber-style hooks: the function asks for what it needs by parameter name."""


def check_numbers(product, params):
    with open(str(product["data"])) as handle:
        numbers = handle.read().split()
    assert len(numbers) == params["count"] > 0, f"expected {params['count']} numbers, got {len(numbers)}"
