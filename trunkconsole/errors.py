"""Errors that speak to the operator: what failed, the evidence, and the fix."""

from __future__ import annotations


class OperatorError(Exception):
    """An error the operator can act on.

    Every core error that can reach a screen or the CLI is one of these, so front ends
    can show it without a traceback.
    """

    def __init__(self, what: str, *, evidence: str = "", fix: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.evidence = evidence
        self.fix = fix

    def render(self) -> str:
        """The error as plain text: what, then evidence and fix on their own lines."""
        lines = [self.what]
        if self.evidence:
            lines.append(f"  evidence: {self.evidence}")
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


class NotRootError(OperatorError):
    """The action needs root (CAP_NET_ADMIN, namespaces, chroot)."""


class MissingToolError(OperatorError):
    """A required external program is not installed."""

    def __init__(self, tool: str, package: str) -> None:
        super().__init__(
            f"'{tool}' is not installed",
            fix=f"apt-get install {package}",
        )
        self.tool = tool
        self.package = package
