"""Projects as sub-customers, classes and locations (README "Projects, classes and locations") through the
real path: signed HTTP → gateway → handlers → the Productive emulator (invoice → invoice attributions →
budget → project) and the QuickBooks emulator (sub-customers, Class, Department and the preferences that
switch them on) over sockets, state in moto. Each test has a QuickBooks company of its own: it turns the
company's tracking preferences on and off."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.qbo_payments import PaymentDriver
from tests.integration.copy_world import World

TRACK_LINES = "AccountingInfoPrefs.ClassTrackingPerTxnLine"
TRACK_TRANSACTIONS = "AccountingInfoPrefs.ClassTrackingPerTxn"
TRACK_LOCATIONS = "AccountingInfoPrefs.TrackDepartments"
# The sample company's classes and locations (local/qbo_emulator/README.md, "Seeded companies").
CONSULTING, DESIGN_STUDIO, TRAINING, WORKSHOPS = "1", "2", "3", "4"
HEADQUARTERS, ONLINE = "1", "2"


@pytest.fixture
def world(app: Any, stack: Any, productive: Any) -> World:
    return World(app, stack, productive, stack.emulator.add_company("US"))


def _configure(world: World, **changes: Any) -> dict[str, Any]:
    """The connection's settings with these changed (a PUT replaces them all: the item mappings stay)."""
    current = world.app.get(f"/connections/{world.cid}").json()["settings"]
    return world.configure(**{**current, **changes})


def _prefer(world: World, **preferences: bool) -> None:
    names = {"lines": TRACK_LINES, "transactions": TRACK_TRANSACTIONS, "locations": TRACK_LOCATIONS}
    for name, value in preferences.items():
        world.stack.emulator.set_preference(world.realm, names[name], value)


def _project(world: World, name: str | None = None, *, company_id: str | None = None) -> str:
    """A project of the client (Acme unless told) with a budget; returns the budget's id."""
    org, client = world.demo.organization_id, company_id or world.demo.company_acme_id
    project = world.productive.create_project(org, name or f"Website {uuid.uuid4().hex[:6]}", company_id=client)
    return str(world.productive.create_budget(org, "Budget", company_id=client, project_id=project))


def _invoice(
    world: World,
    *budgets: str,
    services: tuple[str, ...] = ("Design",),
    company_id: str | None = None,
    lines: list[tuple[str, str]] | None = None,
    discount: str = "0",
) -> str:
    """An invoice of the client (exempt from tax, so QuickBooks' total is Productive's), one line per
    service (or per (quantity, unit price) of `lines`, services in turn), attributed to the budgets."""
    amounts = lines or [("2", "150")] * len(services)
    invoice_id = str(
        world.productive.create_invoice(
            world.demo.organization_id,
            company_id or world.demo.company_acme_id,
            currency="USD",
            subsidiary_id=world.demo.subsidiary_us_id,
            invoiced_on="2025-05-02",
            discount=discount,
            line_items=[
                {
                    "description": f"Work {index}",
                    "quantity": quantity,
                    "unit_price": price,
                    "service_type_id": world.demo.service_type_ids[services[index % len(services)]],
                    "tax_rate_id": world.demo.tax_rate_us_exempt_id,
                }
                for index, (quantity, price) in enumerate(amounts)
            ],
        )
    )
    for budget in budgets:
        world.productive.attribute_invoice(world.demo.organization_id, invoice_id, budget)
    return invoice_id


