"""Windows host checks (facts source: WinRM or a collector snapshot). Not built yet: see the host issue."""
from ocscheck.registry import pending

pending("host.os", title="64-bit Windows Server 2008 or 2008 R2", phases=("preflight",), needs=("winrm.server",))
pending("host.features", title="Required Windows features are installed", phases=("preflight",),
        needs=("winrm.server",))
pending("host.vcredist", title="Visual C++ 2008 x64 redistributable is installed", phases=("preflight",),
        needs=("winrm.server",))
pending("host.kb974571", title="KB974571 is not blocking activation", phases=("preflight", "post"),
        severity="critical", needs=("winrm.server",))
pending("host.kb975858", title="KB975858 is installed on Windows Server 2008 R2", phases=("preflight",),
        needs=("winrm.server",))
pending("host.pending-reboot", title="No reboot is pending", phases=("preflight", "post"), severity="medium",
        needs=("winrm.server",))
pending("host.virtual", title="The server is not a virtual machine", phases=("preflight", "post"),
        severity="low", needs=("winrm.server",))
pending("host.install-paths", title="Program files, logs and database are off the system drive",
        phases=("post",), severity="low", needs=("winrm.server",))
pending("host.services", title="Every installed OCS service is running", phases=("post",),
        severity="critical", needs=("winrm.server",))
pending("host.ocs-version", title="OCS 2007 R2 (major version 4) at the required build", phases=("post",),
        severity="medium", needs=("winrm.server",))
