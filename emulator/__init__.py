"""Emulator of the Smart Licensing Using Policy subsystem of Cisco IOS XE routers."""

__version__ = "0.1.0"
