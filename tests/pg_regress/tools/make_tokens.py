#!/usr/bin/env python3
"""Print the signed tokens used by sql/22_identity_tokens.sql as psql \\set lines.

HS256 and Ed25519 signatures are deterministic, so running this again prints the same tokens.
Needs the `cryptography` package for Ed25519. Keys here are test keys, never used elsewhere.
"""
import base64
import hashlib
import hmac
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HS_SECRET = b"regress-secret-0123456789-abcdefghij"
ED_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
ED_PUBLIC_PEM = ED_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
).decode()
FAR = 4102444800  # 2100-01-01
ISS, AUD = "https://login.example", "shop"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def part(obj) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def hs256(header, claims, secret=HS_SECRET):
    signing_input = f"{part(header)}.{part(claims)}"
    return f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def eddsa(header, claims):
    signing_input = f"{part(header)}.{part(claims)}"
    return f"{signing_input}.{b64(ED_KEY.sign(signing_input.encode()))}"


HS = {"alg": "HS256", "kid": "hs", "typ": "JWT"}
ED = {"alg": "EdDSA", "kid": "ed", "typ": "JWT"}
ann = hs256(HS, {"sub": "ann", "exp": FAR})
tokens = {
    "hs_ann": ann,
    "hs_numeric": hs256(HS, {"sub": 42, "exp": FAR, "iat": 1700000000}),
    "ed_ben": eddsa(ED, {"sub": "ben", "exp": FAR, "iss": ISS, "aud": [AUD, "other"]}),
    "expired": hs256(HS, {"sub": "ann", "exp": 1000000000}),
    "not_yet": hs256(HS, {"sub": "ann", "exp": FAR, "nbf": 4000000000}),
    "future_iat": hs256(HS, {"sub": "ann", "exp": FAR, "iat": 4000000000}),
    "no_exp": hs256(HS, {"sub": "ann"}),
    "no_sub": hs256(HS, {"exp": FAR}),
    "nul_sub": hs256(HS, {"sub": "99\u0000junk", "exp": FAR}),
    "tampered": ".".join([ann.split(".")[0], part({"sub": "root", "exp": FAR}), ann.split(".")[2]]),
    "unknown_kid": hs256({"alg": "HS256", "kid": "nope"}, {"sub": "ann", "exp": FAR}),
    "no_kid": hs256({"alg": "HS256"}, {"sub": "ann", "exp": FAR}),
    "alg_none": f"{part({'alg': 'none', 'kid': 'hs'})}.{part({'sub': 'root', 'exp': FAR})}.",
    # The classic confusion: an HMAC keyed with the Ed25519 public key's PEM text.
    "alg_confusion": hs256({"alg": "HS256", "kid": "ed"}, {"sub": "root", "exp": FAR, "iss": ISS, "aud": AUD},
                           secret=ED_PUBLIC_PEM.encode()),
    "wrong_iss": eddsa(ED, {"sub": "ben", "exp": FAR, "iss": "https://evil.example", "aud": AUD}),
    "wrong_aud": eddsa(ED, {"sub": "ben", "exp": FAR, "iss": ISS, "aud": "billing"}),
}

print(f"\\set hs_secret '{HS_SECRET.decode()}'")
print("\\set ed_public '" + ED_PUBLIC_PEM.strip().replace("\n", "\\n") + "'")
for name, token in tokens.items():
    print(f"\\set {name} '{token}'")
