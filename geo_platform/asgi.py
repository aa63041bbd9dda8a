"""ASGI entry point (issue 18): `make run` serves it with uvicorn.

Why ASGI: Server-Sent Events (live PJU) hold one connection per open tab; an
async view serves them without tying up a worker thread each.

Why bounded: under Django's own ASGI handler every request runs its sync
code in a new thread, and every thread opens its own database connection —
a map loading forty tiles opens forty. Here each web process has a fixed set
of WEB_MAX_CONCURRENT_REQUESTS lanes: a lane is one thread (an executor
given to asgiref's ThreadSensitiveContext, kept for the life of the process) and so at most
one database connection, which persists between requests like a WSGI
thread's (DB_CONN_MAX_AGE, set by the Procfile). A request waits for a free
lane (it is not refused). So the web server holds at most
web processes × WEB_MAX_CONCURRENT_REQUESTS connections, whatever the load.
Event streams (the client asks for `text/event-stream`) take no lane: they
are async views. In DEBUG, static files are served too (as runserver does)."""
import asyncio
import os

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
from django.core.asgi import get_asgi_application
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_platform.settings")
get_asgi_application()  # django.setup()

from django.conf import settings  # noqa: E402  (after Django is set up)


class LaneASGIHandler(ASGIHandler):
    def __init__(self, lanes: int):
        super().__init__()
        self.size = lanes
        self._lanes = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or _is_event_stream(scope):
            return await super().__call__(scope, receive, send)
        if self._lanes is None:  # created inside the server's event loop
            self._lanes = asyncio.Queue()
            for i in range(self.size):  # one thread each, for the life of the process
                self._lanes.put_nowait(ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"lane{i}"))
        lane = await self._lanes.get()
        try:
            async with ThreadSensitiveContext(executor=lane):  # the request's sync code runs on the lane's thread
                await self.handle(scope, _body_only(receive), send)
        finally:
            self._lanes.put_nowait(lane)


def _is_event_stream(scope) -> bool:
    return any(k == b"accept" and b"text/event-stream" in v for k, v in scope.get("headers", ()))


def _body_only(receive):
    """`receive` that hands over the request body, then never reports the
    client's disconnect. Django cancels a request whose client went away
    (Leaflet aborts tile requests when the view moves) but cannot stop the
    thread running its view; this way the lane is given back only once the
    view has finished, as a WSGI worker would."""
    body_done = False

    async def wrapped():
        nonlocal body_done
        if body_done:
            await asyncio.Event().wait()  # until Django cancels it when the response is done
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            body_done = True
        return message

    return wrapped


application = LaneASGIHandler(settings.WEB_MAX_CONCURRENT_REQUESTS)
if settings.DEBUG:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = ASGIStaticFilesHandler(application)
