"""Pure typed values and their decoders: what the facts hold and the checks judge.

Nothing here does I/O or imports from ``facts``, ``checks``, the runner, the CLI or ``reports``
(tests/test_layers.py enforces it): a value module loads without ldap3, dnspython, pyOpenSSL or
requests, and can be tested on bytes alone. Fetchers in ``facts`` return these values; checks
import them.
"""
