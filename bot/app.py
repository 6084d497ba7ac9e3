"""The composition root: config in, a running Sada out. Nothing else wires components together."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING

from aiohttp import StreamReader, web
from aiohttp.typedefs import Handler, Middleware

from bot.config import AppConfig, ServiceSettings
from bot.dates.clock import Clock, SystemClock
from bot.digest.job import digest_job
from bot.intake.flood import FloodGuard
from bot.intake.gateway import Gateway
from bot.intake.ingest import GroupCommit
from bot.intake.understanding import Understander, load_understander
from bot.jobs.media_fetch import MediaFetcher
from bot.jobs.retraining import Retrainer, Trainer, train_candidate
from bot.jobs.speech import HttpSpeech
from bot.jobs.surveys import SurveyCloser
from bot.lifecycle import Lifecycle, SurveyPolicy
from bot.models import ChannelDirectory
from bot.outbox.dispatcher import Dispatcher
from bot.runtime.channel_factory import build_channels
from bot.runtime.event_loop import loop_name
from bot.runtime.processes import SHUTDOWN_WATCHDOG, exit_if_stuck, mark_ready
from bot.runtime.supervision import Supervisor
from bot.toml_reader import ConfigError
from bot.web.open311 import setup_open311
from bot.web.panel import setup_panel
from bot.web.public_stats import setup_public_stats
from bot.web.webform import setup_webform
from channels.base import Channel, OnInbound, RunningChannel, WebhookChannel
from channels.desk import SINKS, DeskChannel
from nlp.classification import Scorer
from nlp.places import DEFAULT_GAZETTEER_PATH, Gazetteer
from storage.retrains import RetrainRepository
from storage.store import Store

if TYPE_CHECKING:
    from nlp.model import TrainSettings

log = logging.getLogger(__name__)


class Sada:
    """One running service: store, nlp, gateway, outbox dispatcher, survey closer, media fetcher and
    channels."""

    def __init__(
        self,
        config: AppConfig,
        *,
        channels: Mapping[str, Channel] | None = None,
        clock: Clock | None = None,
        classifier: Scorer | None = None,
        store: Store | None = None,
        train_settings: TrainSettings | None = None,
        trainer: Trainer = train_candidate,
    ) -> None:
        """`classifier` replaces the configured one (and turns retraining off); `train_settings`
        and `trainer` change how the model is trained (tests use smaller settings)."""
        self.config = config
        self.clock = clock or SystemClock()
        s = config.store
        self.store = store or Store.from_url(
            s.url, busy_timeout_ms=s.busy_timeout_ms, pool_size=s.pool_size, echo=s.echo
        )
        self.channels: dict[str, Channel] = (
            dict(channels) if channels is not None else build_channels(config.channels, store=self.store)
        )
        # Requests with no address to answer (walk-ins without a number, the web form, Open311)
        # are answered into sinks; a configured channel of the same name wins.
        for sink in SINKS:
            self.channels.setdefault(sink, DeskChannel(sink))
        self.directory = ChannelDirectory({name: ch.medium for name, ch in self.channels.items()})
        self.lifecycle = Lifecycle(
            config.taxonomy,
            self.directory,
            self.clock,
            SurveyPolicy(answer_within=timedelta(days=config.survey.close_after_days)),
            calendar=config.calendar,
        )
        self._classifier = classifier
        self._train_settings = train_settings
        self._trainer = trainer
        self._retrainer: Retrainer | None = None
        self._understander: Understander | None = None
        self._gateway: Gateway | None = None
        self._inbound: OnInbound | None = None
        self._flood = config.flood
        self.dispatcher = Dispatcher(self.store, self.channels, config.outbox, self.clock)
        self.surveys = SurveyCloser(self.store, self.lifecycle, self.clock, config.survey.check_interval)
        self.digest = digest_job(config, self.store, self.channels, self.clock)
        media = config.media
        self.media = MediaFetcher(
            self.store,
            self.channels,
            media,
            self.clock,
            lifecycle=self.lifecycle,
            fallback_category=config.gateway.fallback_category,
            speech=HttpSpeech(media.speech_url, timeout=media.speech_timeout) if media.speech_url else None,
        )
        self.worker_index = 0  # which of `serve --workers N` this process is (reported by /healthz)
        self.background = Supervisor()

    @property
    def inbound(self) -> OnInbound:
        """The one front door, for every message from anywhere (webhooks, polling channels, `sada
        chat`, `sada simulate`, tests): flood limit → group commit → gateway."""
        if self._inbound is None:
            raise RuntimeError("Sada.start() builds the ingest path: call it first")
        return self._inbound

    @property
    def understander(self) -> Understander:
        """The nlp in service (the one the gateway classifies with and retraining swaps)."""
        if self._understander is None:
            raise RuntimeError("Sada.start() loads the understander: call it first")
        return self._understander

    @property
    def retrainer(self) -> Retrainer:
        """Retrains and swaps the classifier (exists once `start()` has loaded it)."""
        if self._retrainer is None:
            raise RuntimeError("Sada.start() builds the retrainer: call it first")
        return self._retrainer

    async def start(self, *, background_tasks: bool = True, singletons: bool = True) -> None:
        """Make the store ready, load nlp, then start the background tasks and polling channels.

        `singletons=False` (every `serve --workers` process but the first) leaves out what must
        run once per deployment: polling channels, the survey closer, the digest and the
        scheduled retrain."""
        await self.store.ensure_ready()
        understander, corrections = await self._load_understander()
        self._understander = understander
        self._retrainer = Retrainer(
            self.store,
            understander,
            self.config.nlp,
            self.clock,
            departments=self.config.taxonomy.category_departments(),
            fallback_category=self.config.gateway.fallback_category,
            available=self._classifier is None and self.config.nlp.classifier == "model",
            train_settings=self._train_settings,
            trainer=self._trainer,
        )
        await self._retrainer.start_up(corrections)
        self._gateway = Gateway(
            understander,
            self.lifecycle,
            self.config.taxonomy,
            self.config.gateway,
            self.clock,
            calendar=self.config.calendar,
            on_commit=self._committed,
            code_lookups=self.config.code_lookups,
            store_media=self.config.media.enabled,
        )
        self.media.bind(understander)
        # Channels hand messages to the flood limit, then to group commit, then to the gateway.
        ingest = GroupCommit(self.store, self._gateway)
        self._inbound = FloodGuard(self.store, self._flood, self.clock, ingest.receive).receive
        if background_tasks:
            self.background.start("outbox", self.dispatcher.run)
            if self.config.media.enabled:
                self.background.start("media", self.media.run)
            if self._retrainer.available:
                self.background.start("model-watch", self._retrainer.watch)
        if background_tasks and singletons:
            self.background.start("surveys", self.surveys.run)
            if self._retrainer.available:
                self.background.start("retrain", self._retrainer.run)
            if self.digest is not None:
                self.background.start("digest", self.digest.run)
            for channel in self.channels.values():
                if isinstance(channel, RunningChannel):
                    self.background.start(channel.name, partial(channel.run, self.inbound))

    def _committed(self, files: bool) -> None:
        """After a stored group: replies are due, and files when a message carried some."""
        self.dispatcher.wake()
        if files:
            self.media.wake()

    async def _load_understander(self) -> tuple[Understander, int]:
        """The understander, and how many operator corrections the store holds."""
        nlp = self.config.nlp
        if self._classifier is not None:
            gazetteer = Gazetteer.load(nlp.gazetteer_path or DEFAULT_GAZETTEER_PATH)
            return Understander(self._classifier, gazetteer=gazetteer, second_stage=nlp.second_stage), 0
        async with self.store.read() as tx:
            corrections = await tx.tickets.corrections()
            vetted = await RetrainRepository(tx.session).vetted()
        # Loading (or, the first time, training) takes seconds: keep the event loop free meanwhile.
        understander = await asyncio.to_thread(
            load_understander,
            nlp.classifier,
            self.config.taxonomy.category_departments(),
            model_path=nlp.model_path,
            gazetteer_path=nlp.gazetteer_path,
            fallback_category=self.config.gateway.fallback_category,
            corrections=corrections,
            vetted=vetted,
            settings=self._train_settings,
            second_stage=nlp.second_stage,
        )
        return understander, len(corrections)

    async def stop(self) -> None:
        """Stop the background tasks (each finishes its current step; a retrain is cut short), close channels
        and the store."""
        self.dispatcher.stop()
        self.surveys.stop()
        self.media.stop()
        if self.digest is not None:
            self.digest.stop()
        if self._retrainer is not None:
            await self._retrainer.aclose()
        # The media fetcher is cancelled, not awaited: a download cut short is fetched again once
        # its claim's lease runs out.
        await self.background.stop(graceful=("outbox", "surveys", "digest", "model-watch"))
        await self.media.aclose()
        for channel in self.channels.values():
            await channel.aclose()
        await self.store.aclose()

    async def __aenter__(self) -> Sada:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def web_app(self) -> web.Application:
        """The aiohttp application: health check plus every webhook channel's routes."""
        service = self.config.service
        app = web.Application(
            client_max_size=1024 * 1024,
            middlewares=[body_deadline(service.body_timeout), unreadable_bodies],
            # Passed to each connection's protocol, whichever runner serves the app. From its
            # opening (or its last response) a connection has keepalive_timeout seconds to complete
            # a request's headers, however slowly it sends them (aiohttp >= 3.14.4 starts that timer
            # when the connection opens); an unread body left behind a response is drained for at
            # most lingering_time seconds.
            handler_args={
                "keepalive_timeout": service.header_timeout,
                "lingering_time": min(10.0, service.body_timeout),
            },
        )
        app.router.add_get("/healthz", self._healthz)
        setup_panel(app, self)
        setup_public_stats(app, self)
        setup_open311(app, self)
        setup_webform(app, self)
        for channel in self.channels.values():
            if isinstance(channel, WebhookChannel):
                app.add_routes(channel.routes(self.inbound))
        return app

    async def _healthz(self, _request: web.Request) -> web.Response:
        healthy = await self.store.healthy()
        body = {
            "status": "ok" if healthy else "unavailable",
            "store": "ok" if healthy else "unreachable",
            "channels": sorted(name for name in self.channels if name not in SINKS),
            "worker": self.worker_index,
            "restarts": dict(sorted(self.background.restarts.items())),
        }
        return web.json_response(body, status=200 if healthy else 503)


