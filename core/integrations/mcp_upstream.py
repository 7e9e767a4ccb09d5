"""The proxy's connection to its upstream MCP server, which may go away and come back.

An upstream command can crash, an upstream URL can restart. The proxy must then fail the
call in hand (nothing is forwarded to a server that does not answer) and not stay broken
for the next one. So the connection is owned by one long-lived task: anyio's task groups
and cancel scopes, which the SDK's transports open, must be left by the task that entered
them, while calls arrive on many tasks (one per request over HTTP). A caller asks the
owner for a live session; the owner connects (starts the command again, or opens the URL
again) on demand, and closes a session a caller found dead.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
from anyio.abc import TaskStatus
from mcp import ClientSession

from core.errors import InvalidData

CONNECT_TIMEOUT = 30.0  # starting the command (or reaching the URL) and initialize
PING_TIMEOUT = 10.0  # the upstream must answer a ping before an approved call is claimed

Connector = Callable[[], AbstractAsyncContextManager[ClientSession]]


def connector(command: list[str] | None, url: str | None) -> Connector:
    """How to open one initialized session: start `command` over stdio, or open `url`."""
    @asynccontextmanager
    async def connect() -> AsyncIterator[ClientSession]:
        async with contextlib.AsyncExitStack() as stack:
            if command:
                from mcp import StdioServerParameters, stdio_client

                params = StdioServerParameters(command=command[0], args=command[1:])
                try:
                    read, write = await stack.enter_async_context(stdio_client(params))
                except OSError as e:
                    raise InvalidData("upstream", f"cannot start {command[0]}: {e}") from e
            else:
                from mcp.client.streamable_http import streamable_http_client

                read, write = (await stack.enter_async_context(streamable_http_client(url)))[:2]
            session = await stack.enter_async_context(ClientSession(read, write))
            await session.initialize()
            yield session
    return connect


class Upstream:
    """A live upstream session on request, reconnecting after the last one was dropped."""

    def __init__(self, connect: Connector, what: str) -> None:
        self._connect = connect
        self.what = what  # for messages: the command or the URL
        self._session: ClientSession | None = None
        self._scope: anyio.CancelScope | None = None  # the owner's current connection
        self._error: BaseException | None = None
        self._lock = anyio.Lock()
        self._send, self._receive = anyio.create_memory_object_stream[
            tuple[anyio.Event, anyio.CancelScope]]()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The owner task: one connection at a time, opened when asked, closed when dropped."""
        task_status.started()
        async with self._receive:
            async for ready, scope in self._receive:
                self._error = None
                with scope:
                    try:
                        async with self._connect() as session:
                            self._session = session
                            ready.set()
                            await anyio.sleep_forever()
                    except Exception as e:  # noqa: BLE001 - reported to the caller
                        self._error = e
                    finally:
                        self._session = None
                ready.set()

    async def session(self) -> ClientSession:
        """The live session, connecting first if there is none; InvalidData `upstream` if
        the upstream cannot be started or reached."""
        async with self._lock:
            if self._session is not None:
                return self._session
            ready, scope = anyio.Event(), anyio.CancelScope()
            self._scope = scope
            await self._send.send((ready, scope))
            with anyio.move_on_after(CONNECT_TIMEOUT):
                await ready.wait()
            if self._session is None:
                scope.cancel()
                why = _reason(self._error) if self._error else f"no answer in {CONNECT_TIMEOUT:g}s"
                raise InvalidData("upstream", f"cannot connect to the upstream MCP server "
                                  f"{self.what}: {why}")
            return self._session

    def drop(self, session: ClientSession) -> None:
        """Close `session` (found dead); the next `session()` connects again."""
        if self._session is session and self._scope is not None:
            self._scope.cancel()
            self._session = None

    async def alive(self) -> ClientSession:
        """A session that just answered a ping: the current one, or after one reconnection."""
        for _ in range(2):  # the current session, then one fresh connection
            session = await self.session()
            if await _answers(session):
                return session
            self.drop(session)
        raise InvalidData("upstream", f"the upstream MCP server {self.what} does not answer, "
                          "even after reconnecting")

    def close(self) -> None:
        self._send.close()
        if self._scope is not None:
            self._scope.cancel()


async def _answers(session: ClientSession) -> bool:
    with anyio.move_on_after(PING_TIMEOUT):
        try:
            await session.send_ping()
            return True
        except Exception:  # noqa: BLE001 - any failure means gone
            return False
    return False


def _reason(error: BaseException) -> str:
    """One line from an error that may be an exception group from a transport."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    if hasattr(error, "message"):
        return str(error.message)
    return f"{type(error).__name__}: {error}"
