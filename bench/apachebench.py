"""ApacheBench (`ab`, Debian package apache2-utils) as the status page benchmark
(status_page.py) drives it: requests per second of one URL, and the headers of a repeat visitor."""

from __future__ import annotations

import re
import subprocess
import urllib.request

CONCURRENCY = 8


def ab(
    url: str, *, seconds: float, headers: tuple[str, ...] = (), expect_304: bool = False
) -> tuple[float, str]:
    """Requests per second, and a note when some answers were not the expected kind."""
    command = ["ab", "-q", "-l", "-c", str(CONCURRENCY), "-t", str(seconds), "-n", "1000000"]
    for header in headers:
        command += ["-H", header]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=False, timeout=seconds + 60
    ).stdout

    def number(label: str) -> float:
        match = re.search(rf"{label}:\s+([\d.]+)", output)
        return float(match.group(1)) if match else 0.0

    complete, failed, non_2xx = (
        number("Complete requests"),
        number("Failed requests"),
        number("Non-2xx responses"),
    )
    note = f" ({failed:.0f} failed)" if failed else ""
    # ab counts a 304 as a non-2xx answer: for repeat visitors every answer should be one.
    # (ab may count one answer more in one total than the other when -t cuts a run short.)
    unexpected = complete - non_2xx if expect_304 else non_2xx
    if unexpected > 1:
        note += f" ({unexpected:.0f} of {complete:.0f} not {'304' if expect_304 else '2xx'})"
    return number("Requests per second"), note


def repeat_visitor_headers(url: str) -> tuple[str, ...]:
    """What a browser sends on its second visit: the ETag, and any cookie it was given."""
    with urllib.request.urlopen(url, timeout=5) as answer:
        headers = [f"If-None-Match: {answer.headers['ETag']}"]
        if answer.headers["Set-Cookie"]:
            headers.append(f"Cookie: {answer.headers['Set-Cookie'].split(';', 1)[0]}")
    return tuple(headers)
