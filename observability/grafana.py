"""Posting the agent's decisions to Grafana's annotations API, when a Grafana URL and token are set.

Configured by ``OPENLORA_GRAFANA_URL`` and ``OPENLORA_GRAFANA_TOKEN``. Each decision becomes one
annotation tagged ``openlora``, the run id and the action, with the diagnosis, the tool call and the
rule's reason as its text. A Grafana that is down never stops the supervisor: the error is returned,
not raised.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request


def configured() -> tuple[str, str] | None:
    url, token = os.environ.get("OPENLORA_GRAFANA_URL"), os.environ.get("OPENLORA_GRAFANA_TOKEN")
    return (url.rstrip("/"), token) if url and token else None


def post_annotation(
    url: str, token: str, run: str, action: str, text: str, timeout: float = 3.0
) -> str | None:
    """POST /api/annotations; returns None on success, else the error in words."""
    body = {
        "time": int(time.time() * 1000),
        "tags": ["openlora", run, action],
        "text": " ".join(text.split())[:500],
    }
    request = urllib.request.Request(
        f"{url}/api/annotations",
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except (urllib.error.URLError, OSError) as exc:
        return str(exc)
