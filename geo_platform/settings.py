"""Settings read from the environment (12-factor). Development defaults are
safe only for a local machine; with DJANGO_DEBUG=0 the service refuses to
start without a real SECRET_KEY and explicit ALLOWED_HOSTS."""
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# Issue 12: GDAL may not reach the network or other files (set before any GDAL library loads).
from geo_platform import gdal_safety  # noqa: E402

gdal_safety.apply()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# DJANGO_PRODUCTION=1 marks a production deployment: DEBUG is then off by default and refused when turned on.
PRODUCTION = env_bool("DJANGO_PRODUCTION", False)
DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off when DJANGO_PRODUCTION=1")
_DEV_SECRET = "dev-only-insecure-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", _DEV_SECRET if DEBUG else "")
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "").split(",") if h]
if not DEBUG:
    if not SECRET_KEY or SECRET_KEY == _DEV_SECRET:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a secret value when DJANGO_DEBUG=0")
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list the served host names when DJANGO_DEBUG=0")
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 3600))
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)  # usually the TLS proxy redirects
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# Login rate limiting (geo_platform/hardening.py): failed logins per client address per window.
LOGIN_RATE_LIMIT = int(os.environ.get("LOGIN_RATE_LIMIT", 10))
LOGIN_RATE_WINDOW = int(os.environ.get("LOGIN_RATE_WINDOW", 300))

DEFAULT_DATABASE_URL = "postgis://geo_platform:geo_platform@127.0.0.1:5432/geo_platform"
# Issue 18: connections close at the end of each request by default (DB_CONN_MAX_AGE=0): the web
# server runs under ASGI, where Django cannot reuse a connection across requests safely, and the
# number of connections is bounded by the server's request limit instead (geo_platform/asgi.py).
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
                                              conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", 0)), conn_health_checks=True)}
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "layers",
    "ogc",
    "imagery",
    "estimates",
    "needs",
    "webapp",
    "imports",  # issue 18: background jobs and web import
    "live",  # issue 16
    # issue 17: citizen reports (Open311 GeoReport v2, /lapor/)
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "geo_platform.hardening.BodySizeLimitMiddleware",
    "geo_platform.hardening.LoginRateLimitMiddleware",
    "geo_platform.hardening.DatabaseUnavailableMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "geo_platform.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "geo_platform.urls"
WSGI_APPLICATION = "geo_platform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "geo_platform" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ]
        },
    }
]

LANGUAGE_CODE = "id"
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
TIME_ZONE = os.environ.get("CITY_TIME_ZONE", "Asia/Jakarta")  # shown in WIB; stored in UTC
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "geo_platform" / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "static_collected"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", 20 * 1024 * 1024))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024  # larger uploads stream to a temporary file

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# GDAL 3.6 (Debian 12) cannot restrict file access in SRS strings; we never pass user SRS text to GDAL.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# "tiles": vector tiles keyed by layer revision (layers/tiles.py); per process.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "tiles": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "tiles",
        "TIMEOUT": None,
        "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("TILE_CACHE_ENTRIES", 20000))},
    },
}

