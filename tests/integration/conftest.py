import pytest

from tests.integration.estate import Estate


@pytest.fixture
def estate(tmp_path):
    """Starts CSSM, CSLU and device processes on loopback on demand (`estate.cssm()`, `estate.cslu()`,
    `estate.device()`) and stops them all at the end of the test."""
    e = Estate(tmp_path)
    try:
        yield e
    finally:
        e.close()
