"""`matchday worker`'s metrics port: `--metrics-port` when given (0 turns it off), else
METRICS_PORT, so a deployment can set it in the environment like the API's."""

from __future__ import annotations

from pathlib import Path

from config.settings import load_settings
from server.cli import _parser, worker_metrics_port


def _port(tmp_path: Path, argv: list[str], env: dict[str, str]) -> int:
    args = _parser().parse_args(["worker", *argv])
    return worker_metrics_port(args.metrics_port, load_settings({"DATA_DIR": str(tmp_path), **env}))


def test_the_option_wins_then_metrics_port_then_none(tmp_path: Path) -> None:
    assert _port(tmp_path, [], {"METRICS_PORT": "9100"}) == 9100
    assert _port(tmp_path, ["--metrics-port", "9200"], {"METRICS_PORT": "9100"}) == 9200
    assert _port(tmp_path, ["--metrics-port", "0"], {"METRICS_PORT": "9100"}) == 0
    assert _port(tmp_path, [], {}) == 0
