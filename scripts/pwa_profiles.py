#!/usr/bin/env python3
"""Lighthouse on the keeper app for three phones/networks, first visit and repeat visit.

Each profile runs N times (default 3) and prints the median with the machine's load average:
the machine is shared, and Lighthouse's simulated throttling scales the main-thread work it
observes, so a busy machine reads slower.

    python3 scripts/pwa_profiles.py http://127.0.0.1:8000/app/            # first + repeat visits
    python3 scripts/pwa_profiles.py URL --runs 5 --only 12x --no-repeat

First visit: a fresh browser profile per run (what `../shared/tools/pwa-audit` measures).
Repeat visit: one browser profile whose service worker has installed (a warm-up visit, then a
pause), audited without resetting storage: the page, modules and catalog come from the worker.
Needs /usr/bin/chromium (or CHROME_PATH) and npm; installs lighthouse@13 once into
$LIGHTHOUSE_DIR (default ~/.cache/cunzhan-lighthouse), as pwa-audit does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROFILES = {
    "4x": (4, 150, 1638.4, "4× CPU, 150 ms RTT, 1.6 Mbps (Lighthouse default)"),
    "12x": (12, 300, 750, "12× CPU, 300 ms RTT, 750 kbps (cheap Android, village 3G)"),
    "20x": (20, 400, 400, "20× CPU, 400 ms RTT, 400 kbps (older phone, weak signal)"),
}
CHROME_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def lighthouse_bin() -> Path:
    directory = Path(
        os.environ.get("LIGHTHOUSE_DIR") or Path.home() / ".cache" / "cunzhan-lighthouse"
    )
    binary = directory / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "init", "-y"], cwd=directory, check=True, capture_output=True)
        subprocess.run(["npm", "install", "--silent", "lighthouse@13"], cwd=directory, check=True)
    return binary


def chrome_path() -> str:
    path = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        sys.exit(f"no Chromium at {path}: apt-get install -y chromium")
    return path


NICE = 0  # --nice: the audited browser's scheduling priority (root may raise it on a busy machine)


def run_lighthouse(url: str, profile: str, port: int | None = None) -> dict:
    cpu, rtt, kbps, _ = PROFILES[profile]
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        report = out.name
    command = [
        str(lighthouse_bin()),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={report}",
        "--throttling-method=simulate",
        f"--throttling.cpuSlowdownMultiplier={cpu}",
        f"--throttling.rttMs={rtt}",
        f"--throttling.throughputKbps={kbps}",
        "--only-categories=performance,accessibility,best-practices",
    ]
    if port is None:
        command.append("--chrome-flags=" + " ".join(CHROME_FLAGS))
    else:
        command += [f"--port={port}", "--disable-storage-reset"]
    env = dict(os.environ, CHROME_PATH=chrome_path())
    for _ in range(3):  # on a busy machine Lighthouse now and then loses its trace
        done = subprocess.run(
            command, env=env, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.nice(NICE)
        )
        if done.returncode == 0:
            break
    else:
        sys.exit(f"lighthouse failed three times on {url}")
    data = json.loads(Path(report).read_text())
    os.unlink(report)
    audits = data["audits"]
    requests = audits["network-requests"]["details"]["items"]
    return {
        "perf": data["categories"]["performance"]["score"],
        "a11y": data["categories"]["accessibility"]["score"],
        "fcp": audits["first-contentful-paint"]["numericValue"] / 1000,
        "lcp": audits["largest-contentful-paint"]["numericValue"] / 1000,
        "tti": audits["interactive"]["numericValue"] / 1000,
        "tbt": audits["total-blocking-time"]["numericValue"],
        "kib": audits["total-byte-weight"]["numericValue"] / 1024,
        "requests": len(requests),
        "load": os.getloadavg()[0],
    }


class WarmBrowser:
    """A Chromium with its own profile, kept open so the service worker stays installed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.profile_dir = tempfile.mkdtemp(prefix="cunzhan-lh-")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [
                chrome_path(),
                *CHROME_FLAGS,
                f"--remote-debugging-port={self.port}",
                f"--user-data-dir={self.profile_dir}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=lambda: os.nice(NICE),
        )
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/version", timeout=1)
                break
            except OSError:
                time.sleep(0.1)

    def warm_up(self) -> None:
        """A first visit installs the worker; its precache then finishes in the background."""
        run_lighthouse(self.url, "4x", self.port)
        time.sleep(5)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.profile_dir, ignore_errors=True)


def median_row(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def show(label: str, runs: list[dict]) -> None:
    m = median_row(runs)
    scores = ", ".join(f"{run['perf']:.2f}" for run in runs)
    print(
        f"  {label:<7} perf {m['perf']:.2f} (runs {scores})"
        f"  FCP {m['fcp']:.2f} s  LCP {m['lcp']:.2f} s  TTI {m['tti']:.2f} s"
        f"  TBT {m['tbt']:.0f} ms  {m['kib']:.1f} KiB in {m['requests']:.0f} requests"
        f"  a11y {m['a11y']:.2f}  load avg {m['load']:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", action="append", choices=sorted(PROFILES))
    parser.add_argument("--no-repeat", action="store_true", help="first visits only")
    parser.add_argument("--no-first", action="store_true", help="repeat visits only")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="run the browser at this niceness (e.g. -10 as root): less noise on a busy machine",
    )
    args = parser.parse_args()
    global NICE
    NICE = args.nice
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"{args.url}  {args.runs} runs per line, medians, nice {NICE};  uptime: {uptime}")
    for name in args.only or list(PROFILES):
        print(PROFILES[name][3], flush=True)
        if not args.no_first:
            show("first", [run_lighthouse(args.url, name) for _ in range(args.runs)])
        if not args.no_repeat:
            browser = WarmBrowser(args.url)
            try:
                browser.warm_up()
                show(
                    "repeat",
                    [run_lighthouse(args.url, name, browser.port) for _ in range(args.runs)],
                )
            finally:
                browser.close()


if __name__ == "__main__":
    main()
