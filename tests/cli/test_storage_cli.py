"""``rooms.data_dir`` at the daemon's start: ``--data-dir`` / ``ANNOTD_SERVE_DATA_DIR``
take the folder for the daemon's life, and a second daemon on it exits 2 naming the first."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from ..cli.test_cli import start_serve
from ..helpers import T


async def test_a_second_daemon_on_the_data_dir_exits_2_naming_the_first(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    first, _, _ = await start_serve(env={"ANNOTD_SERVE_DATA_DIR": str(folder)})
    try:
        second = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "annotd", "serve", "--ws-port", "0", "--http-port", "0", "--data-dir", str(folder),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        async with asyncio.timeout(T):
            out, err = await second.communicate()
        assert second.returncode == 2, err
        assert f"is in use by process {first.pid}".encode() in err and b"Traceback" not in err
        assert out == b""  # it never listened
        assert folder.stat().st_mode & 0o777 == 0o700
    finally:
        first.send_signal(signal.SIGTERM)
        async with asyncio.timeout(T):
            _, err = await first.communicate()
    assert first.returncode == 0
    assert b"data_dir opened" in err and b"rooms are kept on disk" in err
    third, _, _ = await start_serve("--data-dir", str(folder))  # released at exit
    third.send_signal(signal.SIGTERM)
    async with asyncio.timeout(T):
        await third.communicate()
    assert third.returncode == 0
