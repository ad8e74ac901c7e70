"""ocscheck: pre-flight and post-install checks for OCS 2007 R2 Standard Edition.

The Python API (see ocscheck.api): ``run(load_site(path), "post") -> RunReport``. The names are
loaded on first use so that ``ocscheck --help`` does not import the checks' machinery.
"""
__version__ = "0.1.0"

_API = {"run": "ocscheck.api", "RunSetup": "ocscheck.api", "SelectionError": "ocscheck.api",
        "load_recording": "ocscheck.api", "save_recording": "ocscheck.api", "load_site": "ocscheck.config",
        "ConfigError": "ocscheck.config", "Inputs": "ocscheck.facts", "Phase": "ocscheck.model",
        "Status": "ocscheck.model", "RunReport": "ocscheck.reports"}
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'ocscheck' has no attribute {name!r}")
