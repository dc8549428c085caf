"""Fixtures of the distributed tests."""

import pytest
from mpi_launch import digits_npz


@pytest.fixture(scope="session")
def digits_file(tmp_path_factory):
    """digits' training part as an .npz the MPI workers load (no scikit-learn import)."""
    return digits_npz(tmp_path_factory.mktemp("data"))
