"""A real Prometheus server for tests: started on a config written to a tmp dir, with its
storage there too, queried over its HTTP API, and killed at the end."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

REQUIRED_ENV = "QUANTFUND_PROMETHEUS_REQUIRED"


def binaries() -> tuple[str, str] | str:
    """Paths of ``prometheus`` and ``promtool``, or why they cannot be used."""
    found = {name: shutil.which(name) for name in ("prometheus", "promtool")}
    missing = sorted(name for name, path in found.items() if path is None)
    if missing:
        return (f"{' and '.join(missing)} not on PATH (Debian: apt-get install -y prometheus; "
                f"CI sets {REQUIRED_ENV}=1 and installs it)")
    return str(found["prometheus"]), str(found["promtool"])


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrometheusRun:
    """``prometheus`` scraping ``target`` every ``interval_s``, with ``rules`` loaded."""

    def __init__(self, binary: str, tmp: Path, target: str, rules: Path,
                 interval_s: float = 1.0) -> None:
        """Write the config and start the server (its own process group)."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = tmp / "prometheus.yml"
        every = f"{round(interval_s * 1000)}ms"  # Prometheus durations take no "1.0s"
        self.config.write_text(
            "global:\n"
            f"  scrape_interval: {every}\n"
            f"  evaluation_interval: {every}\n"
            f"rule_files:\n  - {json.dumps(str(rules))}\n"
            "scrape_configs:\n"
            "  - job_name: quantfund\n"
            f"    scrape_timeout: {every}\n"
            f"    static_configs:\n      - targets: [{json.dumps(target)}]\n"
        )
        self.log = (tmp / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={self.config}", f"--storage.tsdb.path={tmp / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.log_path = tmp / "prometheus.log"

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until ``/-/ready`` answers 200 (or the process died: its log in the error)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited {self.proc.returncode}: "
                                     f"{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            assert time.monotonic() < deadline, "prometheus not ready in time"
            time.sleep(0.1)

    def api(self, path: str, **params: str) -> Any:
        """``GET /api/v1/<path>``: its ``data`` (asserting status success)."""
        url = f"{self.base}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as resp:
            body = json.load(resp)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (or matrix, for a range selector)."""
        result: list[dict[str, Any]] = self.api("query", query=expr)["result"]
        return result

    def scalar(self, expr: str) -> float | None:
        """The one value ``expr`` yields now, or None when it yields nothing."""
        result = self.query(expr)
        assert len(result) <= 1, f"{expr} gave {len(result)} series"
        return float(result[0]["value"][1]) if result else None

    def wait_value(self, expr: str, want: float, timeout: float = 30.0) -> None:
        """Until ``expr`` queries to ``want``."""
        deadline = time.monotonic() + timeout
        seen: float | None = None
        while time.monotonic() < deadline:
            seen = self.scalar(expr)
            if seen == want:
                return
            time.sleep(0.2)
        raise AssertionError(f"{expr} = {seen}, not {want}, after {timeout} s")

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL if it lingers; the process is gone after."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.log.close()