PUBLIC_READ = env_bool("PUBLIC_READ", True)
BASEMAP_URL = os.environ.get("BASEMAP_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
SHARED_DATA_DIR = Path(os.environ.get("GEO_PLATFORM_SHARED_DATA", BASE_DIR.parent / "shared" / "data"))
IMAGERY_ROOT = Path(os.environ.get("IMAGERY_ROOT", MEDIA_ROOT / "imagery"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["geo_platform.access.DefaultPolicy"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "geo_platform.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "geo_platform API",
    "DESCRIPTION": "PJU, jalan, wilayah, citra dan kebutuhan lapangan / street lights, roads, areas, imagery and field needs",
    "VERSION": "0.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# issue 20: the interactive docs point QGIS/GDAL users to the OGC API's how-to page.
SPECTACULAR_SETTINGS["DESCRIPTION"] += (
    "\n\nQGIS / GDAL: [OGC API – Features](/ogc/?f=html) (how to add the layers, with your token); "
    "FlatGeobuf: `?format=fgb`."
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Parallel developers/CI jobs on one server can each use their own test database.
if os.environ.get("GEO_PLATFORM_TEST_DB"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["GEO_PLATFORM_TEST_DB"]}

# Issue 18: background jobs (Celery on Redis, SPEC §9) and the web server's bounds.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is delivered again …
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # … also when the worker process is killed
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", 6 * 3600))}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Uploaded import files and tus uploads (var/uploads); the largest upload accepted.
IMPORT_UPLOAD_DIR = Path(os.environ.get("IMPORT_UPLOAD_DIR", BASE_DIR / "var" / "uploads"))
IMPORT_MAX_UPLOAD_BYTES = int(os.environ.get("IMPORT_MAX_UPLOAD_BYTES", 20 * 1024**3))
IMPORT_MULTIPART_MAX_BYTES = 100 * 1024 * 1024  # larger files go through tus (SPEC §9)
# Concurrent requests one web process serves at once (each holds at most one database connection);
# more wait in line. Server-Sent Events streams (Accept: text/event-stream) are not counted.
WEB_MAX_CONCURRENT_REQUESTS = int(os.environ.get("WEB_MAX_CONCURRENT_REQUESTS", 8))
# issue 17: citizen reports (Open311). Abuse limits per client address and per device
# (counted in the "default" cache), photo size; OPEN311_SLA_DAYS='{"pju_mati": 3}' overrides SLAs.
REPORT_RATE_LIMIT = int(os.environ.get("REPORT_RATE_LIMIT", 10))
REPORT_RATE_WINDOW = int(os.environ.get("REPORT_RATE_WINDOW", 3600))
REPORT_PHOTO_MAX_BYTES = int(os.environ.get("REPORT_PHOTO_MAX_BYTES", 10 * 1024 * 1024))

# --- issue 12: security (docs/reliability.md "Threat model") ---
MIDDLEWARE += [
    "geo_platform.hardening.RejectNulMiddleware",  # NUL in URL → 400
    "geo_platform.hardening.LocalDebugMiddleware",  # DEBUG pages for loopback clients only
    "geo_platform.hardening.ContentSecurityPolicyMiddleware",  # CSP on every response (inside GZip: sees plain HTML)
]
DEFAULT_EXCEPTION_REPORTER = "geo_platform.hardening.LocalOnlyExceptionReporter"
SECURE_CONTENT_TYPE_NOSNIFF = True
PHOTO_MAX_PIXELS = int(os.environ.get("PHOTO_MAX_PIXELS", 50_000_000))

# --- Issue 16: live PJU network over MQTT (SPEC §7, live/) ---
MQTT_URL = os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")
MQTT_TOPIC_ROOT = os.environ.get("MQTT_TOPIC_ROOT", "pju")  # SPEC §7 topics: {root}/{controller_id}/telemetry …
MQTT_CLIENT_ID = os.environ.get("MQTT_CLIENT_ID", "geo_platform-ingest")  # fixed: the broker keeps the session
LIVE_RETENTION_DAYS = int(os.environ.get("LIVE_RETENTION_DAYS", 30))  # raw telemetry; hourly rollups are kept
LIVE_BATCH_SIZE = int(os.environ.get("LIVE_BATCH_SIZE", 5000))
LIVE_BATCH_SECONDS = float(os.environ.get("LIVE_BATCH_SECONDS", 0.1))
LIVE_MAX_PAYLOAD_BYTES = int(os.environ.get("LIVE_MAX_PAYLOAD_BYTES", 4096))
OFFLINE_AFTER = int(os.environ.get("OFFLINE_AFTER", 45 * 60))  # seconds of silence → offline alarm
LIVE_NIGHT_MARGIN_MIN = int(os.environ.get("LIVE_NIGHT_MARGIN_MIN", 15))
LIVE_ROLLUP_SECONDS = float(os.environ.get("LIVE_ROLLUP_SECONDS", 60))  # hourly rollups rebuilt from raw rows (live/rollups.py)
COMMAND_RETRY_SECONDS = float(os.environ.get("COMMAND_RETRY_SECONDS", 30))
COMMAND_MAX_ATTEMPTS = int(os.environ.get("COMMAND_MAX_ATTEMPTS", 3))
PLN_TARIFF_RP_KWH = float(os.environ.get("PLN_TARIFF_RP_KWH", 1699.53))  # P-3/TR
# Issue 19 (pages): where /map/ and /dashboard/ open — an area code or a bbox "minlon,minlat,maxlon,maxlat";
# empty = the kabupaten/kota with the most PJU, else the densest cluster of PJU. The dashboard polls the
# summary every DASHBOARD_POLL_MS while /api/live/ is not there.
CITY_HOME = os.environ.get("CITY_HOME", "")
DASHBOARD_POLL_MS = int(os.environ.get("DASHBOARD_POLL_MS", 1000))

# --- issue 15: ?lang=id|en overrides Accept-Language (error messages in the request's language) ---
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.locale.LocaleMiddleware") + 1, "geo_platform.language.LanguageQueryMiddleware")
LOCALE_PATHS = [*LOCALE_PATHS, BASE_DIR / "geo_platform" / "locale"]  # the kernel's messages (access, error table)
