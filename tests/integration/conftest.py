import pytest


@pytest.fixture
def estate(slpemu_estate):
    """Starts CSSM, CSLU and device processes on loopback on demand (`estate.cssm()`, `estate.cslu()`,
    `estate.device()`) and stops them all at the end of the test (the plugin's `slpemu_estate`)."""
    return slpemu_estate
