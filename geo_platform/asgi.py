"""ASGI entry point (issue 18): `make run` serves it with uvicorn.

Why ASGI: Server-Sent Events (live PJU) hold one connection per open tab; an
async view serves them without tying up a worker thread each.

Why bounded: every sync Django request runs in a thread of its own and holds
one database connection while it runs (connections close at the end of the
request, DB_CONN_MAX_AGE=0). `BoundedRequests` lets at most
WEB_MAX_CONCURRENT_REQUESTS requests into Django at once per process; the
rest wait in line (not refused), so a map loading forty tiles never opens
forty connections. Database connections of the web server stay at most
web processes × WEB_MAX_CONCURRENT_REQUESTS. Event streams (the client asks
for `text/event-stream`) are not counted: they are async and wait on Redis,
not on a query. In DEBUG, static files are served too (as runserver does)."""
import asyncio
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_platform.settings")
django_application = get_asgi_application()

from django.conf import settings  # noqa: E402  (after Django is set up)


class BoundedRequests:
    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit
        self._semaphore = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or _is_event_stream(scope):
            return await self.app(scope, receive, send)
        if self._semaphore is None:  # created inside the server's event loop
            self._semaphore = asyncio.Semaphore(self.limit)
        async with self._semaphore:
            return await self.app(scope, receive, send)


def _is_event_stream(scope) -> bool:
    return any(k == b"accept" and b"text/event-stream" in v for k, v in scope.get("headers", ()))


application = django_application
if settings.DEBUG:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = ASGIStaticFilesHandler(application)
application = BoundedRequests(application, settings.WEB_MAX_CONCURRENT_REQUESTS)
