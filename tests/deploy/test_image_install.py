"""The image's install steps, run here without a container engine, as an unprivileged user.

The build context is made of exactly what the build stage COPYs (so a file the Dockerfile
forgets fails here too); the two scripts run with the arguments the Dockerfile gives them, the
image's paths mapped to a scratch directory; then the image's default command starts with the
image's ENV on the embedded default (SQLite) and the image's HEALTHCHECK command must pass.
PyPI must be reachable (the build stage downloads the dependencies' wheels): about a minute,
so it is marked `image_build` and runs in `make test-image` and CI's image job (conftest.py).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.dockerfile import ROOT, default_command, envs, healthcheck_command, stages
from tests.e2e.processes import free_port

NOBODY = 65534
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
# `script.sh ARG ARG` in a RUN instruction.
SCRIPT_CALL = re.compile(r"(?:^|&&|\s)([\w./-]+\.sh)\s+(/\S+)\s+(/\S+)")


def _as_user() -> list[str]:
    """The prefix that runs a command unprivileged: none when we are not root."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root and setpriv (util-linux) is missing: cannot drop to nobody")
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]


def _python_for_user(prefix: list[str]) -> str:
    """A python3 on the system path the unprivileged user may run, with pip and venv (ours
    may live under /root, which nobody can enter)."""
    for directory in SYSTEM_PATH.split(":"):
        candidate = Path(directory) / "python3"
        check = [*prefix, str(candidate), "-c", "import pip, venv"]
        if candidate.exists() and subprocess.run(check, capture_output=True).returncode == 0:
            return directory
    pytest.skip(f"no python3 with pip and venv on {SYSTEM_PATH} for the unprivileged user")


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A directory the unprivileged user owns (pytest's tmp_path sits under a 0700 parent)."""
    path = Path(tempfile.mkdtemp(prefix="matchday-image-"))
    path.chmod(0o755)
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _build_context(into: Path) -> dict[str, Path]:
    """Copy what the build stage COPYs; map each script's image path to its copy."""
    scripts: dict[str, Path] = {}
    for stage in stages().values():
        for value in stage.values("COPY"):
            if value.startswith("--from"):
                continue
            *sources, target = value.split()
            for source in sources:
                copy = into / source
                copy.parent.mkdir(parents=True, exist_ok=True)
                if (ROOT / source).is_dir():
                    shutil.copytree(
                        ROOT / source, copy, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    shutil.copy2(ROOT / source, copy)
                if source.endswith(".sh"):
                    scripts[Path(target).name] = copy
    return scripts


def _script_calls() -> list[tuple[str, str, str]]:
    """(script, first arg, second arg) of each RUN that calls an install script, in order."""
    calls = []
    for stage in stages().values():
        for value in stage.values("RUN"):
            calls += SCRIPT_CALL.findall(value)
    return calls


def _chown_tree(path: Path) -> None:
    if os.geteuid() == 0:
        for item in [path, *path.rglob("*")]:
            os.chown(item, NOBODY, NOBODY, follow_symlinks=False)


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return int(reply.status)
    except OSError:
        return 0


@pytest.mark.image_build
@pytest.mark.timeout(600)  # downloads and installs: 1 min here, several on a loaded machine
def test_image_install_steps_and_default_command(scratch: Path) -> None:
    prefix = _as_user()
    system_path = f"{_python_for_user(prefix)}:{SYSTEM_PATH}"
    context = scratch / "src"
    context.mkdir()
    scripts = _build_context(context)
    _chown_tree(context)

    calls = _script_calls()
    assert [Path(script).name for script, _, _ in calls] == [
        "build-wheels.sh",
        "install-matchday.sh",
    ], "the Dockerfile's RUN steps no longer call the two install scripts"
    (_, src, wheels), (_, wheels_again, venv) = calls
    assert wheels == wheels_again, "the runtime stage installs from another directory"
    workdir = stages()["build"].values("WORKDIR")[-1]
    assert src == workdir, "build-wheels.sh is not given the build stage's sources"
    image_paths = {src: context, wheels: scratch / "wheels", venv: scratch / "venv"}

    home = scratch / "home"
    home.mkdir()
    _chown_tree(home)
    base_env = {"HOME": str(home), "PATH": system_path, "LANG": "C.UTF-8"}
    assert os.geteuid() != 0 or prefix, "would install as root"
    for script, first, second in calls:
        argv = [str(scripts[Path(script).name]), str(image_paths[first]), str(image_paths[second])]
        done = subprocess.run([*prefix, *argv], env=base_env, capture_output=True, text=True)
        assert done.returncode == 0, f"{script} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"

    installed = scratch / "venv"
    assert not (installed / "bin" / "pip").exists(), "pip is in the runtime venv"
    who = subprocess.run([*prefix, "id", "-u"], capture_output=True, text=True, check=True)
    assert int(who.stdout) != 0

    # The image's ENV, its paths mapped here; a port of our own on loopback.
    env = {**base_env, **envs()}
    env["VIRTUAL_ENV"] = str(installed)
    env["PATH"] = f"{installed / 'bin'}:{system_path}"
    env["DATA_DIR"] = str(scratch / "data")
    port = free_port()
    env.update(HOST="127.0.0.1", PORT=str(port), DRAIN_SECONDS="3")
    (scratch / "data").mkdir()
    _chown_tree(scratch / "data")

    command = default_command()
    assert command[:2] == ["matchday", "serve"]
    log = scratch / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*prefix, *command], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=scratch
        )
    try:
        deadline = time.monotonic() + 30
        while _get(f"http://127.0.0.1:{port}/healthz") != 200:
            assert server.poll() is None, f"the server exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no /healthz:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
        assert _get(f"http://127.0.0.1:{port}/readyz") == 200
        probe = subprocess.run([*prefix, *healthcheck_command()], env=env, capture_output=True)
        assert probe.returncode == 0, f"the image's HEALTHCHECK fails: {probe.stderr!r}"
        assert any((scratch / "data").iterdir()), "the embedded database was not created"
    finally:
        server.send_signal(signal.SIGTERM)  # the image's STOPSIGNAL
        try:
            code = server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert code == 0, f"SIGTERM did not stop the server cleanly:\n{log.read_text()[-3000:]}"
