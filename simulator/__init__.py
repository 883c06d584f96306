"""Industrial-target scenario simulator for Chinese city and county manufacturing plans."""

__version__ = "0.1.0"
