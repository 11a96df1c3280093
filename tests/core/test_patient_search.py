"""Patient search and cursor pagination over HTTP; each test has an organization of its own."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
from litestar.testing import AsyncTestClient

from tests.conftest import Org, create_patient

PATIENTS = "/api/v1/patients"


async def get_page(client: AsyncTestClient[Any], org: Org, **params: Any) -> httpx.Response:
    return await client.get(PATIENTS, headers=org.headers, params=params)


async def found(client: AsyncTestClient[Any], org: Org, **params: Any) -> set[str]:
    """The ids one search returns (a single page big enough for any test here)."""
    response = await get_page(client, org, limit=200, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    return {p["id"] for p in body["items"]}


async def walk(client: AsyncTestClient[Any], org: Org, limit: int, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a listing, following next_cursor until it is null."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await get_page(client, org, **query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "pagination does not end"


def sort_key(patient: dict[str, Any]) -> tuple[str, str, UUID]:
    return patient["family_name"].lower(), patient["given_name"].lower(), UUID(patient["id"])


def assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == status


async def people(client: AsyncTestClient[Any], org: Org) -> dict[str, dict[str, Any]]:
    """A small register with overlapping names, keyed by a nickname."""
    specs: dict[str, dict[str, Any]] = {
        "john_smith": {"given_name": "John", "family_name": "Smith", "birth_date": "1950-01-02"},
        "jane_smithers": {"given_name": "Jane", "family_name": "Smithers", "birth_date": "1961-12-10"},
        "smita_patel": {"given_name": "Smita", "family_name": "Patel", "birth_date": "1950-01-02"},
        "joan_baker": {"given_name": "Joan", "family_name": "Baker", "phone": "+1 (555) 777-1234"},
        "bob_jones": {"given_name": "Bob", "family_name": "Jones", "mrn": "SMITH-1"},
    }
    return {nick: await create_patient(client, org, **spec) for nick, spec in specs.items()}


def ids(register: dict[str, dict[str, Any]], *nicks: str) -> set[str]:
    return {register[n]["id"] for n in nicks}


# -- what a coordinator types into one box -------------------------------------------------------------


async def test_name_prefix_matches_family_or_given_case_insensitively(client: AsyncTestClient[Any], org: Org) -> None:
    reg = await people(client, org)
    assert await found(client, org, q="smi") == ids(reg, "john_smith", "jane_smithers", "smita_patel")
    assert await found(client, org, q="SMITH") == ids(reg, "john_smith", "jane_smithers")
    assert await found(client, org, q="smithe") == ids(reg, "jane_smithers")
    assert await found(client, org, q="jo") == ids(reg, "john_smith", "joan_baker", "bob_jones")
    assert await found(client, org, q="pAtEl") == ids(reg, "smita_patel")
    assert await found(client, org, q="mith") == set()  # a prefix, not a substring


async def test_two_words_are_given_then_family_or_the_reverse(client: AsyncTestClient[Any], org: Org) -> None:
    reg = await people(client, org)
    assert await found(client, org, q="jo smi") == ids(reg, "john_smith")
    assert await found(client, org, q="Smith John") == ids(reg, "john_smith")
    assert await found(client, org, q="ja smith") == ids(reg, "jane_smithers")
    assert await found(client, org, q="smi pat") == ids(reg, "smita_patel")
    assert await found(client, org, q="joan smith") == set()


async def test_exact_mrn_and_iso_birth_date(client: AsyncTestClient[Any], org: Org) -> None:
    reg = await people(client, org)
    smith = reg["john_smith"]
    assert await found(client, org, q=smith["mrn"]) == ids(reg, "john_smith")
    assert await found(client, org, q=smith["mrn"][:-1]) == set()  # MRNs match exactly, not by prefix
    # "SMITH-1" is Bob Jones's MRN: the same box finds him by MRN and nobody by name prefix "smith-1".
    assert await found(client, org, q="SMITH-1") == ids(reg, "bob_jones")
    assert await found(client, org, q="1950-01-02") == ids(reg, "john_smith", "smita_patel")
    assert await found(client, org, q="1961-12-10") == ids(reg, "jane_smithers", "joan_baker", "bob_jones")
    assert await found(client, org, q="2001-01-01") == set()


async def test_phone_in_any_punctuation(client: AsyncTestClient[Any], org: Org) -> None:
    reg = await people(client, org)
    baker = ids(reg, "joan_baker")
    for typed in ("+1 (555) 777-1234", "15557771234", "1-555-777-1234", "+1.555.777.1234", " 1 555 777 1234 "):
        assert await found(client, org, q=typed) == baker, typed
        assert await found(client, org, phone=typed.strip()) == baker, typed
    assert await found(client, org, q="555-777-1234") == set()  # the whole number, not a suffix


async def test_explicit_filters_combine(client: AsyncTestClient[Any], org: Org) -> None:
    reg = await people(client, org)
    assert await found(client, org, mrn=reg["jane_smithers"]["mrn"]) == ids(reg, "jane_smithers")
    assert await found(client, org, mrn="smith-1") == set()  # exact, case included
    assert await found(client, org, birth_date="1950-01-02") == ids(reg, "john_smith", "smita_patel")
    assert await found(client, org, name="smi") == ids(reg, "john_smith", "jane_smithers", "smita_patel")
    assert await found(client, org, name="smi", birth_date="1950-01-02") == ids(reg, "john_smith", "smita_patel")
    assert await found(client, org, name="smith", birth_date="1950-01-02") == ids(reg, "john_smith")
    assert await found(client, org, q="smi", mrn=reg["smita_patel"]["mrn"]) == ids(reg, "smita_patel")
    assert await found(client, org, phone="5557771234") == set()
    assert await found(client, org, name="joan", phone="15557771234") == ids(reg, "joan_baker")


async def test_like_wildcards_in_q_are_literal(client: AsyncTestClient[Any], org: Org) -> None:
    percent = await create_patient(client, org, family_name="Ab%cd")
    underscore = await create_patient(client, org, family_name="Ab_cd")
    backslash = await create_patient(client, org, family_name="Ab\\cd")
    plain = await create_patient(client, org, family_name="Abxcd")
    assert await found(client, org, q="ab%") == {percent["id"]}
    assert await found(client, org, q="ab_") == {underscore["id"]}
    assert await found(client, org, q="ab\\") == {backslash["id"]}
    assert await found(client, org, q="abx") == {plain["id"]}
    assert await found(client, org, q="%") == set()
    assert await found(client, org, q="_") == set()
    assert await found(client, org, name="%cd") == set()
    assert await found(client, org, q="ab") == {percent["id"], underscore["id"], backslash["id"], plain["id"]}


async def test_non_ascii_name_prefixes_follow_the_databases_case_rules(client: AsyncTestClient[Any], org: Org) -> None:
    ince = await create_patient(client, org, family_name="İnce", given_name="Ayşe")
    ozturk = await create_patient(client, org, family_name="Öztürk", given_name="Émile")
    assert await found(client, org, q="İnce") == {ince["id"]}
    assert await found(client, org, q="İN") == {ince["id"]}
    assert await found(client, org, q="ayşe İnce") == {ince["id"]}
    assert await found(client, org, name="AYŞE") == {ince["id"]}
    assert await found(client, org, q="özt") == {ozturk["id"]}
    assert await found(client, org, q="ÉMILE ÖZTÜRK") == {ozturk["id"]}


# -- pagination -----------------------------------------------------------------------------------------


async def test_cursor_walks_every_row_once_in_name_order(client: AsyncTestClient[Any], org: Org) -> None:
    names = [
        ("Zed", "Adams"),
        ("amy", "baker"),
        ("Amy", "Baker"),  # same sort key as the one above: the id breaks the tie
        ("Amy", "BAKER"),
        ("Bea", "Baker"),
        ("Carl", "Bakerson"),
        ("Al", "Young"),
    ]
    created = [await create_patient(client, org, given_name=g, family_name=f) for g, f in names]

    pages = await walk(client, org, limit=2)
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    listed = [p for page in pages for p in page]
    assert [p["id"] for p in listed] == [p["id"] for p in sorted(created, key=sort_key)]

    exact = await walk(client, org, limit=len(created))  # a full last page still ends the walk
    assert [len(p) for p in exact] == [len(created)]


async def test_cursor_pagination_of_a_search(client: AsyncTestClient[Any], org: Org) -> None:
    smiths = [await create_patient(client, org, given_name=f"Kid{i}", family_name="Smith") for i in range(5)]
    await create_patient(client, org, given_name="Ann", family_name="Other")
    pages = await walk(client, org, limit=2, q="smith")
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [p["id"] for page in pages for p in page] == [p["id"] for p in sorted(smiths, key=sort_key)]


async def test_non_ascii_names_page_without_gaps_or_duplicates(client: AsyncTestClient[Any], org: Org) -> None:
    """The cursor carries lower-cased names; that must agree with the database's lower()."""
    names = ["İnce", "Işık", "Ince", "Isik", "Straße", "STRASSE", "Ørsted", "Öztürk", "Émile", "Zoë"]  # noqa: RUF001
    created = {(await create_patient(client, org, family_name=n, given_name="Test"))["id"] for n in names}
    pages = await walk(client, org, limit=2)
    listed = [p["id"] for page in pages for p in page]
    assert len(listed) == len(set(listed)), "a patient appeared twice"
    assert set(listed) == created


