"""/api/templates/, /api/estimates/, /api/programme/ and the earthwork
analysis /api/imagery/{id}/earthwork/ (served from this app)."""
from django.urls import path

from estimates import apis

urlpatterns = [
    path("api/templates/", apis.TemplateListApi.as_view(), name="estimate-templates"),
    path("api/estimates/", apis.EstimateApi.as_view(), name="estimates"),
    path("api/programme/", apis.ProgrammeApi.as_view(), name="programme"),
    path("api/imagery/<int:pk>/earthwork/", apis.EarthworkApi.as_view(), name="imagery-earthwork"),
]
