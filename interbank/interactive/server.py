"""``interbank serve``: the seed's HTTP API over the interactive runner, with SSE streams and a web page.

    POST /api/interactive/start          bank parameters (and who plays the central bank) in; SSE out
                                         (or JSON {session_id, stream_url})
    POST /api/interactive/control        {"session_id"?, "command", "bank"?, "amount"?, "operation"?};
                                         command "branch" forks the session: {session_id, stream_url, ...}
                                         (paused, at its step; or "step": k, any session, at step k)
    GET  /api/interactive/status         ?session_id=... (default: the newest session)
    GET  /api/interactive/stream/{id}    SSE, id = seq, event = type, resumable with Last-Event-ID
    GET  /api/interactive/stream/{id}.jsonl  the same events as JSONL (the file replay --verify takes)
    GET  /api/interactive/sessions       every session's status (those only the data folder keeps too)
    GET  /api/interactive/exposures/{id} ?step=&limit=: interbank exposures (lender -> borrower) as of a step
    GET  /api/interactive/step_end/{id}  ?step=: the step_end event of a past step (the page's timeline)
    GET  /api/interactive/init/{id}      the session's init event (a page resuming after a reload needs only it)
    GET  /api/checkpoints                checkpoint names usable in start
    GET  /api/scenarios                  scenario names usable in start, with each one's size
    GET  /api/vocabulary                 every list the page and the server share (policies and their
                                         parameters, event types, commands, central bank operations,
                                         session states, units): :mod:`interbank.interactive.vocabulary`
    GET  /                               the web page; OpenAPI docs at /docs

With ``ServerLimits.data_dir`` (``interbank serve``'s default) every session, its stream, its
branches and interventions are kept in ``DATA_DIR/sessions.db`` (:mod:`interbank.interactive.store`)
and outlive the server: after a restart they are listed, read back, and an interrupted one is
re-created by its first pause, resume or stop (state ``interrupted`` until then; other commands are
refused with 409 before anything changes).

Errors are JSON ``{"error": "..."}`` (:data:`ERRORS`): 400 bad Host or request line,
404 unknown session/bank/checkpoint, 409 command in the wrong state, 410 stream events
no longer kept, 413 body too large (counted while reading, chunked or not), 415 not
JSON, 422 bad body, query (an unknown key too) or value, 429 too many sessions, 503 no
memory for another session. Never a 500 for a user mistake. Limits and budgets are :class:`ServerLimits`.
"""

from __future__ import annotations

import asyncio
import math
import re
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from sse_starlette.sse import EventSourceResponse, ServerSentEvent
from starlette.exceptions import HTTPException as StarletteHTTPException

from interbank.config import (
    MAX_SEED,
    BankSpec,
    ConfigError,
    EnvConfig,
    load_env_config,
    resolve_env_config,
)
from interbank.interactive.guard import BODY_STALL_SECONDS, LOOPBACK_HOSTS, RequestGuard
from interbank.interactive.runner import (
    CENTRAL_BANK_OPERATIONS,
    COMMAND_BY_NAME,
    COMMANDS,
    MIN_SPEED,
    SESSION_COMMANDS,
    CommandError,
    Runner,
    check_takes,
)
from interbank.interactive.sessions import Session, SessionStore, resident_bytes
from interbank.interactive.store import Store
from interbank.interactive.vocabulary import vocabulary
from interbank.policies import BASELINES, DEFAULT_POLICY, check_policy_params, make_policy, recorded_as
from interbank.policies.central_bank import two_policy_run
from interbank.policies.central_bank_setup import CENTRAL_BANK_CHOICES, LEARNED, with_central_bank
from interbank.policies.checkpoint import (
    CheckpointError,
    load_checkpoint,
    resolve_checkpoint,
)
from interbank.scenarios import NAME, NAME_LENGTH, scenarios_folder  # NAME: a scenario's or a checkpoint's name
from interbank.sim.events import dumps
from interbank.ui import clipped

