"""Lab fixtures shared by several test modules."""
pytest_plugins = ["tests.lab.dnsmasq"]
