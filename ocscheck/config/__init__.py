"""The site file (TOML): its schema (``sections``) and its reader (``loader``)."""
from ocscheck.config.loader import load_site, site_from_dict
from ocscheck.config.sections import (SECTIONS, ConfigError, Deployment, DnsSettings, Endpoint, HostSettings,
                                      LdapSettings, RunSettings, Site, Thresholds, TlsSettings, WinrmHost)

__all__ = ["load_site", "site_from_dict", "SECTIONS", "ConfigError", "Deployment", "DnsSettings", "Endpoint",
           "HostSettings", "LdapSettings", "RunSettings", "Site", "Thresholds", "TlsSettings", "WinrmHost"]
