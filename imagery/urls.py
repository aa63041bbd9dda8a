from django.urls import path

from imagery import apis

urlpatterns = [
    path("api/imagery/", apis.ImageryListApi.as_view(), name="imagery-list"),
    path("api/imagery/<int:pk>/", apis.ImageryDetailApi.as_view(), name="imagery-detail"),
    path("api/imagery/<int:pk>/elevation/", apis.ElevationApi.as_view(), name="imagery-elevation"),
    path("api/imagery/<int:pk>/profile/", apis.ProfileApi.as_view(), name="imagery-profile"),
    path("api/imagery/<int:pk>/zonal/", apis.ZonalApi.as_view(), name="imagery-zonal"),
    path("imagery/<int:pk>/tiles/<int:z>/<int:x>/<int:y>.png", apis.tile_view, name="imagery-tile"),
    path("imagery/<int:pk>/tilejson.json", apis.tilejson_view, name="imagery-tilejson"),
]
