import random

import pytest


def make_cpf(rng: random.Random) -> str:
    digits = [rng.randrange(10) for _ in range(9)]
    for length in (9, 10):
        total = sum(d * (length + 1 - i) for i, d in enumerate(digits))
        digits.append(0 if total * 10 % 11 == 10 else total * 10 % 11)
    return "".join(map(str, digits))


@pytest.fixture
def cpf() -> str:
    """A valid CPF no other test uses."""
    return make_cpf(random.Random())