WEB = Path(__file__).parent / "web"  # package data (pyproject: interactive/web/*), in the wheel too
EVENT_ID = re.compile(r"^-?[0-9]{1,18}$")


class ServerLimits(BaseModel):
    """What one server allows and holds (docs/interactive.md, "Limits, answer codes and memory")."""

    max_sessions: int = 8  # sessions kept at once (running or finished but not yet evicted)
    max_banks: int = 10_000  # what the page draws (level of detail above a few thousand)
    max_steps: int = 5000
    max_speed: float = 1000.0  # steps per second
    min_speed: float = MIN_SPEED  # the slowest pace other than 0 (= as fast as possible)
    max_body_bytes: int = 1_000_000  # counted while reading, with or without Content-Length
    max_json_depth: int = 32
    client_buffer: int = 2000  # events a viewer whose write does not complete may lag before it is dropped
    ping_seconds: float = 15.0
    history_window_bytes: int = 8_000_000  # newest stream events kept in memory per session
    spill_bytes: int = 256_000_000  # newest stream events kept on disk per session (for Last-Event-ID)
    spill_dir: Path | None = None  # where sessions spill without a data_dir (default: a temporary folder, removed at exit)
    # the sessions database (sessions, streams, branches, interventions outlive the server); None: no
    # database, each session's stream spills to a temporary folder (``interbank serve`` uses
    # interbank.interactive.store.default_data_dir() unless told --no-store)
    data_dir: Path | None = None
    keep_sessions: int = 200  # sessions the database keeps (the oldest finished go first)
    keep_mb: float = 2000.0  # MB of stored (compressed) streams the database keeps
    store_compress: int = 1  # zlib level of the stored streams (0: uncompressed, ~4x the disk, less CPU)
    finished_ttl_seconds: float = 600.0  # a finished session is evicted this long after it ends
    memory_budget_bytes: int | None = 640_000_000  # sessions' estimated memory; None = no budget
    allowed_hosts: tuple[str, ...] | None = LOOPBACK_HOSTS  # Host header names answered; None = any


class ErrorBody(BaseModel):
    """Every error answer of the server."""

    error: str = Field(description="one line naming what is wrong and how to fix it")


ERRORS: dict[int, str] = {
    400: "bad Host header, Content-Length or request line",
    404: "unknown session, bank, checkpoint, scenario or path",
    405: "method not allowed on this path",
    408: f"the body stalled (nothing of it arrived for {BODY_STALL_SECONDS:g} s)",
    409: "command in the wrong state (e.g. add_capital while running), a gone bank, or an interrupted session "
         "that cannot be re-created (or that pause, resume or stop has not re-created yet)",
    410: "the stream events asked for (Last-Event-ID) are no longer kept",
    413: "body too large",
    415: "body not sent as application/json",
    422: "bad body, query or value",
    429: "too many sessions",
    503: "not enough memory (the server's budget) for another session",
}


def _responses(*codes: int, ok: dict[int, Any] | None = None) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = dict(ok or {})
    for code in (400, 405, 422, *codes):  # 422: every route refuses an unknown query key (known_query)
        out[code] = {"model": ErrorBody, "description": ERRORS[code]}
    return out


SSE_CONTENT = {"text/event-stream": {"schema": {"type": "string"},
                                     "example": 'id: 0\r\nevent: init\r\ndata: {"seq":0,...}\r\n\r\n'}}


def _digits(value: Any) -> Any:
    """A query's whole number as digits only (an optional minus): ``1.0``, ``+1``, `` 1 `` and ``1_0``
    (read as 10) are refused, as a body's strict fields refuse them."""
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value):
        raise ValueError("must be a whole number written in digits")
    return value


QueryInt = Annotated[int, BeforeValidator(_digits)]
"""A whole number in a query (use as ``Annotated[QueryInt, Query(...)]``: a ``= Query()`` default drops the validator)."""

