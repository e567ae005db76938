"""The rehearsal's network: Linux network namespaces as hosts, each with one veth link to a
bridge. The bridge lives in a namespace of its own (`lan`), which is also where the
rehearsal's clients (spectators, the scorer) run: nothing is added to the machine's own
network namespace, so nothing outside the rehearsal can reach its servers or be reached by
them, and two rehearsals side by side do not see each other.

Names carry the orchestrator's pid (`mdr<pid>-<host>`): a rehearsal killed before its
clean-up left namespaces whose pid is gone, and the next run removes them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "mdr"
NETNS_DIR = Path("/var/run/netns")
SUBNET = "10.77.0"
LAN_ADDRESS = f"{SUBNET}.1"  # the bridge's own address: where the clients are
CLONE_NEWNET = 0x40000000


class NetworkUnavailable(RuntimeError):
    """Not root, no `ip`, or the kernel refuses network namespaces here."""


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done


def unavailable_reason() -> str | None:
    """Why namespaces cannot be built here, or None: tried for real (add, then delete)."""
    if os.geteuid() != 0:
        return "needs root (ip netns add, veth links, a bridge)"
    name = f"{PREFIX}{os.getpid()}-probe"
    try:
        run("ip", "netns", "add", name)
    except FileNotFoundError:
        return "no `ip` command (iproute2)"
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return f"network namespaces unavailable: {exc}"
    run("ip", "netns", "del", name, check=False)
    return None


@dataclass
class Host:
    name: str  # short: a, b, worker, data
    netns: str
    address: str

    def exec_argv(self, *argv: str) -> list[str]:
        """`argv` run inside this host's namespace."""
        return ["ip", "netns", "exec", self.netns, *argv]


@dataclass
class Network:
    tag: str = field(default_factory=lambda: f"{PREFIX}{os.getpid()}")
    hosts: dict[str, Host] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)  # namespaces, in creation order
    delay: str = "none"  # what the links add (netem), as reported

    @property
    def lan(self) -> str:
        return f"{self.tag}-lan"

    def _add_netns(self, name: str) -> None:
        run("ip", "netns", "add", name)
        self.created.append(name)
        run("ip", "-n", name, "link", "set", "lo", "up")

    def build(self, names: list[str]) -> None:
        """The lan namespace with its bridge, then one host per name at .10, .11, …"""
        self._add_netns(self.lan)
        run("ip", "-n", self.lan, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.lan, "addr", "add", f"{LAN_ADDRESS}/24", "dev", "br0")
        run("ip", "-n", self.lan, "link", "set", "br0", "up")
        for index, name in enumerate(names):
            netns = f"{self.tag}-{name}"
            self._add_netns(netns)
            port = f"to-{name}"[:15]
            # Both ends are created inside their namespaces: no name in the machine's own.
            run(
                *("ip", "link", "add", "eth0", "netns", netns, "type", "veth"),
                *("peer", "name", port, "netns", self.lan),
            )
            run("ip", "-n", self.lan, "link", "set", port, "master", "br0")
            run("ip", "-n", self.lan, "link", "set", port, "up")
            address = f"{SUBNET}.{10 + index}"
            run("ip", "-n", netns, "addr", "add", f"{address}/24", "dev", "eth0")
            run("ip", "-n", netns, "link", "set", "eth0", "up")
            self.hosts[name] = Host(name, netns, address)

    def add_delay(self, milliseconds: float) -> str:
        """netem on every host's eth0: what a host sends waits `milliseconds`, so host to
        host is one delay each way (a round trip two). Returns what was applied, or why not:
        kernels built without sch_netem refuse it."""
        if milliseconds <= 0:
            return "none"
        for host in self.hosts.values():
            done = run(
                *("ip", "netns", "exec", host.netns, "tc", "qdisc", "add", "dev", "eth0"),
                *("root", "netem", "delay", f"{milliseconds:g}ms"),
                check=False,
            )
            if done.returncode != 0:
                self.delay = f"unavailable ({done.stderr.strip() or 'tc failed'})"
                return self.delay
        self.delay = f"{milliseconds:g} ms egress on each host"
        return self.delay

    def set_link(self, name: str, up: bool) -> None:
        """A host's cable pulled out (down) or plugged back in (up)."""
        host = self.hosts[name]
        run("ip", "-n", host.netns, "link", "set", "eth0", "up" if up else "down")

    def enter_lan(self) -> None:
        """Move the calling process (its main thread, before any other exists) into the lan
        namespace: every socket it opens from here on is on the rehearsal's bridge."""
        enter_netns(self.lan)

    def teardown(self) -> list[str]:
        """Stop every process inside the namespaces, then delete them (their links and the
        bridge go with them). Returns what could not be removed."""
        return remove_namespaces(list(reversed(self.created)))


def enter_netns(name: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(NETNS_DIR / name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns into {name}: {os.strerror(errno)}")
    finally:
        os.close(fd)


def namespace_pids(name: str) -> set[int]:
    done = run("ip", "netns", "pids", name, check=False)
    pids = {int(pid) for pid in done.stdout.split() if pid.isdigit()}
    return pids - {os.getpid()}  # the orchestrator itself, after enter_lan()


def kill_namespace_processes(names: list[str], grace: float = 3.0) -> None:
    """SIGTERM everything running in the namespaces (all at once: a worker's warm shutdown
    and a server's drain overlap), SIGKILL what is left after `grace` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        pids = set().union(*(namespace_pids(name) for name in names)) if names else set()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while pids and time.monotonic() < deadline:
            time.sleep(0.1)
            pids = {pid for pid in pids if _alive(pid)}
        if not pids:
            return


def _alive(pid: int) -> bool:
    """Running (a zombie is not): our own children are reaped here, or they would stay."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def remove_namespaces(names: list[str]) -> list[str]:
    """Stop their processes, then delete them; the names that could not be deleted."""
    kill_namespace_processes(names)
    return [name for name in names if run("ip", "netns", "del", name, check=False).returncode]


def stale_namespaces() -> list[str]:
    """Namespaces of earlier rehearsals whose orchestrator is gone."""
    stale = []
    for path in NETNS_DIR.glob(f"{PREFIX}*-*") if NETNS_DIR.exists() else []:
        match = re.fullmatch(rf"{PREFIX}(\d+)-.+", path.name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            stale.append(path.name)
    return sorted(stale)
