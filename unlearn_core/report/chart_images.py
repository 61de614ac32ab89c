"""SVG images of plotly figures for the printed report, drawn by one kaleido browser (the system
chromium) in which every step has a deadline: a chromium that cannot start, or starts and hangs,
is one ``UnlearnError`` within ``START_SECONDS``, never a wait.

kaleido's own sync server starts chromium in a thread of its own and, when chromium fails there,
leaves the caller waiting on a queue forever; here the browser runs on an event loop in a daemon
thread and each call waits on a future with a timeout, after which the browser is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, Optional

from unlearn_core.errors import UnlearnError

START_SECONDS = 60.0  # chromium up, with kaleido's page loaded
CHART_SECONDS = 60.0  # one chart drawn
STOP_SECONDS = 15.0  # the browser closed (then killed)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:120]}" if text else type(err).__name__


class ChartImages:
    """``with ChartImages() as images: images.svg(figure_dict, width, height)``: one browser
    for every chart of a rendering. ``chromium``: the browser to use when ``$BROWSER_PATH``
    does not name one (kaleido reads that variable)."""

    def __init__(self, chromium: str = "/usr/bin/chromium",
                 start_seconds: Optional[float] = None,
                 chart_seconds: Optional[float] = None) -> None:
        self.chromium = chromium
        self.start_seconds = START_SECONDS if start_seconds is None else start_seconds
        self.chart_seconds = CHART_SECONDS if chart_seconds is None else chart_seconds
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._kaleido: Any = None

    def __enter__(self) -> "ChartImages":
        if Path(self.chromium).exists():
            os.environ.setdefault("BROWSER_PATH", self.chromium)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="report-chart-images")
        self._thread.start()
        try:
            self._call(self._open(), self.start_seconds, "start")
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    async def _open(self) -> None:
        import kaleido

        k = kaleido.Kaleido(n=1, timeout=self.chart_seconds, mathjax=False)
        self._kaleido = k  # kept before it opens: a timed-out start still gets closed
        await k.open()

    def _call(self, coro, seconds: float, what: str):
        """Run ``coro`` on the browser's loop; an ``UnlearnError`` when it fails or is not
        done within ``seconds``."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout=seconds)
        except FutureTimeout:
            self._kill()  # the coroutine then fails at once: its error is collected here
            with contextlib.suppress(Exception):
                future.result(timeout=STOP_SECONDS)
            future.cancel()
            raise UnlearnError(f"static charts for the PDF: chromium did not {what} within "
                               f"{seconds:g} s (is /usr/bin/chromium or $BROWSER_PATH a working "
                               "browser?)") from None
        except UnlearnError:
            raise
        except Exception as err:  # no chromium, a browser that exits at once, a failed chart
            raise UnlearnError(f"static charts for the PDF need kaleido and chromium "
                               f"({_first_line(err)})") from None

    def svg(self, figure: dict, width: int, height: int) -> bytes:
        """The figure (a plotly figure dict) as SVG bytes."""
        if self._kaleido is None:
            raise UnlearnError("static charts for the PDF: the browser is not started")
        opts = dict(format="svg", width=width, height=height, scale=1)
        return self._call(self._kaleido.calc_fig(figure, opts=opts), self.chart_seconds,
                          "draw a chart")

    def _kill(self) -> None:
        """Kill the browser's process group (chromium runs in a session of its own, under a
        wrapper process)."""
        proc = getattr(self._kaleido, "subprocess", None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (AttributeError, OSError):  # no process groups here, or already gone
            with contextlib.suppress(OSError):
                proc.kill()

    def _stop(self) -> None:
        """Close the browser (kill it when it does not close) and end the loop's thread."""
        k, loop = self._kaleido, self._loop
        if loop is None:
            return
        if k is not None:
            future = asyncio.run_coroutine_threadsafe(k.close(), loop)
            try:
                future.result(timeout=STOP_SECONDS)
            except Exception:  # a browser that never opened or does not close: killed below
                future.cancel()
            self._kill()
        self._kaleido = None
        future = asyncio.run_coroutine_threadsafe(_cancel_pending(), loop)
        with contextlib.suppress(Exception):
            future.result(timeout=STOP_SECONDS)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=STOP_SECONDS)
        if self._thread is None or not self._thread.is_alive():
            loop.close()
        self._loop = self._thread = None


async def _cancel_pending() -> None:
    """Cancel what the browser left running on the loop (its watchdog), so it ends quietly."""
    rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in rest:
        task.cancel()
    await asyncio.gather(*rest, return_exceptions=True)
