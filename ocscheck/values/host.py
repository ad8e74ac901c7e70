"""A Windows host probe's output as recorded: what came back and how its bytes were decoded."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict


@dataclass(frozen=True)
class ProbeOutput:
    source: str         # "winrm http://host:5985/wsman", "snapshot FILE" or "file FILE"
    exit_code: int
    text: str
    encoding: str       # how the bytes were decoded
    stderr: str = ""

    def to_json(self) -> Dict[str, Any]:
        return {"source": self.source, "exit": self.exit_code, "text": self.text, "encoding": self.encoding,
                "stderr": self.stderr}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "ProbeOutput":
        return cls(data["source"], data["exit"], data["text"], data["encoding"], data.get("stderr", ""))