ID_LENGTH = 64
"""The longest session id or bank name a request may carry (ids are 8 characters; a name is a bank's)."""
SessionId = Annotated[str, PathParam(max_length=ID_LENGTH, description="a session's id")]


class StartRequest(BaseModel):
    """Start a session: give ``banks`` (the playground) or ``scenario`` and/or ``n_banks``.
    Types are strict: a number is a JSON number, a flag a JSON boolean (no "5", no "yes")."""

    model_config = ConfigDict(extra="forbid", strict=True)
    banks: list[BankSpec] | None = Field(default=None, min_length=2,
                                         description="banks as {capital, target_leverage, risk}: two at least, as n_banks")
    scenario: str | None = Field(default=None, max_length=NAME_LENGTH,
                                 description="a scenario name from the server's configs folder, e.g. default, stress")
    n_banks: int | None = Field(default=None, ge=2, description="generated banks (not with banks: they set the size)")
    policy: Literal[tuple(BASELINES)] | None = Field(  # type: ignore[valid-type]
        default=None, description="a baseline policy (GET /api/vocabulary lists them with their parameters; "
                                   "default: its default_policy)")
    params: dict[str, float] | None = Field(
        default=None, max_length=16, description="the baseline's parameters, e.g. {\"c\": 3} for lend_surplus")
    checkpoint: str | None = Field(default=None, max_length=NAME_LENGTH,
                                   description="a checkpoint name from the server's checkpoints folder")
    central_bank: Literal[CENTRAL_BANK_CHOICES] | None = Field(  # type: ignore[valid-type]
        default=None, description="who plays the central_bank agent: a rule, or learned (the checkpoint's, a two-policy "
                                  "run); default: the scenario's own, or a two-policy checkpoint's learned one")
    central_bank_params: dict[str, float] | None = Field(
        default=None, max_length=16, description="the central bank rule's parameters, e.g. {\"funding\": 0.08} for taylor; "
                                  "without central_bank, for the scenario's own rule (its agent on)")
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED,
                             description="seed of the network, shocks and policy (default: the scenario's, else 0)")
    steps: int | None = Field(default=None, ge=1, description="episode length (max_steps)")
    speed: float = Field(default=5.0, ge=0, allow_inf_nan=False,
                         description="steps per second (at least the server's min_speed, 0.01 by default); 0 = as fast as possible")
    paused: bool = Field(default=False, description="start paused (step 0)")
    replace: str | None = Field(
        default=None, max_length=ID_LENGTH,
        description="a session to stop once this one is created: when the start is refused, it keeps running")


