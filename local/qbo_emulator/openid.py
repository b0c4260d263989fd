"""OpenID Connect bits of Intuit's OAuth: a signing key, the JWKS document, id_tokens, userinfo."""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class OpenIdSigner:
    """Lazily creates one RSA key per emulator (key generation costs a few tens of milliseconds)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: rsa.RSAPrivateKey | None = None
        self.kid = "emu-" + secrets.token_hex(6)
        self._subjects: dict[tuple[str, str], str] = {}

    def _private_key(self) -> rsa.RSAPrivateKey:
        with self._lock:
            if self._key is None:
                self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._key

    def jwks(self) -> dict[str, Any]:
        public = self._private_key().public_key()
        jwk = json.loads(RSAAlgorithm.to_jwk(public))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def subject(self, realm_id: str, client_id: str) -> str:
        with self._lock:
            return self._subjects.setdefault((realm_id, client_id), str(uuid.uuid5(uuid.NAMESPACE_URL, realm_id)))

    def id_token(self, *, issuer: str, client_id: str, realm_id: str, now: datetime) -> str:
        claims = {
            "iss": issuer,
            "aud": [client_id],
            "sub": self.subject(realm_id, client_id),
            "realmid": realm_id,
            "auth_time": int(now.timestamp()),
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(hours=1)).timestamp()),
        }
        return jwt.encode(claims, self._private_key(), algorithm="RS256", headers={"kid": self.kid})


def user_info(subject: str, scopes: tuple[str, ...], company: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {"sub": subject}
    if "email" in scopes:
        info["email"] = company.get("Email", {}).get("Address", "owner@example.com")
        info["emailVerified"] = True
    if "profile" in scopes:
        info["givenName"] = "Sandbox"
        info["familyName"] = "Owner"
    if "phone" in scopes:
        info["phoneNumber"] = company.get("PrimaryPhone", {}).get("FreeFormNumber", "")
        info["phoneNumberVerified"] = False
    if "address" in scopes:
        addr = company.get("CompanyAddr", {})
        info["address"] = {
            "streetAddress": addr.get("Line1", ""),
            "locality": addr.get("City", ""),
            "region": addr.get("CountrySubDivisionCode", ""),
            "postalCode": addr.get("PostalCode", ""),
            "country": addr.get("Country", ""),
        }
    return info
