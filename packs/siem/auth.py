"""Linux authentication lines (auth.log, secure, journald): sshd, sudo, su and PAM messages as fields.

What it is for: :func:`auth_fields`, which recognises an authentication message by its program and
its wording (``Failed password for … from IP port N``, ``sudo: user : … ; USER=root ; COMMAND=…``,
``pam_unix(su:session): session opened for user root by alice``) and returns the action, user, source
and target as fields; and :data:`FAILURES`, the actions that make an event at least medium severity.
What it is not for: the line's syslog envelope (time, host, program), parsed in ``lines``.
"""

from __future__ import annotations

import re

AUTH_APPS = {"sshd", "sudo", "su", "login", "systemd-logind", "passwd", "useradd", "usermod", "groupadd"}
IP = r"(?P<source_ip>[0-9a-fA-F:.]+)"
PATTERNS = (
    ("failed password", re.compile(rf"^Failed (?:password|publickey) for (?:invalid user )?(?P<user>\S+) from {IP}(?: port (?P<port>\d+))?")),  # noqa: E501
    ("accepted login", re.compile(rf"^Accepted (?P<method>\S+) for (?P<user>\S+) from {IP}(?: port (?P<port>\d+))?")),  # noqa: E501
    ("invalid user", re.compile(rf"^Invalid user (?P<user>\S*) from {IP}(?: port (?P<port>\d+))?")),
    ("disconnected", re.compile(rf"^(?:Disconnected from|Connection closed by) (?:(?:authenticating|invalid) )?(?:user (?P<user>\S+) )?{IP}(?: port (?P<port>\d+))?")),  # noqa: E501
    ("sudo command", re.compile(r"^\s*(?P<user>\S+) : (?:.*; )?USER=(?P<target_user>\S+) ; COMMAND=(?P<command>.+)$")),  # noqa: E501
    ("sudo refused", re.compile(r"^\s*(?P<user>\S+) : (?:user NOT in sudoers|command not allowed|\d+ incorrect password attempts?)")),  # noqa: E501
    ("failed su", re.compile(r"^FAILED SU \(to (?P<target_user>\S+)\) (?P<user>\S+)")),
    ("su", re.compile(r"^(?:Successful su for (?P<target_user>\S+) by (?P<user>\S+)|\(to (?P<to>\S+)\) (?P<by>\S+) on)")),  # noqa: E501
    ("authentication failure", re.compile(r"^pam_\w+\((?P<service>[\w-]+):auth\): authentication failure;.*?(?:rhost=(?P<source_ip>\S+))?\s*(?:user=(?P<user>\S+))?\s*$")),  # noqa: E501
    ("session opened", re.compile(r"^pam_\w+\((?P<service>[\w-]+):session\): session opened for user (?P<target_user>[^\s(]+)(?:\(uid=\d+\))?(?: by (?P<user>[^\s(]*))?")),  # noqa: E501
    ("session closed", re.compile(r"^pam_\w+\((?P<service>[\w-]+):session\): session closed for user (?P<target_user>[^\s(]+)")),  # noqa: E501
)  # fmt: skip
FAILURES = {"failed password", "invalid user", "sudo refused", "failed su", "authentication failure"}


def is_auth(app: str, message: str) -> bool:
    """Whether a line from ``app`` saying ``message`` is an authentication event."""
    return app.rsplit("/", 1)[-1] in AUTH_APPS or message.startswith("pam_")


def auth_fields(app: str, message: str) -> dict[str, str] | None:
    """The action and its parties, or None when the message is not an authentication event."""
    if not is_auth(app, message):
        return None
    for action, pattern in PATTERNS:
        match = pattern.match(message)
        if match:
            found = {k: v for k, v in match.groupdict().items() if v}
            if "to" in found:  # su's "(to root) alice on pts/0"
                found["target_user"], found["user"] = found.pop("to"), found.pop("by", "")
            return {"action": action, **found}
    return {"action": "other"}
