"""One torch thread for these tests: on a machine shared with other work, two OpenMP threads that wait for each
other run a small network's steps ten times slower than one (0.27 s against 2.8 s per resnet8 step at load 13)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
