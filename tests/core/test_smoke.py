async def test_health(client):
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_patient_roundtrip(client, org):
    from tests.conftest import create_patient

    p = await create_patient(client, org)
    r = await client.get(f"/api/v1/patients/{p['id']}", headers=org.headers)
    assert r.status_code == 200, r.text
    assert r.json()["mrn"] == p["mrn"]
