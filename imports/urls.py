from django.urls import path

from imports import apis, views

urlpatterns = [
    path("api/imports/", apis.ImportListView.as_view(), name="import-list"),
    path("api/imports/<uuid:pk>/", apis.ImportDetailView.as_view(), name="import-detail"),
    path("api/imports/<uuid:pk>/rejects/", apis.ImportRejectsView.as_view(), name="import-rejects"),
    path("api/uploads/", apis.UploadCreateView.as_view(), name="upload-list"),
    path("api/uploads/<uuid:pk>/", apis.UploadDetailView.as_view(), name="upload-detail"),
    path("api/jobs/", apis.JobListView.as_view(), name="job-list"),
    path("api/jobs/<uuid:pk>/", apis.JobDetailView.as_view(), name="job-detail"),
    path("api/jobs/<uuid:pk>/download/", apis.JobDownloadView.as_view(), name="job-download"),
    path("imports/", views.import_page, name="import-page"),
]
