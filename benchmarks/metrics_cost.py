"""The metrics endpoint's cost on the order path: tick -> order with a scrape every second vs
without, in one run.

One paper tree with ``[metrics] listen`` set runs ``benchmarks/tick_to_order.py``'s measurement
while a scraper alternates phases of ``--phase`` seconds: scraping ``/metrics`` every
``--every`` seconds (as Prometheus would), then not scraping. Each order is assigned to the
phase its tick fell in, so both sides share the same tree, the same minutes and whatever else the
machine was doing; the hub's per-event bookkeeping is on in both (``--off`` adds a second tree
with the endpoint off, which measures that part, back to back rather than interleaved).

    uv run python benchmarks/metrics_cost.py --seconds 120
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.tick_to_order import STAGES, _line, measure


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Scraper(threading.Thread):
    """GETs ``url`` every ``every`` s during alternate phases; records the scraping phases."""

    def __init__(self, url: str, phase: float, every: float) -> None:
        super().__init__(daemon=True)
        self.url, self.phase, self.every = url, phase, every
        self.stop = threading.Event()
        self.scraping: list[tuple[int, int]] = []
        """Monotonic (ns) spans while scraping."""
        self.scrapes: list[float] = []
        """Each scrape's duration (ms) and size: what one scrape costs the supervisor."""
        self.sizes: list[int] = []

    def run(self) -> None:
        on = False
        while not self.stop.is_set():
            on = not on
            start = time.monotonic_ns()
            end = start + int(self.phase * 1e9)
            while not self.stop.is_set() and time.monotonic_ns() < end:
                if on:
                    t0 = time.monotonic()
                    try:
                        with urllib.request.urlopen(self.url, timeout=5) as resp:
                            self.sizes.append(len(resp.read()))
                        self.scrapes.append((time.monotonic() - t0) * 1000)
                    except OSError:
                        pass  # the tree is not up yet (or already stopping)
                self.stop.wait(self.every if on else 0.05)
            if on:
                self.scraping.append((start, time.monotonic_ns()))


def main() -> int:
    """Run and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--interval", type=float, default=0.02, help="loop interval_s")
    ap.add_argument("--phase", type=float, default=10.0, help="seconds per scrape/no-scrape phase")
    ap.add_argument("--every", type=float, default=1.0, help="seconds between scrapes")
    ap.add_argument("--off", action="store_true",
                    help="then a second tree with the endpoint off, as long")
    args = ap.parse_args()
    port = _free_port()
    scraper = Scraper(f"http://127.0.0.1:{port}/metrics", args.phase, args.every)
    scraper.start()
    windows: list[tuple[int, int]] = []
    load0 = os.getloadavg()
    try:
        stages = measure(args.seconds, args.interval, "", 0.05, windows,
                         extra=f'\n[metrics]\nlisten = "127.0.0.1:{port}"\n')
    finally:
        scraper.stop.set()
        scraper.join(timeout=10)
    lat = stages[STAGES[0]]
    if not lat or not scraper.scrapes:
        print("no orders reached the venue, or no scrape answered")
        return 1

    def scraped(tick_ns: int) -> bool:
        return any(a <= tick_ns < b for a, b in scraper.scraping)

    sides: dict[str, list[float]] = {"scraped every second": [], "not scraped": []}
    for (tick_ns, _), ms in zip(windows, lat, strict=True):
        sides["scraped every second" if scraped(tick_ns) else "not scraped"].append(ms)
    print(f"{len(lat)} orders, loop every {args.interval * 1000:.0f} ms, phases of "
          f"{args.phase:.0f} s, load {load0[0]:.2f} -> {os.getloadavg()[0]:.2f}")
    print(f"{len(scraper.scrapes)} scrapes of {sum(scraper.sizes) // len(scraper.sizes)} B: "
          f"median {sorted(scraper.scrapes)[len(scraper.scrapes) // 2]:.2f} ms, "
          f"max {max(scraper.scrapes):.2f} ms")
    print(f"{'tick -> order accepted (ms)':<46}{'median':>10}{'p90':>10}{'p99':>10}{'max':>10}"
          f"{'orders':>8}")
    for name, values in sides.items():
        if values:
            print(f"{_line(name, values)}{len(values):>8}")
    if args.off:
        off = measure(args.seconds, args.interval, "", 0.05)[STAGES[0]]
        if off:
            print(f"{_line('endpoint off (second tree, after)', off)}{len(off):>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