def _copied(world: World, invoice_id: str, **body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The copy as answered, and the QuickBooks invoice it made."""
    response = world.copy(invoice_id, **body)
    assert response.status_code == 201, response.text
    copy = response.json()
    return copy, world.qbo("Invoice", copy["quickbooks_invoice_id"])


def _customers(world: World) -> list[dict[str, Any]]:
    return list(world.stack.emulator.store.require(world.realm).all("Customer"))


def _codes(copy: dict[str, Any]) -> list[str]:
    return [warning["code"] for warning in copy["warnings"]]


def _line_classes(qbo: dict[str, Any]) -> list[str | None]:
    return [
        (line["SalesItemLineDetail"].get("ClassRef") or {}).get("value")
        for line in qbo["Line"]
        if line["DetailType"] == "SalesItemLineDetail"
    ]


def _services(world: World, **classes: str) -> dict[str, str]:
    return {world.demo.service_type_ids[name]: class_id for name, class_id in classes.items()}


# -- projects as sub-customers -------------------------------------------------------------------


def test_a_new_project_gets_a_sub_customer_and_its_next_invoices_go_to_the_same_one(world: World) -> None:
    _configure(world, customer_level="project")
    budget = _project(world, "Website: relaunch")
    first, qbo = _copied(world, _invoice(world, budget))
    assert first["warnings"] == []
    sub = world.qbo("Customer", qbo["CustomerRef"]["value"])
    parent = world.qbo("Customer", sub["ParentRef"]["value"])
    assert (sub["Job"], sub["DisplayName"]) == (True, "Website- relaunch")
    assert parent["DisplayName"] == "Acme & Sons, LLC"
    assert sub["FullyQualifiedName"] == "Acme & Sons, LLC:Website- relaunch"
    assert sub["PrimaryEmailAddr"] == parent["PrimaryEmailAddr"]  # the client's billing e-mail
    # Invoices roll up under the client.
    assert parent["BalanceWithJobs"] == qbo["TotalAmt"]
    assert parent["Balance"] == 0
    customers = len(_customers(world))

    # The accountant renames the sub-customer; the project's next invoice still goes to it (remembered
    # per project), and so does its credit note, and no customer is made.
    with PaymentDriver(world.stack, world.productive, world.cid, world.realm) as accountant:
        accountant.call(
            "POST",
            "/customer",
            {"Id": sub["Id"], "SyncToken": sub["SyncToken"], "sparse": True, "DisplayName": "Relaunch 2025"},
        )
    second, qbo_second = _copied(world, _invoice(world, budget))
    assert qbo_second["CustomerRef"]["value"] == sub["Id"]
    assert second["warnings"] == []
    assert len(_customers(world)) == customers
    # The client's own invoices (no project) still go to the client's customer, with a warning.
    plain, qbo_plain = _copied(world, _invoice(world))
    assert qbo_plain["CustomerRef"]["value"] == parent["Id"]
    assert _codes(plain) == ["no_project"]


def test_a_project_whose_sub_customer_exists_in_quickbooks_uses_it(world: World) -> None:
    # The sample company's "Freeman Sporting Goods" has the job "0969 Ocean View Road".
    freeman = world.productive.create_company(
        world.demo.organization_id, "Freeman Sporting Goods", default_currency="USD"
    )
    by_name = {customer["DisplayName"]: customer for customer in _customers(world)}
    job = by_name["0969 Ocean View Road"]
    assert job["ParentRef"]["value"] == by_name["Freeman Sporting Goods"]["Id"]
    _configure(world, customer_level="project")
    budget = _project(world, "0969 Ocean View Road", company_id=freeman)
    before = len(_customers(world))
    copy, qbo = _copied(world, _invoice(world, budget, company_id=freeman))
    assert qbo["CustomerRef"]["value"] == job["Id"]
    assert copy["warnings"] == []
    assert len(_customers(world)) == before
    # A project named like another client's sub-customer gets a name of its own under its client.
    twin, qbo_twin = _copied(world, _invoice(world, _project(world, "0969 Ocean View Road")))
    sub = world.qbo("Customer", qbo_twin["CustomerRef"]["value"])
    assert sub["DisplayName"] == "0969 Ocean View Road (USD)"
    assert world.qbo("Customer", sub["ParentRef"]["value"])["DisplayName"] == "Acme & Sons, LLC"
    assert twin["warnings"] == []


def test_an_invoice_of_two_projects_goes_to_the_client_with_a_warning_naming_them(world: World) -> None:
    _configure(world, customer_level="project")
    website, retainer = f"Website {uuid.uuid4().hex[:4]}", f"Retainer {uuid.uuid4().hex[:4]}"
    invoice_id = _invoice(world, _project(world, website), _project(world, retainer))
    copy, qbo = _copied(world, invoice_id)
    customer = world.qbo("Customer", qbo["CustomerRef"]["value"])
    assert customer["DisplayName"] == "Acme & Sons, LLC"
    assert customer["Job"] is False
    [warning] = copy["warnings"]
    assert warning["code"] == "several_projects"
    assert website in warning["message"]
    assert retainer in warning["message"]
    assert [project["name"] for project in warning["projects"]] == [website, retainer]
    assert not any(c["Job"] for c in _customers(world) if c["DisplayName"] in (website, retainer))


def test_a_picked_customer_is_used_as_it_is_whatever_the_project(world: World) -> None:
    _configure(world, customer_level="project")
    picked = next(c for c in _customers(world) if c["DisplayName"] == "Acme Corporation")["Id"]
    copy, qbo = _copied(world, _invoice(world, _project(world)), customer_id=picked)
    assert qbo["CustomerRef"]["value"] == picked
    assert copy["warnings"] == []


# -- classes ---------------------------------------------------------------------------------------


def test_classes_per_line_follow_the_service_types_and_fall_back_to_the_default(world: World) -> None:
    _prefer(world, lines=True)
    _configure(
        world,
        class_source="service_type",
        service_type_classes=_services(world, Design=DESIGN_STUDIO, Development=WORKSHOPS),
        default_class_id=CONSULTING,
    )
    copy, qbo = _copied(world, _invoice(world, services=("Design", "Development", "Consulting")))
    assert _line_classes(qbo) == [DESIGN_STUDIO, WORKSHOPS, CONSULTING]
    assert "ClassRef" not in qbo
    assert copy["warnings"] == []
    # Without a default, a service type that is not mapped leaves its line without a class.
    _configure(
        world,
        class_source="service_type",
        service_type_classes=_services(world, Design=DESIGN_STUDIO),
        default_class_id=None,
    )
    _, again = _copied(world, _invoice(world, services=("Design", "Consulting")))
    assert _line_classes(again) == [DESIGN_STUDIO, None]


def test_classes_per_transaction_when_the_lines_agree_else_none_and_a_conflict_warning(world: World) -> None:
    _prefer(world, transactions=True)
    _configure(
        world, class_source="service_type", service_type_classes=_services(world, Design=TRAINING, Development=TRAINING)
    )
    agreed_id = _invoice(world, services=("Design", "Development"))
    agreed, qbo = _copied(world, agreed_id)
    assert qbo["ClassRef"]["value"] == TRAINING
    assert _line_classes(qbo) == [None, None]
    assert agreed["warnings"] == []
    _configure(
        world,
        class_source="service_type",
        service_type_classes=_services(world, Design=TRAINING, Development=CONSULTING),
    )
    conflict, qbo_conflict = _copied(world, _invoice(world, services=("Design", "Development", "Design")))
    assert "ClassRef" not in qbo_conflict
    assert _line_classes(qbo_conflict) == [None, None, None]
    [warning] = conflict["warnings"]
    assert warning["code"] == "class_conflict"
    assert "Design" in warning["message"]
    assert "Development" in warning["message"]
    assert [(entry["service_type_name"], entry["class_id"]) for entry in warning["service_types"]] == [
        ("Design", TRAINING),
        ("Development", CONSULTING),
    ]
    # The first invoice updated now that its lines disagree: the class an earlier copy set is cleared
    # (a sparse update alone would leave it), and the invoice stays the same one, lines and total too.
    updated, qbo_updated = _copied(world, agreed_id, mode="update")
    assert updated["mode"] == "update"
    assert _codes(updated) == ["class_conflict"]
    assert qbo_updated["Id"] == qbo["Id"]
    assert "ClassRef" not in qbo_updated
    assert qbo_updated["TotalAmt"] == qbo["TotalAmt"]
    assert len(qbo_updated["Line"]) == len(qbo["Line"])
    # The copy kept what the clearing write left: the next update finds no edit made in QuickBooks.
    again, _ = _copied(world, agreed_id, mode="update")
    assert _codes(again) == ["class_conflict"]
    # A fixed class always agrees.
    _configure(world, class_source="fixed", class_id=CONSULTING)
    _, fixed = _copied(world, _invoice(world, services=("Design", "Development")))
    assert fixed["ClassRef"]["value"] == CONSULTING


def test_a_fixed_location_goes_on_every_copy_and_an_update_keeps_it(world: World) -> None:
    _prefer(world, locations=True)
    _configure(world, location_id=ONLINE)
    invoice_id = _invoice(world)
    _, qbo = _copied(world, invoice_id)
    assert qbo["DepartmentRef"]["value"] == ONLINE
    _configure(world, location_id=HEADQUARTERS)
    updated, qbo_updated = _copied(world, invoice_id, mode="update")
    assert updated["mode"] == "update"
    assert qbo_updated["Id"] == qbo["Id"]
    assert qbo_updated["DepartmentRef"]["value"] == HEADQUARTERS


# -- what bad input gets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "code"),
    [
        ({"class_source": "fixed", "class_id": CONSULTING}, "class_tracking_off"),
        ({"class_source": "service_type", "default_class_id": CONSULTING}, "class_tracking_off"),
        ({"location_id": ONLINE}, "location_tracking_off"),
    ],
)
def test_each_setting_is_refused_while_the_companys_preference_is_off(
    world: World, settings: dict[str, Any], code: str
) -> None:
    before = world.app.get(f"/connections/{world.cid}").json()["settings"]
    response = world.app.put(f"/connections/{world.cid}/settings", {**before, **settings})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    assert world.app.get(f"/connections/{world.cid}").json()["settings"] == before


@pytest.mark.parametrize(
    ("settings", "code", "named"),
    [
        ({"class_source": "fixed", "class_id": "424242"}, "unknown_class", "424242"),
        ({"class_source": "service_type", "service_type_classes": {"14": "1", "15": "777"}}, "unknown_class", "777"),
        ({"location_id": "5150"}, "unknown_location", "5150"),
    ],
)
def test_an_unknown_class_or_location_is_422_naming_it(
    world: World, settings: dict[str, Any], code: str, named: str
) -> None:
    _prefer(world, lines=True, locations=True)
    response = world.app.put(f"/connections/{world.cid}/settings", settings)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert named in error["message"]


def test_a_class_deactivated_after_it_was_set_is_422_at_copy_time_naming_it_and_nothing_is_written(
    world: World,
) -> None:
    _prefer(world, lines=True)
    _configure(world, customer_level="project", class_source="fixed", class_id=TRAINING)
    realm = world.stack.emulator.store.require(world.realm)
    with realm.lock:
        training = realm.get("Class", TRAINING)
        assert training is not None
        training["Active"] = False
    customers = len(_customers(world))
    invoice_id = _invoice(world, _project(world))
    response = world.copy(invoice_id)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "quickbooks_class_unavailable"
    assert "'Training' (id 3)" in error["message"]
    # Nothing written: no customer, no sub-customer, no invoice, no history, Productive untouched.
    assert len(_customers(world)) == customers
    assert world.qbo_invoices(invoice_id) == []
    assert world.history(invoice_id) == []
    assert world.productive.invoice(invoice_id)["exported"] is False


def test_a_location_deactivated_or_tracking_switched_off_after_saving_is_422_at_copy_time(world: World) -> None:
    _prefer(world, locations=True)
    _configure(world, location_id=HEADQUARTERS)
    realm = world.stack.emulator.store.require(world.realm)
    with realm.lock:
        location = realm.get("Department", HEADQUARTERS)
        assert location is not None
        location["Active"] = False
    invoice_id = _invoice(world)
    gone = world.copy(invoice_id)
    assert gone.status_code == 422, gone.text
    assert gone.json()["error"]["code"] == "quickbooks_location_unavailable"
    assert "'Headquarters' (id 1)" in gone.json()["error"]["message"]
    with realm.lock:
        location["Active"] = True
    _prefer(world, locations=False)
    off = world.copy(invoice_id)
    assert off.status_code == 422, off.text
    assert off.json()["error"]["code"] == "location_tracking_off"
    assert world.qbo_invoices(invoice_id) == []


# -- the look-ups ----------------------------------------------------------------------------------


def test_the_classes_and_locations_look_ups_list_the_active_ones(world: World) -> None:
    realm = world.stack.emulator.store.require(world.realm)
    with realm.lock:
        consulting = realm.get("Class", CONSULTING)
        assert consulting is not None
        consulting["Active"] = False
    classes = world.app.get(f"/connections/{world.cid}/quickbooks/classes")
    assert classes.status_code == 200, classes.text
    assert [(c["id"], c["name"], c["parent_id"]) for c in classes.json()["items"]] == [
        (DESIGN_STUDIO, "Design Studio", None),
        (TRAINING, "Training", None),
        (WORKSHOPS, "Training:Workshops", TRAINING),
    ]
    locations = world.app.get(f"/connections/{world.cid}/quickbooks/locations")
    assert locations.status_code == 200, locations.text
    assert [(entry["id"], entry["name"]) for entry in locations.json()["items"]] == [
        (HEADQUARTERS, "Headquarters"),
        (ONLINE, "Online"),
        ("3", "Online:Marketplace"),
    ]


# -- bulk copy jobs ----------------------------------------------------------------------------------


def test_a_copy_job_creates_each_projects_sub_customer_once_before_its_batch(world: World) -> None:
    _prefer(world, lines=True, locations=True)
    client = world.productive.create_company(
        world.demo.organization_id, f"Bulk Client {uuid.uuid4().hex[:6]}", default_currency="USD"
    )
    _configure(
        world,
        customer_level="project",
        class_source="service_type",
        service_type_classes=_services(world, Design=DESIGN_STUDIO),
        default_class_id=CONSULTING,
        location_id=ONLINE,
    )
    website, retainer = _project(world, "Website", company_id=client), _project(world, "Retainer", company_id=client)
    invoice_ids = [
        _invoice(world, budget, company_id=client, services=("Design", "Development"))
        for budget in (website, retainer, website, retainer)
    ]
    submitted = world.app.post(f"/connections/{world.cid}/copy-jobs", {"invoice_ids": invoice_ids, "mode": "create"})
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["job_id"]
    deadline = time.monotonic() + 120  # the stack's SQS pollers run the worker
    while (job := world.app.get(f"/connections/{world.cid}/copy-jobs/{job_id}").json())["status"] != "done":
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
    assert (job["copied"], job["failed"]) == (4, 0), job
    invoices = [world.qbo_invoices(invoice_id)[0] for invoice_id in invoice_ids]
    subs = [world.qbo("Customer", invoice["CustomerRef"]["value"]) for invoice in invoices]
    assert [sub["DisplayName"] for sub in subs] == ["Website", "Retainer", "Website", "Retainer"]
    assert subs[0]["Id"] == subs[2]["Id"]
    assert subs[1]["Id"] == subs[3]["Id"]
    assert {sub["ParentRef"]["value"] for sub in subs} == {subs[0]["ParentRef"]["value"]}
    assert all(_line_classes(invoice) == [DESIGN_STUDIO, CONSULTING] for invoice in invoices)
    assert all(invoice["DepartmentRef"]["value"] == ONLINE for invoice in invoices)


# -- totals whatever the settings ----------------------------------------------------------------------

quantities = st.decimals(min_value=Decimal("0.25"), max_value=Decimal("40"), places=2)
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("900"), places=3)
combinations = st.fixed_dictionaries(
    {
        "customer_level": st.sampled_from(["client", "project"]),
        "class_source": st.sampled_from(["none", "service_type", "fixed"]),
        "per_line": st.booleans(),
        "location": st.booleans(),
        "projects": st.integers(0, 2),
        "lines": st.lists(
            st.tuples(quantities, prices, st.sampled_from(["Design", "Development", "Consulting"])),
            min_size=1,
            max_size=5,
        ),
        "discount": st.sampled_from(["0", "7.5", "10"]),
    }
)


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=combinations)
def test_any_combination_of_the_settings_copies_productives_total_to_the_cent(
    world: World, case: dict[str, Any]
) -> None:
    _prefer(world, lines=case["per_line"], transactions=not case["per_line"], locations=case["location"])
    chosen: dict[str, Any] = {"customer_level": case["customer_level"], "class_source": case["class_source"]}
    if case["class_source"] == "service_type":
        chosen.update(service_type_classes=_services(world, Design=DESIGN_STUDIO), default_class_id=CONSULTING)
    elif case["class_source"] == "fixed":
        chosen["class_id"] = TRAINING
    chosen["location_id"] = ONLINE if case["location"] else None
    _configure(world, **chosen)
    budgets = [_project(world) for _ in range(case["projects"])]
    lines = [(str(quantity), str(price)) for quantity, price, _ in case["lines"]]
    services = tuple(service for _, _, service in case["lines"])
    invoice_id = _invoice(world, *budgets, services=services, lines=lines, discount=case["discount"])
    copy, qbo = _copied(world, invoice_id)
    productive_total = Decimal(world.productive.invoice(invoice_id)["amount_with_tax"])
    assert qbo["TotalAmt"] == productive_total
    assert Decimal(copy["total_amount"]) == productive_total
    assert "total_mismatch" not in _codes(copy)
