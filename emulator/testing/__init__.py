"""Helpers for test suites that drive slpemu: a whole licensing estate (CSSM, CSLU, devices) started as
separate processes on loopback (`estate`), also offered as pytest fixtures by `emulator.pytest_plugin`."""