async def test_deleted_patients_are_never_listed(client: AsyncTestClient[Any], org: Org) -> None:
    kept = [await create_patient(client, org, family_name="Keep", given_name=f"K{i}") for i in range(3)]
    gone = [await create_patient(client, org, family_name="Keep", given_name=f"G{i}") for i in range(3)]
    for patient in gone:
        assert (await client.delete(f"{PATIENTS}/{patient['id']}", headers=org.headers)).status_code == 204
    pages = await walk(client, org, limit=2)
    assert [p["id"] for page in pages for p in page] == [p["id"] for p in sorted(kept, key=sort_key)]
    for patient in gone:
        assert await found(client, org, mrn=patient["mrn"]) == set()
        assert await found(client, org, q=patient["mrn"]) == set()
    assert await found(client, org, q="keep g") == set()


async def test_bad_paging_parameters_are_400_problems(client: AsyncTestClient[Any], org: Org) -> None:
    await create_patient(client, org)
    for garbage in ("not-a-cursor!", "bm90IGpzb24", "WzEsMiwzXQ", "WyJhIiwiYiIsIm5vdC1hLXV1aWQiXQ", "%%%"):
        assert_problem(await get_page(client, org, cursor=garbage), 400)
    assert_problem(await get_page(client, org, limit=0), 400)
    assert_problem(await get_page(client, org, limit=201), 400)
    assert_problem(await get_page(client, org, limit="many"), 400)
    assert_problem(await get_page(client, org, birth_date="1961-13-45"), 400)
    assert (await get_page(client, org, limit=200)).status_code == 200
    assert (await get_page(client, org, limit=1)).status_code == 200
