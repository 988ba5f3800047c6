#!/usr/bin/env python3
"""Print the signed tokens used by sql/24_identity_tokens.sql as psql \\set lines.

HS256 and Ed25519 signatures are deterministic, so running this again prints the same tokens.
Needs the `cryptography` package for Ed25519. Keys here are test keys, never used elsewhere.
"""
import base64
import hashlib
import hmac
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.hashes import SHA256

HS_SECRET = b"regress-secret-0123456789-abcdefghij"
ED_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
ED_PUBLIC_PEM = ED_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
).decode()
RSA_KEY = serialization.load_pem_private_key(b"""-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQC5iKaGZnByD8Yo
/c6dAbshsmfzSUL1rCO52sASJ0DKqQ3rnein7OL3Wk4njkMYXi02S+rSCWU/sQ4f
zBi58mgNHBZ0UtaQ2nwioL/RJK2aylFWB32i30Xl/tm0d8GA8bEsQExyT3BbMZpH
ZrOqfGDfxZbShWoaGNfdmUN8xSCQJ9WelWn3tfr3YlxDEDLDn+em1za+a4RUHW70
JIneHZ7FugPa0dYGKD/KOeQlmqZti7dXdNJBy9VxtGNwT9I6F8svsAWmlBa9q0sk
xG1/1QEvBJMqDeZli8n3xfUv7XszjzGYcQysTmBmTAxv/5MO3hN0hoi6Wpppu5oP
nc6H/WXvAgMBAAECggEABTFGs9PnHrzD8ilpoGmdfUvFxAB6EBpxZNtd7Rl4eJOI
UQlPgG+iny3sVQgSvE+vxT6/riwsJL8FowHZHqR4TAb2tpULmJc8yn1O5la38xvp
cIEaKjZEebOLD+rFbss/hvpaXrKhdYlAWkeMt19EGM8qBu9L8Q9ememXAsVuQV/d
GQCWfHXMHWwKmrlKh17AsQ6q15NJDZz/MuOnPvqoJzTvZ8HVgZ47kGLZ7y7dhloG
L4wuyTqrC2Oay0Ye+MiIx82dgTuSYA2XRKpCzsQv0C/928C4vY6QHZlhxywv6X5P
OMYese35187zm0b2KOBPqwZy9wn32U/nDScXO2Wq+QKBgQDxk53laseMaP/toAYe
6evo8DD4+/o63LnoBusbcdR055AwAdnVyepiGfoo1h9DJPVencZgZJoVS9LQogQU
FXK/9Z5CdPKE1QylfkbzH4rK/TinJ5QDjugLS5TOPPK5wvXunBdpHgQCi6ADKvKI
th/0E4kziRfp1LCL3DslYXJ9hwKBgQDEnHIcZi7/Qz/KiCmzu2Bh1jZpLetNY3gp
3uRpnM0Kn13TeMUFIIa+gCeWXYl6m8QTI2E24i3H9MEBD+gxZa9RGxNTF21gvQIG
UL3lDXRCMSwmqnzLd7YBOe27eGqEuUMRkLcKb/qzxKXuHTd0xTfY5OSVTfmvfwxy
bfx2grKuWQKBgHNYhH/SKE2GpQyU59dC4f1rEjcQOT55vdpn00Jba5IWLuZ9O8G0
k1EcDjIJawvoTbBLrTjBUEDy30n20fO0+gFmCZa5uEJsZ4ltbfsQCHk7xx0o7Kd2
SJ18DSUcPNktmbfAl/z88/UzLcfVbdCRBVjJKy2MO/rOLy3YjfUfPkdpAoGAWrVD
AE80h5hjKfHAK6fbQ8gsukHxOXcWzVqETyWEg84a36HsY/0prWI64WiuMN8Eiz/b
bhLTxFjrYq4QFhov1F+FfuRkFimdcYR21+JpLNC66evmP4kvc0lioQdhPXKrusLl
b+9R3vZvB3h7SWhj57FStH+RHqKi/3g27gZGoaECgYAKXCTDFDKP6OauV08CBbIj
YVlNkMsrszpJK80IULdn/eaHrHlCaRG4WE+x7m0z/YIJl5x/jNP31s0corevWAAK
WbOzJWrAl5QwzZdAmVDfRKp24zHWJJGyx/7rQ9qkI10j3evcUFICdO211PK78CDF
NJBru3+dta1At1iJFbIjPg==
-----END PRIVATE KEY-----""", password=None)
RSA_PUBLIC_PEM = RSA_KEY.public_key().public_bytes(
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


def rs256(header, claims):
    signing_input = f"{part(header)}.{part(claims)}"
    return f"{signing_input}.{b64(RSA_KEY.sign(signing_input.encode(), padding.PKCS1v15(), SHA256()))}"


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
    "rs_carol": rs256({"alg": "RS256", "kid": "rs"}, {"sub": "carol", "exp": FAR}),
    "rs_as_hs": hs256({"alg": "HS256", "kid": "rs"}, {"sub": "root", "exp": FAR}, secret=RSA_PUBLIC_PEM.encode()),
    "wrong_iss": eddsa(ED, {"sub": "ben", "exp": FAR, "iss": "https://evil.example", "aud": AUD}),
    "wrong_aud": eddsa(ED, {"sub": "ben", "exp": FAR, "iss": ISS, "aud": "billing"}),
}

print(f"\\set hs_secret '{HS_SECRET.decode()}'")
print("\\set ed_public '" + ED_PUBLIC_PEM.strip().replace("\n", "\\n") + "'")
print("\\set rs_public '" + RSA_PUBLIC_PEM.strip().replace("\n", "\\n") + "'")
for name, token in tokens.items():
    print(f"\\set {name} '{token}'")
