from tests.conftest import create_patient

async def test_explore(client, org):
    p = await create_patient(client, org)
    cases = [
        ("post", "/api/v1/patients", dict(content=b"{not json", headers={**org.headers, "content-type": "application/json"})),
        ("post", "/api/v1/patients", dict(json=[1,2])),
        ("post", "/api/v1/patients", dict(json={"mrn": 5})),
        ("post", "/api/v1/patients", dict(json={"mrn": "a", "given_name": "x", "family_name": "y", "birth_date": "2023-02-30"})),
        ("post", "/api/v1/patients", dict(json={"mrn": "a", "given_name": "x", "family_name": "y", "birth_date": "2099-02-03"})),
        ("post", "/api/v1/patients", dict(json={"mrn": "a", "given_name": "x", "family_name": "y", "birth_date": "1999-02-03", "bogus": 1})),
        ("post", "/api/v1/patients", dict(json={"mrn": "a", "given_name": "x", "family_name": "y", "birth_date": "1999-02-03", "address": {"line": ["x"*201]}})),
        ("patch", "/api/v1/patients/not-a-uuid", dict(json={})),
        ("get", "/api/v1/patients?limit=abc", {}),
        ("get", "/api/v1/patients?birth_date=yesterday", {}),
        ("get", "/api/v1/nope", {}),
        ("delete", "/api/v1/signup", {}),
        ("post", "/api/v1/patients", dict(content=b"{" + b" " * 1_100_000 + b"}", headers={**org.headers, "content-type": "application/json"})),
        ("post", "/api/v1/signup", dict(content=b"[]", headers={"content-type": "application/json"})),
        ("post", "/api/v1/auth/token", dict(json={"tenant": "x", "email": "abc", "password": "x", "totp": "12"})),
        ("post", f"/api/v1/patients/{p['id']}/consents", dict(json={"kind": "channel"})),
        ("post", f"/api/v1/patients/{p['id']}/consents", dict(json={"kind": "channel", "channel": "sms", "expires_at": "2030-01-01T00:00:00"})),
        ("post", "/api/v1/users", dict(json={"email": "a@b.cd", "password": "x"*20, "role": "god"})),
    ]
    for method, url, kw in cases:
        kw.setdefault("headers", org.headers)
        r = await client.request(method, url, **kw)
        print(method, url, r.status_code, r.headers.get("content-type"), r.text[:600])
