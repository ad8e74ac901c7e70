"""The lab's fixtures, registered once for the whole suite.

Registering (rather than importing fixtures into test modules) matters for the session-scoped
Samba DC: an imported session fixture is instantiated once per importing module, which would start
a second DC on the same address.
"""
pytest_plugins = ["tests.lab.dnsmasq", "tests.lab.samba", "tests.lab.tls_lab", "tests.winrm_endpoint"]