class ControlRequest(BaseModel):
    """A command for a session (the newest when ``session_id`` is left out). Types are strict."""

    model_config = ConfigDict(extra="forbid", strict=True)
    session_id: str | None = Field(default=None, max_length=ID_LENGTH)
    command: Literal[COMMANDS + SESSION_COMMANDS]  # type: ignore[valid-type]
    bank: str | None = Field(default=None, max_length=ID_LENGTH, description="delete_bank, add_capital, central_bank inject")
    amount: float | None = Field(
        default=None, allow_inf_nan=False, strict=True,  # a JSON number: no true, no "5"
        description="add_capital and inject: dollars (> 0); set_policy_rate: annual rate in [0, 1]; "
                    "set_capital_requirement: minimum capital ratio in [0, 1]",
    )
    operation: Literal[CENTRAL_BANK_OPERATIONS] | None = Field(  # type: ignore[valid-type]
        default=None, description="central_bank only: inject (bank, amount), set_policy_rate (amount), set_capital_requirement (amount)",
    )
    step: int | None = Field(
        default=None, ge=0, le=10**9,
        description="branch only: fork at the state of this step (default: a paused session's current step); "
                    "an earlier step is re-created from the stream, for any session, finished ones too",
    )


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _validation_message(err: RequestValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    msg = first.get("msg", "invalid")
    if first.get("type") == "json_invalid":
        return "the body is not valid JSON"
    value = first.get("input")
    shown = f" = {clipped(repr(value))}" if value is not None and not isinstance(value, (dict, list)) else ""
    if first.get("type") in ("model_attributes_type", "model_type", "dict_type") or loc == "body" and "dict" in msg.lower():
        if loc == "body":
            return "the body must be a JSON object (Content-Type: application/json)"
        return f"{loc}{shown}: must be a JSON object"  # (an item of a list in the body, e.g. banks.0)
    return f"{loc}{shown}: {msg}"


async def known_query(request: Request) -> None:
    """422 for a query key an API route does not declare (``?foo=1`` is a mistake, never ignored);
    the page (``/?events=raw``) and static files read their own."""
    route = request.scope.get("route")
    if not request.url.path.startswith("/api/") or not isinstance(route, APIRoute):
        return
    known = [p.alias for p in route.dependant.query_params]
    for key in request.query_params:
        if key not in known:
            takes = f"it takes {', '.join(known)}" if known else "it takes none"
            raise CommandError(422, f"unknown query key {clipped(repr(key))} for {clipped(request.url.path)}; {takes}")
        if len(request.query_params.getlist(key)) > 1:  # (the last would be read silently, as a body's key twice would)
            raise CommandError(422, f"the query gives {key!r} twice")


def create_app(checkpoints: Path | None = None, configs: Path | None = None, limits: ServerLimits | None = None) -> FastAPI:
    limits = limits or ServerLimits()
    db = Store(limits.data_dir, limits.keep_sessions, int(limits.keep_mb * 1_000_000),
               level=limits.store_compress) if limits.data_dir else None
    store = SessionStore(limits.max_sessions, limits.memory_budget_bytes, limits.finished_ttl_seconds,
                         limits.history_window_bytes, limits.spill_bytes, limits.spill_dir, db=db,
                         buffer=limits.client_buffer)
    configs = configs or scenarios_folder()  # ./configs, else the scenarios shipped with the package

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await store.close()

    app = FastAPI(
        title="interbank interactive", version="1",
        description="Start, watch and steer interbank simulations: pause, add capital, delete banks, "
                    "central bank interventions, resume.",
        lifespan=lifespan, dependencies=[Depends(known_query)],
    )
    app.state.store = store
    app.state.limits = limits

    @app.exception_handler(CommandError)
    async def _command_error(request: Request, exc: CommandError):
        return _error(exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return _error(422, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404 and exc.detail == "Not Found":
            return _error(404, f"no such path: {request.url.path} (the API is under /api, its description at /docs)")
        if exc.status_code == 405:
            return _error(405, f"{request.method} is not allowed on {request.url.path}")
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):  # a bug, reported without a traceback
        return _error(500, f"internal error: {type(exc).__name__}")

    # outermost: hosts, body size while reading, content type, JSON depth
    app.add_middleware(RequestGuard, allowed_hosts=limits.allowed_hosts, max_body_bytes=limits.max_body_bytes,
                       max_depth=limits.max_json_depth)

    # ------------------------------------------------------------ helpers
    def checkpoint_env(name: str | None) -> EnvConfig | None:
        """The env of the training run a named checkpoint belongs to (None: no such run config, or a
        name ``policy_for`` will refuse)."""
        from interbank.run_folder import RunFolderError, training_env_config

        if name is None or checkpoints is None or not NAME.match(name):
            return None
        try:
            return training_env_config(resolve_checkpoint(checkpoints / name))
        except CheckpointError:
            return None  # policy_for says what is wrong with it
        except RunFolderError as err:
            raise CommandError(422, f"checkpoint {name!r}: {err}") from None

    def within_limits(n_banks: int | None, steps: int | None) -> None:
        """422 unless a size and a length (None: not given) are what this server allows."""
        if n_banks is not None and n_banks > limits.max_banks:
            raise CommandError(422, f"{n_banks} banks is more than this server allows ({limits.max_banks})")
        if steps is not None and steps > limits.max_steps:
            raise CommandError(422, f"steps = {steps} is more than this server allows ({limits.max_steps})")

    def env_config(req: StartRequest) -> EnvConfig:
        if req.banks is not None and req.n_banks is not None:
            raise CommandError(422, f"give banks or n_banks, not both: the banks given ({len(req.banks)}) set the size, "
                                    f"n_banks = {req.n_banks} would be ignored")
        try:
            if req.scenario is not None:
                if not NAME.match(req.scenario) or not (configs / f"{req.scenario}.yaml").is_file():
                    raise CommandError(404, f"unknown scenario {req.scenario!r}; see GET /api/scenarios")
                base: Any = load_env_config(configs / f"{req.scenario}.yaml")
            else:  # a checkpoint plays its training run's env, as replay does; else the built-in default
                base = checkpoint_env(req.checkpoint) or EnvConfig()
            within_limits(req.n_banks, req.steps)  # the server's bounds before the config's own
            overrides: dict[str, Any] = {}
            if req.banks is not None:  # the scenario's other settings stay; its size is the banks given
                overrides["banks"] = [b.model_dump() for b in req.banks]
            elif req.n_banks is not None:
                overrides["n_banks"] = req.n_banks
            if req.steps is not None:
                overrides["max_steps"] = req.steps
            cfg = resolve_env_config(base, **overrides)
        except ConfigError as err:
            raise CommandError(422, str(err).removeprefix("config: ")) from None
        within_limits(cfg.n_banks, cfg.max_steps)  # a scenario's, a checkpoint's or the banks given
        return cfg

    def check_speed(speed: float) -> None:
        if speed > limits.max_speed:
            raise CommandError(422, f"speed = {speed} is more than this server allows ({limits.max_speed} steps/s)")
        if 0 < speed < limits.min_speed:
            raise CommandError(422, f"speed = {speed} is below this server's minimum ({limits.min_speed} steps/s; "
                                    "0 = as fast as possible)")

    def policy_for(req: StartRequest, seed: int):
        if req.checkpoint is not None and req.policy is not None:
            raise CommandError(422, "give policy or checkpoint, not both")
        if req.checkpoint is None:
            name = req.policy or DEFAULT_POLICY
            try:
                params = check_policy_params(name, req.params or {})
            except ValueError as err:
                raise CommandError(422, f"params: {err}") from None
            try:
                policy = make_policy(name, seed, **params)
            except (TypeError, ValueError) as err:
                raise CommandError(422, f"params: policy {name}: {err}") from None
            return policy, recorded_as(name, params, policy), None, None
        if req.params:
            raise CommandError(422, "params are for a baseline policy, not a checkpoint")
        if checkpoints is None:
            raise CommandError(404, "this server has no checkpoints folder (start it with --checkpoints DIR)")
        if not NAME.match(req.checkpoint):  # (no "." or "..": a name starts with a letter or digit)
            raise CommandError(422, f"checkpoint must be a name from GET /api/checkpoints, got {req.checkpoint!r}")
        path = checkpoints / req.checkpoint
        if not path.exists():
            raise CommandError(404, f"unknown checkpoint {req.checkpoint!r}")
        try:
            policy, priority, folder = load_checkpoint(path)
            return policy, {"checkpoint": req.checkpoint, "checkpoint_path": str(folder.resolve())}, priority, path
        except CheckpointError as err:
            raise CommandError(422, f"checkpoint {req.checkpoint!r}: {err}") from None

    def sse(session: Session, after: int) -> EventSourceResponse:
        stream = session.follow(after)  # a 410 here, before the response starts

        async def events():
            # every viewer reads the session's shared history at its own pace (Session.follow):
            # frames are encoded once, and what a viewer has not been sent goes in one write
            yield ServerSentEvent(retry=1000)  # reconnect after 1 s if the connection drops
            async for chunk in stream:
                yield chunk

        return EventSourceResponse(events(), ping=limits.ping_seconds, send_timeout=30)

    # ------------------------------------------------------------- routes
    @app.post("/api/interactive/start", summary="Start a session", status_code=201, responses=_responses(
        404, 408, 409, 413, 415, 422, 429, 503,
        ok={201: {"description": "the session (JSON: its id, stream and status URLs, and its status)"},
            200: {"description": "with Accept: text/event-stream: the new session's event stream itself",
                  "content": SSE_CONTENT}}))
    async def start(req: StartRequest, request: Request):
        # everything is checked, and the session built, before the session it replaces is stopped:
        # a refused start changes nothing
        old = store.get(req.replace) if req.replace is not None else None
        cfg = env_config(req)
        seed = cfg.episode_seed(req.seed)
        check_speed(req.speed)
        policy, info, priority, run_folder = policy_for(req, seed)
        try:
            cb = with_central_bank(cfg, req.central_bank, run_folder, req.central_bank_params)
        except ConfigError as err:
            raise CommandError(422, str(err)) from None
        cfg, info = cb.config, {**info, **cb.info}
        # 429 / 503 before any work, from the estimate (the replaced session's share counts as free)
        reservation = store.reserve(cfg.n_banks, cfg.max_steps, replacing=old)
        try:
            runner = await asyncio.to_thread(partial(Runner, cfg, policy, seed, info, priority,
                                                     central_bank_policy=cb.policy))
            if req.paused:
                runner.command("pause")
            if old is not None and not old.done.is_set():
                try:
                    await old.command("stop")
                except CommandError:  # it ended meanwhile
                    pass
            settings = {"scenario": req.scenario, "policy": None if req.checkpoint else (req.policy or DEFAULT_POLICY),
                        "checkpoint": req.checkpoint, "params": info.get("params", {}), "seed": seed,
                        "n_banks": cfg.n_banks, "steps": cfg.max_steps, "speed": req.speed,
                        "playground": req.banks is not None,
                        "central_bank": (cfg.central_bank.rule if cb.policy is None else LEARNED) if cfg.central_bank.agent else None}
            session = store.add(runner, req.speed, limits.client_buffer, reservation=reservation, settings=settings)
        finally:
            store.unreserve(reservation)
        if "text/event-stream" in request.headers.get("accept", ""):
            return sse(session, -1)
        return JSONResponse(
            {"session_id": session.id, "stream_url": f"/api/interactive/stream/{session.id}",
             "status_url": f"/api/interactive/status?session_id={session.id}", **session.status()},
            status_code=201,
        )

    @app.post("/api/interactive/control", summary="Send a command to a session",
              responses=_responses(404, 408, 409, 413, 415, 422))
    async def control(req: ControlRequest):
        session = store.get(req.session_id)
        check_takes(req.command, req.model_dump(exclude={"session_id", "command"}))  # before anything changes
        if req.amount is not None and not math.isfinite(req.amount):
            raise CommandError(422, "amount must be a positive finite number")
        past = req.command == "branch" and req.step is not None
        if session.interrupted and not past:  # read back after a restart: re-created (paused at its last step) first
            if not COMMAND_BY_NAME[req.command].revives:  # (so that a command refused after it changes nothing)
                step = " (or give the step to branch from)" if req.command == "branch" else ""
                raise CommandError(409, f"session {session.id} is interrupted (read back after a restart): pause it "
                                        f"first, which re-creates it paused at its last step{step}")
            paused = await store.restore(session)
            if req.command == "pause":
                return {"ok": True, "event": paused, **session.status()}
        if req.command == "branch":
            return await branch(session, req)
        event = await session.command(req.command, req.bank, req.amount, req.operation)
        return {"ok": True, "event": event, **session.status()}

    async def branch(session: Session, req: ControlRequest) -> JSONResponse:
        child = await store.branch(session, req.step)
        return JSONResponse(
            {"ok": True, "session_id": child.id, "stream_url": f"/api/interactive/stream/{child.id}",
             "status_url": f"/api/interactive/status?session_id={child.id}", **child.status()},
            status_code=201,
        )

    @app.get("/api/interactive/exposures/{session_id}", summary="Interbank exposures of a session as of a step",
             responses=_responses(404, 422))
    async def exposures(session_id: SessionId, step: Annotated[QueryInt | None, Query(ge=0, le=10**9)] = None,
                        limit: Annotated[QueryInt | None, Query(ge=1, le=10**7)] = None):
        """Lender -> borrower pairs with their outstanding amount, largest first (``limit`` of
        them), as of ``step`` (the latest kept at or before it; the last 64 steps are kept; of a
        finished session, its last step and those just before defaults, after a restart too).
        Banks are indices into the init event's ``banks``."""
        # (a session read back from the store reads its snapshot from the database: off the event loop)
        snap = await asyncio.to_thread(store.get(session_id).runner.exposures, step, limit)
        if snap is None:
            when = "the session's current step" if step is None else f"step {step}"
            raise CommandError(404, f"no exposures kept for {when} (only the last steps are kept)")
        return snap

    @app.get("/api/interactive/step_end/{session_id}", summary="The step_end event of a past step of a session",
             responses=_responses(404, 410, 422))
    async def step_end(session_id: SessionId, step: Annotated[QueryInt, Query(ge=1, le=10**9)]):
        """The session's ``step_end`` event of ``step`` (every bank's balance sheet and the totals then),
        the same object its stream carried: the page's timeline shows a past step from it (step 0 is
        the ``init`` event: GET /api/interactive/init/{id})."""
        session = store.get(session_id)
        event = await store.step_end(session, step)
        if event is None:
            raise CommandError(404, f"session {session.id} has no step_end for step {step} (it is at step {session.status()['step']})")
        return Response(dumps(event), media_type="application/json")

    @app.get("/api/interactive/init/{session_id}", summary="The init event of a session", responses=_responses(404))
    async def init_event(session_id: SessionId):
        """The session's ``init`` event (seq 0), the same object its stream starts with: a page that
        resumes with Last-Event-ID after a reload reads it instead of the whole history."""
        return Response(dumps(store.get(session_id).runner.init_event), media_type="application/json")

    @app.get("/api/interactive/status", summary="Status of a session (default: the newest)",
             responses=_responses(404, 422))
    async def status(session_id: str | None = Query(default=None, max_length=ID_LENGTH)):
        return store.get(session_id).status()

    @app.get("/api/interactive/sessions", summary="Every session", responses=_responses())
    async def sessions():
        rss, mb = resident_bytes(), 1_000_000
        stored = await asyncio.to_thread(store.db.sessions) if store.db is not None else []
        return {"sessions": store.statuses(stored), "store": store.db.summary() if store.db is not None else None,
                "memory": {"budget_mb": None if store.memory_budget is None else store.memory_budget // mb,
                           "reserved_mb": store.reserved() // mb, "resident_mb": None if rss is None else rss // mb}}

    @app.get("/api/vocabulary", summary="Every list the page and the server share", responses=_responses())
    async def get_vocabulary():
        """Policies (with their parameters), event types, commands (with the states they need),
        central bank operations (with their units and ranges), session states and units: the
        page builds its menus from this, and the server validates requests against the same lists."""
        return vocabulary()

    @app.get("/api/interactive/stream/{session_id}.jsonl", summary="The stream of a session as JSONL (a file replay --verify takes)",
             response_class=StreamingResponse, responses=_responses(404, 410, ok={
                 200: {"description": "every event so far, one canonical JSON line each", "content": {"application/x-ndjson": {}}}}))
    async def export(session_id: SessionId):
        """The session's events so far (all of them for a finished one), one JSON line each: the same
        objects as its SSE stream, and the file ``interbank replay --events FILE --verify`` takes."""
        session = store.get(session_id)
        backlog, _ = session.subscribe(-1)  # a 410 here when its first events are no longer kept

        async def lines():
            async for chunk in backlog:  # SSE frames: their data lines are the events' JSON lines
                yield b"".join([line[6:] + b"\n" for line in chunk.split(b"\r\n") if line.startswith(b"data: ")])

        return StreamingResponse(lines(), media_type="application/x-ndjson",
                                 headers={"Content-Disposition": f'attachment; filename="interbank-{session.id}.jsonl"'})

    @app.get("/api/interactive/stream/{session_id}", summary="SSE stream of a session, resumable with Last-Event-ID",
             response_class=EventSourceResponse, responses=_responses(404, 410, 422, ok={
                 200: {"description": "the session's events (id = seq, event = type, data = the event)",
                       "content": SSE_CONTENT},
                 204: {"description": "the session is finished and Last-Event-ID is its last event"}}))
    async def stream(session_id: SessionId, request: Request,
                     last_event_id: Annotated[QueryInt | None, Query(ge=-1, le=10**18)] = None):
        session = store.get(session_id)
        header = request.headers.get("last-event-id")
        after = last_event_id if last_event_id is not None else -1
        if header is not None:
            if not EVENT_ID.match(header.strip()) or int(header) < -1:
                raise CommandError(422, f"Last-Event-ID must be an event seq (a whole number >= -1), got {clipped(repr(header))}")
            after = int(header)
        if after > session.last_seq:  # no event of this session has it: a mistake, not a position to wait at
            given = "Last-Event-ID" if header is not None else "last_event_id"
            raise CommandError(422, f"{given} = {after} is beyond the session's last event (seq {session.last_seq})")
        if session.done.is_set() and after == session.last_seq:
            return Response(status_code=204)  # finished and caught up: browsers stop reconnecting
        return sse(session, after)

    def usable_checkpoints() -> tuple[list[str], list[str]]:
        """(the names start accepts as ``checkpoint``, the two-policy runs among them): each loaded
        as start loads it (the policy verified and compatible, its run's env readable, a learned
        central bank's policy too), so that nothing is listed that start refuses."""
        from interbank.policies.central_bank import load_central_bank_policy
        from interbank.run_folder import RunFolderError

        names, both = [], []
        if checkpoints is None or not checkpoints.is_dir():
            return names, both
        for p in sorted(checkpoints.iterdir()):
            if not NAME.match(p.name):
                continue
            try:
                pair = two_policy_run(p)
                load_checkpoint(p)
                checkpoint_env(p.name)
                if pair:
                    load_central_bank_policy(pair[1])
            except (CheckpointError, CommandError, ConfigError, RunFolderError):  # (a run whose env start refuses)
                continue
            names.append(p.name)
            if pair:
                both.append(p.name)
        return names, both

    @app.get("/api/checkpoints", summary="Checkpoint names usable in start", responses=_responses())
    async def list_checkpoints():
        names, both = await asyncio.to_thread(usable_checkpoints)  # (files read: off the event loop)
        # central_bank: the two-policy runs among them (banks + a learned central bank)
        return {"checkpoints": names, "central_bank": both, "policies": list(BASELINES)}

    @app.get("/api/scenarios", summary="Scenario names usable in start", responses=_responses())
    async def list_scenarios():
        names = sorted(p.stem for p in configs.glob("*.yaml") if NAME.match(p.stem)) if configs.is_dir() else []
        sizes: dict[str, dict[str, Any]] = {}
        for name in names:  # so that a page can show (and keep) each scenario's own size
            try:
                cfg = load_env_config(configs / f"{name}.yaml")
                sizes[name] = {"n_banks": cfg.n_banks, "max_steps": cfg.max_steps, "explicit_banks": cfg.banks is not None,
                               "seed": cfg.episode_seed()}
            except ConfigError:
                continue
        default = EnvConfig()
        return {"scenarios": names, "sizes": sizes,
                "default": {"n_banks": default.n_banks, "max_steps": default.max_steps,
                            "seed": default.episode_seed()}}

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(WEB / "index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon():
        return Response(status_code=204)

    app.mount("/static", StaticFiles(directory=WEB), name="static")
    return app


__all__ = ["COMMANDS", "ERRORS", "ServerLimits", "create_app"]
