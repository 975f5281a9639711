"""One AMI session for a CLI command: connect once, fail fast with the reason, close."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from trunkconsole.ami.connection import AmiConnection, State, Status
from trunkconsole.errors import OperatorError
from trunkconsole.settings import AmiTarget


@asynccontextmanager
async def ami_session(target: AmiTarget, timeout: float = 10.0) -> AsyncIterator[AmiConnection]:
    """Yield a logged-in connection; raise OperatorError at the first failure (no retry)."""
    settled: asyncio.Future[Status] = asyncio.get_running_loop().create_future()

    def watch(status: Status) -> None:
        failed_once = status.state is State.RECONNECTING and bool(status.reason)
        if not settled.done() and (status.state in (State.CONNECTED, State.FAILED)
                                   or failed_once):
            settled.set_result(status)

    connection = AmiConnection(target, on_status=watch)
    connection.start()
    try:
        try:
            status = await asyncio.wait_for(settled, timeout)
        except TimeoutError:
            raise OperatorError(f"AMI at {target.address} did not answer within "
                                f"{timeout:.0f} s") from None
        if status.state is not State.CONNECTED:
            raise OperatorError(f"cannot use AMI at {target.address}: {status.reason}")
        yield connection
    finally:
        await connection.close()
