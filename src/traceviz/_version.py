"""The version of traceviz, read by the build (hatch) and by the result cache."""

__version__ = "0.1.0"
