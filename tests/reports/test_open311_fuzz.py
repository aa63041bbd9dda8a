"""Bad input on the Open311 endpoints (outside /api/schema/, so not in the
schemathesis run): random strings in every parameter, fixed seed — always a
4xx or a 201/200, never a 5xx, and every refusal is the spec's error list."""
import random

import pytest

from tests.reports.conftest import post_report

pytestmark = pytest.mark.django_db

NASTY = ["", " ", "\x00", "0", "-1", "1e309", "nan", "inf", "99999999999999999999999", "'; DROP TABLE x;--", "<a>&</a>",
         "pju_mati", "PJU-A", "2026-12-01T00:00:00Z", "open,closed", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "a" * 3000, "-6.15", "106.70", "[]", "{}"]
POST_FIELDS = ["service_code", "lat", "long", "attribute[pju_code]", "description", "address_string", "email", "phone",
               "device_id", "media_url", "jurisdiction_id", "first_name"]
GET_PARAMS = ["service_request_id", "service_code", "status", "start_date", "end_date", "jurisdiction_id"]


def test_random_parameters_never_give_a_5xx(client, scene, api_key):
    rng = random.Random(17)
    for _ in range(150):
        data = {f: rng.choice(NASTY) for f in rng.sample(POST_FIELDS, rng.randint(1, len(POST_FIELDS)))}
        r = post_report(client, rng.choice([api_key, api_key, "", "\x00bad"]), data.pop("service_code", "pju_mati"), None,
                        fmt=rng.choice(["json", "xml"]), **data)
        assert r.status_code in (201, 400, 403, 404, 429), (data, r.status_code, r.content[:300])
        if r.status_code != 201 and r["Content-Type"].startswith("application/json"):
            assert set(r.json()[0]) == {"code", "description"}
    for _ in range(150):
        query = {p: rng.choice(NASTY) for p in rng.sample(GET_PARAMS, rng.randint(1, len(GET_PARAMS)))}
        fmt = rng.choice(["json", "xml"])
        r = client.get(f"/open311/v2/requests.{fmt}", query)
        assert r.status_code in (200, 400, 404), (query, r.status_code, r.content[:300])
        r = client.get(f"/open311/v2/requests/{rng.choice(NASTY)}.{fmt}")
        assert r.status_code in (200, 400, 404), r.content[:300]  # 400: NUL in the URL (geo_platform.hardening)
