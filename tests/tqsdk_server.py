"""A local stand-in for TqSdk's servers, for end-to-end tests of the real, unmodified tqsdk.

One aiohttp application on 127.0.0.1 serves what ``TqApi`` + ``get_tick_data_series`` +
``query_his_cont_quotes`` need, selected through TqSdk's own environment variables
(``env()`` returns them):

* ``TQ_AUTH_URL``: the OpenID token endpoint (a JWT whose ``grants.features`` carry
  ``tq_dl``; TqSdk reads it without checking the signature) and the grant-expiry query;
* ``TQ_MD_URL``: the market-data websocket, speaking the protocol of the recorded sessions
  in ``data/real-ticks/raw``: ``rsp_login``; ``rtn_data`` only in answer to ``peek_message``;
  ``mdhis_more_data``; ``ins_query`` (answered like the server does for contracts listed
  before 2020-09: an error carrying the query's variables, which makes TqSdk take the
  contract from its bundled list); ``set_chart`` tick windows of ``view_width`` ids from
  ``focus_datetime`` or ``left_kline_id``, with empty prices as ``""`` like the real feed;
* ``TQ_CONT_TABLE_URL`` / ``TQ_CHINESE_HOLIDAY_URL``: the main-contract table and holidays.

Modes: ``password`` (anything else is refused with HTTP 401 as the real endpoint does),
``features`` (drop ``tq_dl`` for an account without Pro), ``silent`` (the websocket accepts
and never answers), ``page_width`` (smaller tick pages) and ``stall_at_chart`` (that tick
request and the rest of its session get no answer: a download that hangs mid-series).
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import jwt
import numpy as np
import pandas as pd
from aiohttp import WSMsgType, web
from shinny_calendar import CalendarUtility

TOKEN_PATH = "/auth/realms/shinnytech/protocol/openid-connect/token"
GRANT_PATH = "/auth/realms/shinnytech/rest/get-grant/tq"


def tick_record(row: pd.Series) -> dict[str, Any]:
    """One tick as the real feed sends it: volumes as ints, missing prices as ""."""
    out: dict[str, Any] = {"datetime": int(row["datetime"])}
    for key, value in row.items():
        if key in ("id", "datetime", "symbol", "duration"):
            continue
        if isinstance(value, float) and math.isnan(value):
            out[str(key)] = ""
        elif "volume" in str(key) or key == "open_interest":
            out[str(key)] = int(value)
        else:
            out[str(key)] = float(value)
    return out


@dataclass
class StandIn:
    user: str = "tester"
    password: str = "right-password"
    features: list[str] = field(default_factory=lambda: ["futr", "tq_dl"])
    silent: bool = False
    ticks: dict[str, pd.DataFrame] = field(default_factory=dict)  # contract -> frame
    cont_table: dict[str, list[list[str]]] = field(default_factory=dict)
    port: int = 0
    logins: int = 0
    charts: list[dict[str, Any]] = field(default_factory=list)
    page_width: int = 0  # serve tick windows of this many ids (0: the view_width asked for)
    stall_at_chart: int = 0  # go quiet on the websocket at this tick request (1-based; 0: never)
    _encoded: dict[str, tuple[np.ndarray, np.ndarray, list[str]]] = field(default_factory=dict)

    # -- HTTP --------------------------------------------------------------------------
    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.logins += 1
        if form.get("username") != self.user or form.get("password") != self.password:
            body = {"error": "invalid_grant", "error_description": "Invalid user credentials"}
            return web.json_response(body, status=401)
        claims = {
            "sub": "00000000-test",
            "exp": int(time.time()) + 3600,
            "grants": {"features": self.features, "accounts": []},
        }
        token = jwt.encode(claims, "a stand-in key of at least 32 bytes", algorithm="HS256")
        return web.json_response({"access_token": token, "refresh_token": "r"})

    async def grant(self, request: web.Request) -> web.Response:
        body = {"exp": int(time.time()) + 86400 * 365, "daysleft": 365, "account_type": "pro"}
        return web.json_response(body)

    async def conts(self, request: web.Request) -> web.Response:
        return web.json_response(self.cont_table)

    async def holidays(self, request: web.Request) -> web.Response:
        days = sorted(d.isoformat() for d in CalendarUtility().holidays)
        return web.json_response(days)

    # -- the market-data websocket ------------------------------------------------------
    async def md(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        if self.silent:
            async for _ in ws:
                pass
            return ws
        pending: list[str] = [
            json.dumps({"account_id": "", "ins_list": "", "mdhis_more_data": False})
        ]
        peeked = False

        async def flush() -> None:
            nonlocal peeked, pending
            if peeked and pending:
                data, pending, peeked = pending, [], False
                await ws.send_str('{"aid": "rtn_data", "data": [' + ",".join(data) + "]}")

        await ws.send_str(json.dumps({"aid": "rsp_login", "account_id": "", "session_id": "S"}))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            pack = json.loads(msg.data)
            aid = pack.get("aid")
            if aid == "peek_message":
                peeked = True
            elif aid == "ins_query":
                answer = {"symbols": {pack["query_id"]: self.symbol_answer(pack)}}
                pending.append(json.dumps(answer))
            elif aid == "set_chart" and pack.get("ins_list"):
                self.charts.append(pack)
                if len(self.charts) == self.stall_at_chart:
                    async for _ in ws:  # a stalled session: the connection stays, nothing comes
                        pass
                    return ws
                pending.append(self.chart_diff(pack))
            await flush()
        return ws

    def symbol_answer(self, pack: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "error": "no such instrument in the stand-in",
            "query": pack["query"],
        }
        if "variables" in pack:
            answer["variables"] = pack["variables"]
        return answer

    def encoded(self, symbol: str) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
        """A contract's ids, times and one JSON member per tick, made once: the stand-in
        must stay a small share of the CPU next to the client it serves (``bench/tqsdk.py``)."""
        if symbol not in self._encoded:
            frame = self.ticks.get(symbol)
            if frame is None or len(frame) == 0:
                return None
            members = [
                f'"{int(r["id"])}": {json.dumps(tick_record(r))}' for _, r in frame.iterrows()
            ]
            self._encoded[symbol] = (
                frame["id"].to_numpy(dtype="int64"),
                frame["datetime"].to_numpy(dtype="int64"),
                members,
            )
        return self._encoded[symbol]

    def chart_diff(self, req: dict[str, Any]) -> str:
        symbol = req["ins_list"].split(",")[0]
        encoded = self.encoded(symbol)
        width = self.page_width or int(req.get("view_width", 2000))
        chart: dict[str, Any] = {"more_data": False, "ready": True, "state": req}
        if encoded is None:
            chart.update(left_id=-1, right_id=-1)
            diff = {"charts": {req["chart_id"]: chart}, "ticks": {symbol: {"last_id": -1}}}
            return json.dumps(diff)
        ids, times, members = encoded
        last_id = int(ids[-1])
        if "left_kline_id" in req:
            left = int(req["left_kline_id"])
        else:
            later = np.flatnonzero(times >= int(req.get("focus_datetime", 0)))
            left = int(ids[later[0]]) if len(later) else last_id + 1
        right = left + width - 1
        lo, hi = np.searchsorted(ids, left), np.searchsorted(ids, right, side="right")
        chart.update(left_id=left, right_id=right)
        head = json.dumps({"charts": {req["chart_id"]: chart}, "ticks": {symbol: {}}})
        tail = f'"last_id": {last_id}, "data": {{' + ", ".join(members[lo:hi]) + "}"
        return head[:-3] + tail + "}}}"  # head ends in the contract's empty "{}}}"

    # -- running ------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(TOKEN_PATH, self.token)
        app.router.add_get(GRANT_PATH, self.grant)
        app.router.add_get("/continuous_table.json", self.conts)
        app.router.add_get("/holidays.json", self.holidays)
        app.router.add_get("/md", self.md)
        return app

    def env(self) -> dict[str, str]:
        base = f"http://127.0.0.1:{self.port}"
        return {
            "TQ_AUTH_URL": base,
            "TQ_MD_URL": f"ws://127.0.0.1:{self.port}/md",
            "TQ_CONT_TABLE_URL": f"{base}/continuous_table.json",
            "TQ_CHINESE_HOLIDAY_URL": f"{base}/holidays.json",
        }


@contextmanager
def running(stand_in: StandIn) -> Iterator[StandIn]:
    """Serve ``stand_in`` on 127.0.0.1 from a thread with its own event loop."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    stand_in.port = sock.getsockname()[1]
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(stand_in.app(), handle_signals=False, shutdown_timeout=0.1)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, sock).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="tqsdk-stand-in", daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield stand_in
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (for 'no network')."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cont_rows(days: list[tuple[date, str]]) -> list[list[str]]:
    return [[f"{d:%Y%m%d}", c] for d, c in days]
