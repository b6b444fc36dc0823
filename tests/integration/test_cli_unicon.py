"""A pyATS test bed (`os: iosxe`) connects with unicon over SSH, as a lab would, and parses with genie."""

from __future__ import annotations

import pytest

from test_cli_genie import check_status, check_summary, use_licences
from test_cli_support import PASSWORD, USER, router_factory, router  # noqa: F401

TESTBED = """
devices:
  Router:
    os: iosxe
    type: router
    credentials:
      default:
        username: {user}
        password: {password}
    connections:
      defaults:
        class: unicon.Unicon
      cli:
        protocol: ssh
        ip: 127.0.0.1
        port: {port}
        ssh_options: "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
        settings:
          POST_DISCONNECT_WAIT_SEC: 0
          GRACEFUL_DISCONNECT_WAIT_SEC: 0.2
"""


@pytest.fixture
def testbed_device(router, tmp_path):
    from pyats.topology import loader
    path = tmp_path / "testbed.yaml"
    path.write_text(TESTBED.format(user=USER, password=PASSWORD, port=router.port))
    testbed = loader.load(str(path))
    dev = testbed.devices["Router"]
    dev.connect(log_stdout=False, learn_hostname=True, connection_timeout=30, init_exec_commands=None)
    try:
        yield router, dev
    finally:
        dev.disconnect()


def test_unicon_connects_configures_and_parses(testbed_device):
    router, dev = testbed_device
    device = router.device
    assert device.system.logging_console is False      # unicon's init config: `no logging console`
    version = dev.parse("show version")
    assert version["version"]["version"] == str(device.release)
    assert version["version"]["xe_version"] == device.release.display
    assert version["version"]["hostname"] == device.hostname
    use_licences(device)
    check_summary(dev.parse("show license summary"), device)
    check_status(dev.parse("show license status"), device)
    dev.configure("license smart usage interval 20\nlicense smart transport smart\nlicense smart url default")
    assert device.setting("usage_interval") == 20 and device.setting("transport") == "smart"
    status = dev.parse("show license status")
    check_status(status, device)
    assert status["usage_reporting"]["reporting_push_interval"].split()[0] == "20"
    out = dev.execute("show running-config | include license smart")
    assert "license smart usage interval 20" in out
    # a command error is raised as unicon sees it on a real router
    from unicon.core.errors import SubCommandFailure
    with pytest.raises(SubCommandFailure):
        dev.execute("show license nonsense")
