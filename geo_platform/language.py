"""``?lang=id`` / ``?lang=en`` overrides Accept-Language for one request (SPEC §4: errors in the
request's language; Bahasa Indonesia by default). Runs after LocaleMiddleware."""
from django.conf import settings
from django.utils import translation


class LanguageQueryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        lang = (request.GET.get("lang") or "").lower()
        if lang and lang in dict(settings.LANGUAGES):
            translation.activate(lang)
            request.LANGUAGE_CODE = lang
        return self.get_response(request)
