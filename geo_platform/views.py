from django.http import JsonResponse
from django.urls import reverse


def home(request):
    """Entry point: where things are."""
    return JsonResponse(
        {
            "name": "geo_platform",
            "admin": request.build_absolute_uri(reverse("admin:index")),
            "api": request.build_absolute_uri("/api/"),
            "docs": request.build_absolute_uri(reverse("api-docs")),
        }
    )
