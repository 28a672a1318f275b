"""Log lines cannot be forged through outside values, and floods are cut short."""

from __future__ import annotations

import io
import json
import logging
import socket
from pathlib import Path

import pytest

from node.logs import FloodFilter, JsonFormatter, TextFormatter
from tests.nodes import NodeProcess, write_config

FORGED = "2030-01-01 00:00:00,000 ERROR   [-] kontor.http: FORGED"
INJECTION = "/x%0d%0a2030-01-01%2000:00:00,000%20ERROR%20%20%20[-]%20kontor.http:%20FORGED"


def _raw_get(url: str, path: str) -> bytes:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                     .encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def _node_output(tmp_path: Path, fmt: str) -> list[str]:
    ini = write_config(tmp_path / fmt, sections={"logging": {"level": "info", "format": fmt}})
    node = NodeProcess(ini).start()
    try:
        assert _raw_get(node.config.public_url, INJECTION).startswith(b"HTTP/1.1 404")
        node.signal()
        assert node.wait() == 0
        return node.output().splitlines()
    finally:
        node.stop()


def test_a_request_path_cannot_forge_a_text_log_line(tmp_path: Path) -> None:
    lines = _node_output(tmp_path, "text")
    assert not [line for line in lines if line.startswith("2030-01-01")], lines
    request_lines = [line for line in lines if "FORGED" in line]
    assert request_lines, lines
    assert all("/x\\r\\n2030-01-01" in line for line in request_lines), request_lines


def test_a_request_path_is_one_json_string_in_the_json_log(tmp_path: Path) -> None:
    lines = _node_output(tmp_path, "json")
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    forged = [r for r in records if "FORGED" in r["msg"]]
    assert forged, lines
    assert all("/x\r\n" + FORGED in r["msg"] for r in forged), forged


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()])
def test_controls_separators_and_surrogates_in_values_stay_on_one_line(
        formatter: logging.Formatter) -> None:
    record = logging.LogRecord("kontor.test", logging.WARNING, __file__, 1,
                               "peer said %s", ("a\nb\rc\x1b[31m\u2028d\u202ee\ud800",),
                               None)
    record.detail = "x\ny"
    text = formatter.format(record)
    assert len(text.splitlines()) == 1, text
    text.encode("utf-8")  # writable to any UTF-8 stream
    if isinstance(formatter, JsonFormatter):
        assert json.loads(text)["detail"] == "x\ny"


def test_a_traceback_cannot_forge_a_line_either() -> None:
    try:
        raise ValueError("bad\n" + FORGED)
    except ValueError:
        import sys
        exc_info = sys.exc_info()
    record = logging.LogRecord("kontor.test", logging.ERROR, __file__, 1, "failed", (),
                               exc_info)
    lines = TextFormatter().format(record).splitlines()
    assert all(line.startswith("  | ") for line in lines[1:]), lines
    assert any(FORGED in line for line in lines)


def test_a_flood_of_one_error_is_cut_to_a_few_lines_a_second_and_counted() -> None:
    now = [100.0]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    handler.addFilter(FloodFilter(burst=5, window=1.0, clock=lambda: now[0]))
    log = logging.getLogger("kontor.test.flood")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        for _ in range(10_000):
            log.error("socket.accept() out of system resource")
        log.info("GET %s %d", "/health", 200)  # request lines are never dropped
        assert len(stream.getvalue().splitlines()) == 6
        now[0] += 1.5
        log.error("socket.accept() out of system resource")
        last = stream.getvalue().splitlines()[-1]
        assert "suppressed=9995" in last, last
    finally:
        log.removeHandler(handler)
        log.propagate = True
        log.setLevel(logging.NOTSET)
