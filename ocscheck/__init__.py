"""ocscheck: pre-flight and post-install checks for OCS 2007 R2 Standard Edition."""
__version__ = "0.1.0"