def route_of(request: web.Request) -> str:
    """The matched route's pattern (`/hooks/sms/{secret}`): unlike the path, it holds no secret."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(no route)"


@web.middleware
async def unreadable_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A body aiohttp cannot decode (e.g. `Content-Encoding: gzip` over bytes that are not gzip)
    is the sender's fault: 400, not a 500 from whichever handler happened to read it."""
    try:
        return await handler(request)
    except web.RequestPayloadError as exc:
        log.info("unreadable request body route=%s: %s", route_of(request), exc)
        return web.json_response({"status": "error", "error": "unreadable request body"}, status=400)


class BodyTimeout(TimeoutError):
    """The request body did not arrive within `[service] body_timeout_seconds`."""


def _expire(body: StreamReader) -> None:
    if not body.is_eof():
        body.set_exception(BodyTimeout())  # whoever reads the body next gets it, at once


def body_deadline(seconds: float) -> Middleware:
    """Bound the time a request's body may take to arrive, however slowly it trickles in.

    A timer started once the headers are in fails the body stream if it is not complete by then:
    the handler's read raises BodyTimeout, answered 408, and the connection is closed. A handler
    that never reads the body leaves the rest to aiohttp, which drains it for `lingering_time`."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists:
            return await handler(request)
        timer = asyncio.get_running_loop().call_later(seconds, _expire, request.content)
        try:
            return await handler(request)
        except BodyTimeout:
            log.info("request body not received within %.0f s route=%s", seconds, route_of(request))
            response = web.json_response({"status": "error", "error": "request body too slow"}, status=408)
            response.force_close()
            return response
        finally:
            timer.cancel()

    return middleware


def listen_error(service: ServiceSettings, exc: OSError) -> ConfigError:
    """What an operator reads when the service cannot listen where it is configured to."""
    where = f"[{service.host}]:{service.port}" if ":" in service.host else f"{service.host}:{service.port}"
    if exc.errno == errno.EADDRINUSE:
        return ConfigError("service.port", f"{where} is already in use by another program")
    key = "service.host" if exc.errno == errno.EADDRNOTAVAIL else "service.port"
    reason = exc.strerror or str(exc)
    return ConfigError(key, f"cannot listen on {where}: {reason[:1].lower()}{reason[1:]}")


def check_listen_address(service: ServiceSettings, *, shared: bool) -> None:
    """Raise ConfigError if the service could not listen on its host and port, before anything
    starts (loading, or the first time training, the model takes a while; a busy port should not).

    `shared`: the other processes of `serve --workers N` listen there too (SO_REUSEPORT), so only
    someone else's socket counts as busy. Port 0 (any free port) is never busy."""
    if service.port == 0:
        return
    try:
        addresses = socket.getaddrinfo(
            service.host or None, service.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ConfigError("service.host", f"cannot resolve {service.host!r}: {exc.strerror}") from None
    for family, kind, proto, _, address in addresses:
        try:
            probe = socket.socket(family, kind, proto)
        except OSError:  # an address family this machine lacks: asyncio skips it too
            continue
        with probe:
            # The same options asyncio's create_server sets, so the probe fails exactly when it would.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if shared:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise listen_error(service, exc) from None


async def serve(config: AppConfig, *, worker_index: int | None = None) -> None:
    """Run until SIGTERM or SIGINT, then drain in-flight requests and stop the background tasks cleanly.

    `worker_index` is set when this process is one of `serve --workers N` (bot.runtime.processes): it then
    shares the port with the others, and only worker 0 runs the once-per-deployment jobs.
    Raises ConfigError (one line for the operator) if it cannot listen on the configured port."""
    check_listen_address(config.service, shared=worker_index is not None)
    sada = Sada(config)
    sada.worker_index = worker_index or 0
    await sada.start(singletons=not worker_index)
    runner = web.AppRunner(
        sada.web_app(),
        handle_signals=False,
        shutdown_timeout=config.service.shutdown_timeout,
        access_log=None,
    )
    await runner.setup()
    site = web.TCPSite(
        runner, config.service.host, config.service.port, reuse_port=worker_index is not None or None
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        try:
            await site.start()
        except OSError as exc:  # taken between the check and now
            raise listen_error(config.service, exc) from None
        log.info(
            "sada serving on http://%s:%s (store: %s, worker %d, event loop: %s)",
            config.service.host,
            config.service.port,
            sada.store.dialect,
            sada.worker_index,
            loop_name(),
        )
        mark_ready()
        await stop.wait()
        log.info("stopping: draining requests")
        exit_if_stuck(config.service.shutdown_timeout + SHUTDOWN_WATCHDOG)
    finally:
        await runner.cleanup()
        await sada.stop()
        log.info("stopped")
