"""``ml ui``: the MLflow UI on this project's registry, bound to 127.0.0.1.

The project pins ``mlflow-skinny`` (no tracking server, no UI). The UI needs the full ``mlflow``
package of the same version, whose server dependencies would pull the main environment's pins around,
so it lives in a virtualenv of its own, created on the first ``ml ui`` under
``~/.cache/supervision/mlflow-venv-<version>`` (``SUPERVISION_MLFLOW_VENV`` overrides the place) with
``pip install mlflow==<the pinned skinny version>``. It serves the SQLite registry and the artifacts
under ``$SUPERVISION_HOME/mlflow`` read-only in spirit (the UI can edit tags and aliases, as any MLflow UI).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ml.errors import MLError


def pinned_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlflow-skinny")
    except PackageNotFoundError:
        raise MLError("mlflow-skinny is not installed in this environment (requirements.txt pins it)") from None


def venv_dir(ver: str) -> Path:
    env = os.environ.get("SUPERVISION_MLFLOW_VENV")
    return Path(env) if env else Path.home() / ".cache" / "supervision" / f"mlflow-venv-{ver}"


def ensure_venv(ver: str) -> Path:
    d = venv_dir(ver)
    exe = d / "bin" / "mlflow"
    if exe.exists():
        return exe
    sys.stderr.write(f"first run: installing mlflow=={ver} into {d} (a few minutes, once)\n")
    d.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(d)], check=True, capture_output=True, text=True)
        subprocess.run([str(d / "bin" / "pip"), "install", "--quiet", f"mlflow=={ver}"], check=True,
                       capture_output=True, text=True)
    except subprocess.CalledProcessError as e:
        last = (e.stderr or e.stdout or "").strip().splitlines()[-1:] or ["(no output)"]
        raise MLError(f"could not install mlflow=={ver} into {d}: {last[0]}") from None
    return exe


def command(exe: Path, port: int) -> list[str]:
    from ml.registry import artifact_root, tracking_uri

    return [str(exe), "server", "--host", "127.0.0.1", "--port", str(port), "--backend-store-uri", tracking_uri(),
            "--default-artifact-root", artifact_root(), "--workers", "1"]


def run(port: int = 5000, print_only: bool = False) -> int:
    ver = pinned_version()
    if print_only:
        sys.stdout.write(" ".join(command(venv_dir(ver) / "bin" / "mlflow", port)) + "\n")
        return 0
    cmd = command(ensure_venv(ver), port)
    sys.stderr.write(f"MLflow UI on http://127.0.0.1:{port} (Ctrl-C stops it)\n")
    # its own process group: the server starts workers and job consumers, all stopped together
    proc = subprocess.Popen(cmd, start_new_session=True)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    import signal

    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            continue
