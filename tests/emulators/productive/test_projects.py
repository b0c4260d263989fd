"""Projects in the Productive emulator, reached as Productive shows them: an invoice's invoice attributions
link it to budgets (deals with `budget: true`), and a budget belongs to a project."""

from __future__ import annotations

import httpx

from local.productive_emulator import DemoIds, ProductiveEmulator
from tests.emulators.productive.conftest import JSONAPI, doc, rel


def test_an_invoices_projects_come_through_its_attributions_budgets(
    emu: ProductiveEmulator, demo: DemoIds, api: httpx.Client
) -> None:
    org, acme = demo.organization_id, demo.company_acme_id
    website = emu.create_project(org, "Website relaunch", company_id=acme, project_number="P-7")
    retainer = emu.create_project(org, "Support retainer", company_id=acme)
    phase_one = emu.create_budget(org, "Phase 1", company_id=acme, project_id=website)
    support = emu.create_budget(org, "Support 2025", company_id=acme, project_id=retainer)
    emu.attribute_invoice(org, demo.invoice_usd_id, phase_one, "1000")
    emu.attribute_invoice(org, demo.invoice_usd_id, support)

    response = api.get(
        "/invoice_attributions",
        params={"filter[invoice_id]": f"{demo.invoice_usd_id},{demo.invoice_gbp_id}", "include": "budget.project"},
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [a["relationships"]["budget"]["data"] for a in data] == [
        {"type": "deals", "id": phase_one},
        {"type": "deals", "id": support},
    ]
    assert data[0]["attributes"]["amount"] == "1000.00"
    assert data[0]["attributes"]["currency"] == "USD"
    included = {(item["type"], item["id"]): item for item in response.json()["included"]}
    assert included[("deals", phase_one)]["attributes"]["budget"] is True
    assert included[("deals", phase_one)]["relationships"]["project"]["data"] == {"type": "projects", "id": website}
    assert included[("projects", website)]["attributes"]["name"] == "Website relaunch"
    assert included[("projects", website)]["attributes"]["project_number"] == "P-7"
    assert ("projects", retainer) in included
    # The invoice lists its attributions; budgets are filtered by project.
    invoice = api.get(f"/invoices/{demo.invoice_usd_id}").json()["data"]
    assert len(invoice["relationships"]["invoice_attributions"]["data"]) == 2
    budgets = api.get("/deals", params={"filter[project_id]": website, "filter[budget]": "true"}).json()["data"]
    assert [budget["id"] for budget in budgets] == [phase_one]


def test_an_invoice_is_attributed_only_to_budgets_of_its_own_client(
    emu: ProductiveEmulator, demo: DemoIds, api: httpx.Client
) -> None:
    org = demo.organization_id
    project = emu.create_project(org, "Rebrand", company_id=demo.company_acme_id)
    deal = emu.create_deal(org, "Prospect", company_id=demo.company_acme_id, project_id=project)  # not a budget
    other = emu.create_budget(org, "Café work", company_id=demo.company_cafe_id, project_id=None)
    headers = {"Content-Type": JSONAPI}
    for budget, detail in ((deal, "not one"), (other, "another company")):
        body = doc(
            "invoice_attributions",
            {"amount": "10"},
            {"invoice": rel("invoices", demo.invoice_usd_id), "budget": rel("deals", budget)},
        )
        refused = api.post("/invoice_attributions", json=body, headers=headers)
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert error["source"]["pointer"] == "/data/relationships/budget"
        assert detail in error["detail"]
    assert api.get("/invoice_attributions", params={"filter[invoice_id]": demo.invoice_usd_id}).json()["data"] == []
    # A budget's project is one of the budget's client.
    cafe_project = emu.create_project(org, "Café menu", company_id=demo.company_cafe_id)
    wrong = api.post(
        "/deals",
        json=doc(
            "deals",
            {"name": "Mixed", "budget": True},
            {"company": rel("companies", demo.company_acme_id), "project": rel("projects", cafe_project)},
        ),
        headers=headers,
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["source"]["pointer"] == "/data/relationships/project"
