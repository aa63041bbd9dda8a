"""/api/templates/, /api/estimates/, /api/programme/ and the earthwork
analysis /api/imagery/{id}/earthwork/ (served from this app)."""
from django.urls import path

urlpatterns: list = []
