"""Currencies of a company: the home currency, the foreign ones it uses (CompanyCurrency, needs
Preferences.CurrencyPrefs.MultiCurrencyEnabled) and their rates to the home currency (ExchangeRate)."""

from __future__ import annotations

from decimal import Decimal

from local.qbo_emulator.api import ApiContext
from local.qbo_emulator.entities import common
from local.qbo_emulator.store import Realm, Record

# ISO 4217 codes QuickBooks offers, with the names it shows.
CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "GBP": "British Pound Sterling",
    "EUR": "Euro",
    "CAD": "Canadian Dollar",
    "AUD": "Australian Dollar",
    "NZD": "New Zealand Dollar",
    "JPY": "Japanese Yen",
    "CHF": "Swiss Franc",
    "INR": "Indian Rupee",
    "MXN": "Mexican Peso",
    "SEK": "Swedish Krona",
    "DKK": "Danish Krone",
    "NOK": "Norwegian Krone",
    "ZAR": "South African Rand",
    "SGD": "Singapore Dollar",
    "HKD": "Hong Kong Dollar",
    "CNY": "Chinese Yuan Renminbi",
}


def multicurrency(realm: Realm) -> bool:
    return bool(realm.preferences.get("CurrencyPrefs", {}).get("MultiCurrencyEnabled"))


def currency_ref(realm: Realm, code: str) -> dict[str, str]:
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def available(realm: Realm, code: str) -> bool:
    """The home currency, or (with multicurrency on) an active company currency."""
    if code == realm.home_currency:
        return True
    if not multicurrency(realm):
        return False
    return any(c.get("Code") == code and c.get("Active") is not False for c in realm.all("CompanyCurrency"))


def check_available(realm: Realm, code: str) -> None:
    if not available(realm, code):
        state = "on" if multicurrency(realm) else "off"
        raise common.business_fault(
            f"currency {code} is not available in this company (multicurrency {state}, home currency "
            f"{realm.home_currency})",
            "CurrencyRef",
        )


def exchange_rate(ctx: ApiContext, body: Record, code: str) -> Decimal:
    """1 for the home currency; else the rate sent with the transaction, or the company's current rate."""
    realm = ctx.realm
    if code == realm.home_currency:
        return Decimal("1")
    rate = common.decimal_field(body.get("ExchangeRate"), "ExchangeRate") or realm.exchange_rates.get(code)
    if rate is None:
        raise common.business_fault(f"There is no exchange rate for {code}", "ExchangeRate")
    if rate <= 0:
        raise common.business_fault("ExchangeRate must be positive", "ExchangeRate")
    return rate
