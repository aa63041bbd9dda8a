"""Input of the needs endpoints (validation only; outputs are PostGIS-built GeoJSON)."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from layers.filters import MAX_LAT
from layers.serializers import PhotoInputSerializer
from needs.models import WORK_ORDER_KINDS


def parse_near(value: str | None) -> tuple[float, float] | None:
    if not value:
        return None
    parts = value.split(",")
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError:
        raise ValidationError({"near": [_("near must be lon,lat (two numbers, WGS 84)")]}) from None
    if not (-180 <= lon <= 180 and -MAX_LAT <= lat <= MAX_LAT):
        raise ValidationError({"near": [_("near is outside lon -180..180 / lat -85..85 (order: lon,lat)")]})
    return lon, lat


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "user id or username"})
class OfficerField(serializers.Field):
    """A user id or username."""

    default_error_messages = {"missing": "no user {value!r}"}

    def to_internal_value(self, data):
        users = get_user_model().objects
        if isinstance(data, bool):
            raise ValidationError(_("give a user id or a username"))
        text = str(data)
        if isinstance(data, int) or (text.isascii() and text.isdigit()):  # issue 12: "²".isdigit() is True too
            user = users.filter(pk=int(text)).first() if len(text.lstrip("-")) <= 18 else None
        elif len(text) <= 150 and "\x00" not in text:
            user = users.filter(username=text).first()
        else:
            user = None
        if user is None:
            raise ValidationError(_("no user %(user)r") % {"user": data})
        return user

    def to_representation(self, value):
        return value.pk


class WorkOrderCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=WORK_ORDER_KINDS)
    target = serializers.IntegerField(
        help_text="id of the need: PJU (broken_pju), road (damaged_road), proposed PJU (proposed_pju) or lighting gap (lighting_gap)"
    )
    assigned_to = OfficerField(required=False, allow_null=True, default=None)
    title = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class WorkOrderAssignSerializer(serializers.Serializer):
    officer = OfficerField()


class WorkOrderRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class WorkOrderCloseSerializer(serializers.Serializer):
    """Multipart: the photo, the GPS fix (lon, lat, accuracy) and a note."""

    photo = serializers.FileField()
    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-MAX_LAT, max_value=MAX_LAT)
    accuracy_m = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0)
    note = serializers.CharField(required=False, allow_blank=True, default="")

    def validate_photo(self, value):
        return PhotoInputSerializer().validate_image(value)
