//! Signed tokens: `authz.set_user_token` verifies a compact JWT against `authz.jwt_keys` and acts
//! as its subject.
//!
//! Crates: RustCrypto's `hmac` + `sha2` (HS256, constant-time comparison), `ed25519-dalek`
//! (EdDSA, strict verification, PEM/SPKI keys) and `rsa` (RS256, PKCS#1 v1.5 verification with a
//! public key only, so the crate's private-key timing advisory does not apply), `base64` for
//! base64url. The JOSE layer is ours and small on purpose: the key is chosen by `kid` and fixes
//! the algorithm, so `none` and algorithm confusion cannot arise.
//!
//! The verified subject is kept in `authz.verified_user_id` together with the token's `exp`, its
//! `kid` and a fingerprint of the key that verified it (see [`Verified`]); it stops counting once
//! the statement starts after `exp` (with the same leeway), or once that key is no longer in
//! `authz.jwt_keys` (checked when the catalog generation moves). The setting is a superuser-context setting whose
//! check hook refuses every non-empty value not set by this module (nor copied into a parallel
//! worker from its leader): no SET, set_config, ALTER ROLE SET, connection option, function SET
//! clause or early placeholder can forge it, superusers' included. Being a setting, it is
//! transaction-local (or session-wide) with savepoint rollback, and parallel workers see it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::rc::Rc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::DecodePublicKey;
use ed25519_dalek::{Signature, VerifyingKey};
use hmac::{Hmac, Mac};
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::prelude::*;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use rsa::RsaPublicKey;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{roles, set_setting, setting_text, subject_of};
use crate::cache::catalog_generation;
use crate::error::{required_arg, AuthzError, OrRaise, Result};
use crate::privilege::as_extension_owner;

static VERIFIED: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
const VERIFIED_GUC: &CStr = c"authz.verified_user_id";

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
const LEEWAY_SECONDS: f64 = 30.0;

thread_local! {
    /// True only while this module sets `authz.verified_user_id`.
    static SETTING_FROM_HERE: Cell<bool> = const { Cell::new(false) };
    /// Parsed keys and the catalog generation they were read under.
    static KEYS: RefCell<Option<(u64, Rc<HashMap<String, Rc<JwtKey>>>)>> = const { RefCell::new(None) };
    /// The last token verified: (local transaction id, catalog generation, token, what it says).
    static VERIFIED_MEMO: RefCell<Option<(u32, u64, String, Rc<Verified>)>> = const { RefCell::new(None) };
    /// The last `authz.verified_user_id` value whose key was found still registered, and the
    /// catalog generation it was checked under.
    static KEY_CONFIRMED: RefCell<Option<(u64, String)>> = const { RefCell::new(None) };
}

/// Register `authz.verified_user_id`; called from `identity::init`.
pub fn init() {
    unsafe {
        GucRegistry::define_string_guc_with_hooks(
            VERIFIED_GUC,
            c"The subject of the signed token this session presented (set by authz.set_user_token only).",
            c"Cannot be set by SET, set_config, ALTER ROLE or connection options.",
            &VERIFIED,
            GucContext::Suset,
            GucFlags::NO_SHOW_ALL | GucFlags::DISALLOW_IN_FILE | GucFlags::DISALLOW_IN_AUTO_FILE,
            Some(check_verified),
            None,
            None,
        );
    }
}

/// Empty (nobody) is always accepted; anything else only from `set_user_token`, or when a
/// parallel worker copies its leader's settings.
#[pg_guard]
unsafe extern "C-unwind" fn check_verified(
    newval: *mut *mut std::ffi::c_char,
    _extra: *mut *mut std::ffi::c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    let value = unsafe { *newval };
    if value.is_null() || unsafe { *value } == 0 {
        return true;
    }
    if SETTING_FROM_HERE.with(Cell::get) || unsafe { pg_sys::InitializingParallelWorker } {
        return true;
    }
    unsafe {
        pg_sys::GUC_check_errdetail_string = pg_sys::pstrdup(
            c"Only authz.set_user_token sets authz.verified_user_id, after verifying a token."
                .as_ptr(),
        );
    }
    false
}

/// What a verified token says, as kept in `authz.verified_user_id`:
/// `exp:fingerprint:kid length:kid` followed by the subject.
#[derive(Debug, PartialEq)]
struct Verified {
    sub: String,
    exp: f64,
    kid: String,
    fingerprint: u64,
}

impl Verified {
    fn encode(&self) -> String {
        let (exp, fp, kid, sub) = (self.exp, self.fingerprint, &self.kid, &self.sub);
        format!("{exp}:{fp:016x}:{}:{kid}{sub}", kid.len())
    }
}

/// The parts of an `authz.verified_user_id` value: (exp, fingerprint, kid, subject).
fn decode(value: &str) -> Option<(f64, u64, &str, &str)> {
    let (exp, rest) = value.split_once(':')?;
    let (fingerprint, rest) = rest.split_once(':')?;
    let (kid_len, rest) = rest.split_once(':')?;
    let kid_len: usize = kid_len.parse().ok()?;
    let (kid, sub) = (rest.get(..kid_len)?, rest.get(kid_len..)?);
    let fingerprint = u64::from_str_radix(fingerprint, 16).ok()?;
    (!sub.is_empty()).then_some((exp.parse().ok()?, fingerprint, kid, sub))
}

/// The subject of the token verified for this transaction (or session), if it still counts: the
/// statement started no later than its `exp` (plus leeway) and its key is still registered.
/// Cheap per call: a timestamp comparison, and a key lookup only when the catalogs changed.
pub fn verified_user_id<'a>() -> Option<&'a str> {
    // SAFETY: see setting_text; callers use the value synchronously.
    let value: &'a str = unsafe { setting_text(*VERIFIED.as_ptr()) }?;
    let (exp, fingerprint, kid, sub) = decode(value)?;
    if unix_time(unsafe { pg_sys::GetCurrentStatementStartTimestamp() }) > exp + LEEWAY_SECONDS {
        return None;
    }
    // A parallel worker cannot read the keys (SPI there can fail with "cannot assign XIDs
    // during a parallel operation"): it trusts its leader, which checks at its own reads.
    if unsafe { pg_sys::ParallelWorkerNumber } >= 0 {
        return Some(sub);
    }
    let generation = catalog_generation();
    let confirmed = KEY_CONFIRMED
        .with(|c| matches!(&*c.borrow(), Some((g, v)) if *g == generation && v == value));
    if !confirmed {
        let keys = keys(generation).or_raise();
        if keys.get(kid).map(|k| k.fingerprint) != Some(fingerprint) {
            return None;
        }
        KEY_CONFIRMED.with(|c| *c.borrow_mut() = Some((generation, value.to_owned())));
    }
    Some(sub)
}

/// Forget a verified token (as `SET [LOCAL] authz.verified_user_id = ''`).
pub fn clear_verified(is_local: bool) {
    // SAFETY: see setting_text.
    if unsafe { setting_text(*VERIFIED.as_ptr()) }.is_some() {
        set_setting(VERIFIED_GUC, c"", pg_sys::GucContext::PGC_SUSET, is_local);
    }
}

/// Resets `SETTING_FROM_HERE` even when setting the value raises an error.
struct SettingFromHere;
impl SettingFromHere {
    fn begin() -> Self {
        SETTING_FROM_HERE.with(|s| s.set(true));
        SettingFromHere
    }
}
impl Drop for SettingFromHere {
    fn drop(&mut self) {
        SETTING_FROM_HERE.with(|s| s.set(false));
    }
}

/// Verify a compact JWT (HS256, EdDSA or RS256, key chosen by its `kid` in `authz.jwt_keys`) and
/// act as its `sub` for the rest of the transaction (or the session, when `is_local` is false);
/// returns the user id. Any role may call it, except a bound one (42501). A token that is malformed,
/// tampered with, expired, not yet valid, for an unknown key, issuer or audience gives 28000.
#[pg_extern(volatile, parallel_unsafe)]
fn set_user_token(token: Option<&str>, is_local: default!(Option<bool>, true)) -> String {
    let token = required_arg(token, "token");
    let is_local = is_local.unwrap_or(true);
    roles::refuse_bound("authz.set_user_token");
    let verified = verify_once_per_transaction(token).or_raise();
    let value = CString::new(verified.encode()).unwrap_or_else(|_| {
        AuthzError::InvalidArgument("token subject must not contain a NUL byte".into()).raise()
    });
    let _guard = SettingFromHere::begin();
    set_setting(
        VERIFIED_GUC,
        &value,
        pg_sys::GucContext::PGC_SUSET,
        is_local,
    );
    verified.sub.clone()
}

/// Whether `key` is usable for `alg` (used by the CHECK constraint of `authz.jwt_keys`); raises
/// 22023 saying why not.
#[pg_extern(immutable, parallel_safe)]
fn jwt_key_is_usable(alg: Option<&str>, key: Option<&str>) -> bool {
    let (alg, key) = (required_arg(alg, "alg"), required_arg(key, "key"));
    match parse_key(alg, key) {
        Ok(_) => true,
        Err(why) => AuthzError::InvalidArgument(why).raise(),
    }
}

/// The same token presented twice in one transaction is verified once.
fn verify_once_per_transaction(token: &str) -> Result<Rc<Verified>> {
    // SAFETY: every backend that runs SQL has its PGPROC.
    let lxid = unsafe { crate::compat::local_transaction_id() };
    let generation = catalog_generation();
    let hit = VERIFIED_MEMO.with(|m| match &*m.borrow() {
        Some((x, g, t, user)) if *x == lxid && *g == generation && t == token => Some(user.clone()),
        _ => None,
    });
    if let Some(user) = hit {
        return Ok(user);
    }
    let keys = keys(generation)?;
    let now = unix_time(unsafe { pg_sys::GetCurrentTimestamp() });
    let user = Rc::new(verify(token, |kid| keys.get(kid).cloned(), now)?);
    VERIFIED_MEMO.with(|m| {
        *m.borrow_mut() = Some((lxid, generation, token.to_owned(), user.clone()));
    });
    Ok(user)
}

/// A `TimestampTz` (microseconds since 2000-01-01) as seconds since the Unix epoch.
fn unix_time(micros: pg_sys::TimestampTz) -> f64 {
    micros as f64 / 1e6 + 946_684_800.0
}

/// A verification key from `authz.jwt_keys`.
struct JwtKey {
    material: KeyMaterial,
    /// Identifies `alg` and `key`, so that a token verified earlier is honoured only while the
    /// same key is registered under its `kid`.
    fingerprint: u64,
    issuer: Option<String>,
    audience: Option<String>,
}

enum KeyMaterial {
    Hs256(Vec<u8>),
    EdDsa(VerifyingKey),
    Rs256(rsa::pkcs1v15::VerifyingKey<Sha256>),
}

/// The smallest RSA modulus accepted, in bits (NIST SP 800-131A).
const MIN_RSA_BITS: usize = 2048;

impl KeyMaterial {
    fn alg(&self) -> &'static str {
        match self {
            KeyMaterial::Hs256(_) => "HS256",
            KeyMaterial::EdDsa(_) => "EdDSA",
            KeyMaterial::Rs256(_) => "RS256",
        }
    }

    fn verifies(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        match self {
            KeyMaterial::Hs256(secret) => {
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
                    return false;
                };
                mac.update(signing_input);
                mac.verify_slice(signature).is_ok()
            }
            KeyMaterial::EdDsa(key) => Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify_strict(signing_input, &sig).is_ok()),
            KeyMaterial::Rs256(key) => rsa::pkcs1v15::Signature::try_from(signature)
                .is_ok_and(|sig| key.verify(signing_input, &sig).is_ok()),
        }
    }
}

/// Parse a key as stored: an HS256 secret (its UTF-8 bytes, at least 32 of them), an Ed25519
/// public key in PEM, or an RSA public key of at least 2048 bits in PEM (SPKI or PKCS#1).
fn parse_key(alg: &str, key: &str) -> std::result::Result<KeyMaterial, String> {
    match alg {
        "HS256" if key.len() >= 32 => Ok(KeyMaterial::Hs256(key.as_bytes().to_vec())),
        "HS256" => Err(format!(
            "an HS256 secret needs at least 32 bytes (RFC 7518), this one has {}",
            key.len()
        )),
        "EdDSA" => VerifyingKey::from_public_key_pem(key.trim())
            .map(KeyMaterial::EdDsa)
            .map_err(|_| {
                "an EdDSA key must be an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----)"
                    .into()
            }),
        "RS256" => {
            let pem = key.trim();
            let public = RsaPublicKey::from_public_key_pem(pem)
                .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
                .map_err(|_| {
                    "an RS256 key must be an RSA public key in PEM (-----BEGIN PUBLIC KEY----- or -----BEGIN RSA PUBLIC KEY-----)"
                        .to_string()
                })?;
            let bits = public.size() * 8;
            if bits < MIN_RSA_BITS {
                return Err(format!(
                    "an RS256 key needs at least {MIN_RSA_BITS} bits, this one has {bits}"
                ));
            }
            Ok(KeyMaterial::Rs256(rsa::pkcs1v15::VerifyingKey::new(public)))
        }
        other => Err(format!(
            "unsupported JWT algorithm \"{other}\": use HS256, EdDSA or RS256"
        )),
    }
}

/// The keys of `authz.jwt_keys`, read as the extension owner (no ordinary role may read them)
/// and kept until the catalogs change.
fn keys(generation: u64) -> Result<Rc<HashMap<String, Rc<JwtKey>>>> {
    let cached = KEYS.with(|k| match &*k.borrow() {
        Some((g, keys)) if *g == generation => Some(keys.clone()),
        _ => None,
    });
    if let Some(keys) = cached {
        return Ok(keys);
    }
    let keys = Rc::new(load_keys()?);
    KEYS.with(|k| *k.borrow_mut() = Some((generation, keys.clone())));
    Ok(keys)
}

fn load_keys() -> Result<HashMap<String, Rc<JwtKey>>> {
    as_extension_owner(|| {
        Spi::connect(|client| {
            let rows = client.select(
                "SELECT kid, alg, key, issuer, audience FROM authz.jwt_keys",
                None,
                &[],
            )?;
            let mut keys = HashMap::new();
            for row in rows {
                let (Some(kid), Some(alg), Some(key)) = (
                    row.get::<String>(1)?,
                    row.get::<String>(2)?,
                    row.get::<String>(3)?,
                ) else {
                    continue;
                };
                // The table's CHECK constraint only admits usable keys.
                let Ok(material) = parse_key(&alg, &key) else {
                    continue;
                };
                let key = JwtKey {
                    material,
                    fingerprint: fingerprint(&alg, &key),
                    issuer: row.get::<String>(4)?,
                    audience: row.get::<String>(5)?,
                };
                keys.insert(kid, Rc::new(key));
            }
            Ok(keys)
        })
    })
}

/// The first 64 bits of SHA-256 over `alg`, a NUL byte and `key`.
fn fingerprint(alg: &str, key: &str) -> u64 {
    let digest = Sha256::new()
        .chain_update(alg)
        .chain_update([0])
        .chain_update(key)
        .finalize();
    u64::from_be_bytes(
        digest[..8]
            .try_into()
            .expect("a SHA-256 digest has 32 bytes"),
    )
}

fn decode_json(part: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

/// Check `token` with the key `lookup` finds for its `kid`, at time `now` (Unix seconds); the
/// subject, expiry and key on success.
fn verify(
    token: &str,
    lookup: impl FnOnce(&str) -> Option<Rc<JwtKey>>,
    now: f64,
) -> Result<Verified> {
    let bad = |why: String| AuthzError::BadCredentials(format!("invalid token: {why}"));
    let mut parts = token.split('.');
    let (Some(header_part), Some(payload_part), Some(signature_part), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("not a compact JWT (header.payload.signature)".into()));
    };
    let header = decode_json(header_part)
        .filter(Value::is_object)
        .ok_or_else(|| bad("the header is not base64url-encoded JSON".into()))?;
    if header.get("crit").is_some() {
        return Err(bad(
            "critical header extensions (crit) are not supported".into()
        ));
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("the header names no key (kid)".into()))?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let key = lookup(kid).ok_or_else(|| bad(format!("unknown key \"{}\"", shortened(kid))))?;
    let bad_for = |why: String| bad(format!("{why} (key \"{kid}\")"));
    if alg != key.material.alg() {
        return Err(bad_for(format!(
            "algorithm \"{alg}\" is not the key's {}",
            key.material.alg()
        )));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature_part)
        .map_err(|_| bad_for("the signature is not base64url".into()))?;
    let signing_input = &token.as_bytes()[..header_part.len() + 1 + payload_part.len()];
    if !key.material.verifies(signing_input, &signature) {
        return Err(bad_for("the signature does not match".into()));
    }
    let claims = decode_json(payload_part)
        .filter(Value::is_object)
        .ok_or_else(|| bad_for("the payload is not a JSON object".into()))?;
    let exp = check_times(&claims, now).map_err(bad_for)?;
    if let Some(issuer) = &key.issuer {
        if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(bad_for(format!("the issuer (iss) is not \"{issuer}\"")));
        }
    }
    if let Some(audience) = &key.audience {
        let names_it = match claims.get("aud") {
            Some(Value::String(a)) => a == audience,
            Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        };
        if !names_it {
            return Err(bad_for(format!(
                "the audience (aud) does not include \"{audience}\""
            )));
        }
    }
    let sub = match claims.get("sub") {
        Some(Value::String(s)) if s.contains('\0') => Err(AuthzError::InvalidArgument(
            "token subject must not contain a NUL byte".into(),
        )),
        Some(sub) => subject_of(sub).ok_or_else(|| {
            bad_for("the subject (sub) is not a non-empty string or an integer".into())
        }),
        None => Err(bad_for("the token has no subject (sub)".into())),
    }?;
    Ok(Verified {
        sub,
        exp,
        kid: kid.to_owned(),
        fingerprint: key.fingerprint,
    })
}

/// A key id as echoed in messages: at most 64 characters of it.
fn shortened(kid: &str) -> String {
    match kid.char_indices().nth(64) {
        Some((end, _)) => format!("{}...", &kid[..end]),
        None => kid.to_owned(),
    }
}

/// `exp` is required; `exp`, `nbf` and `iat` are checked with `LEEWAY_SECONDS`. Returns `exp`.
fn check_times(claims: &Value, now: f64) -> std::result::Result<f64, String> {
    let number = |name: &str| -> std::result::Result<Option<f64>, String> {
        match claims.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or(format!("{name} is not a number")),
        }
    };
    let exp = number("exp")?.ok_or("the token has no expiry (exp)")?;
    if now > exp + LEEWAY_SECONDS {
        return Err(format!("expired at {exp} (exp)"));
    }
    if let Some(nbf) = number("nbf")? {
        if now + LEEWAY_SECONDS < nbf {
            return Err(format!("not valid before {nbf} (nbf)"));
        }
    }
    if let Some(iat) = number("iat")? {
        if now + LEEWAY_SECONDS < iat {
            return Err(format!("issued in the future, at {iat} (iat)"));
        }
    }
    Ok(exp)
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    const SECRET: &str = "a-test-secret-of-at-least-32-bytes!";

    fn hs256(header: &str, claims: &str) -> String {
        let h = URL_SAFE_NO_PAD.encode(header);
        let c = URL_SAFE_NO_PAD.encode(claims);
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(format!("{h}.{c}").as_bytes());
        let s = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{h}.{c}.{s}")
    }

    fn check(token: &str) -> Result<String> {
        check_verified_parts(token).map(|v| v.sub)
    }

    fn check_verified_parts(token: &str) -> Result<Verified> {
        let key = Rc::new(JwtKey {
            material: parse_key("HS256", SECRET).unwrap(),
            fingerprint: fingerprint("HS256", SECRET),
            issuer: Some("https://issuer.example".into()),
            audience: Some("app".into()),
        });
        verify(token, |kid| (kid == "k1").then_some(key), 1_000.0)
    }

    const HEADER: &str = r#"{"alg":"HS256","kid":"k1"}"#;

    #[pg_test]
    fn tokens_are_checked_claim_by_claim() {
        let ok = r#"{"sub":"7","exp":2000,"iss":"https://issuer.example","aud":["x","app"]}"#;
        assert_eq!(check(&hs256(HEADER, ok)).unwrap(), "7");
        let denied = |claims: &str| match check(&hs256(HEADER, claims)) {
            Err(AuthzError::BadCredentials(m)) => m,
            other => panic!("{claims}: {other:?}"),
        };
        assert!(
            denied(r#"{"sub":"7","iss":"https://issuer.example","aud":"app"}"#)
                .contains("no expiry")
        );
        assert!(
            denied(r#"{"sub":"7","exp":900,"iss":"https://issuer.example","aud":"app"}"#)
                .contains("expired")
        );
        // Within the leeway.
        let late = r#"{"sub":"7","exp":990,"iss":"https://issuer.example","aud":"app"}"#;
        assert!(check(&hs256(HEADER, late)).is_ok());
        assert!(denied(
            r#"{"sub":"7","exp":2000,"nbf":1100,"iss":"https://issuer.example","aud":"app"}"#
        )
        .contains("nbf"));
        assert!(denied(
            r#"{"sub":"7","exp":2000,"iat":1100,"iss":"https://issuer.example","aud":"app"}"#
        )
        .contains("iat"));
        assert!(denied(r#"{"sub":"7","exp":2000,"iss":"other","aud":"app"}"#).contains("issuer"));
        assert!(
            denied(r#"{"sub":"7","exp":2000,"iss":"https://issuer.example","aud":"x"}"#)
                .contains("audience")
        );
        assert!(
            denied(r#"{"exp":2000,"iss":"https://issuer.example","aud":"app"}"#)
                .contains("no subject")
        );
        let nul = r#"{"sub":"99\u0000junk","exp":2000,"iss":"https://issuer.example","aud":"app"}"#;
        assert!(matches!(
            check(&hs256(HEADER, nul)),
            Err(AuthzError::InvalidArgument(_))
        ));
    }

    #[pg_test]
    fn headers_cannot_choose_the_algorithm() {
        let claims = r#"{"sub":"7","exp":2000,"iss":"https://issuer.example","aud":"app"}"#;
        for header in [
            r#"{"alg":"none","kid":"k1"}"#,
            r#"{"alg":"EdDSA","kid":"k1"}"#,
            r#"{"alg":"HS256"}"#,
            r#"{"alg":"HS256","kid":"k2"}"#,
            r#"{"alg":"HS256","kid":"k1","crit":["x"]}"#,
        ] {
            assert!(
                matches!(
                    check(&hs256(header, claims)),
                    Err(AuthzError::BadCredentials(_))
                ),
                "{header}"
            );
        }
        let token = hs256(HEADER, claims);
        let unsigned = format!("{}.", &token[..token.rfind('.').unwrap()]);
        assert!(check(&unsigned).is_err());
        assert!(check("a.b").is_err());
        assert!(check("a.b.c.d").is_err());
    }

    #[pg_test]
    fn verified_values_round_trip() {
        let claims = r#"{"sub":"7:x","exp":2000,"iss":"https://issuer.example","aud":"app"}"#;
        let verified = check_verified_parts(&hs256(HEADER, claims)).unwrap();
        assert_eq!(verified.exp, 2000.0);
        let encoded = verified.encode();
        assert_eq!(
            decode(&encoded),
            Some((2000.0, fingerprint("HS256", SECRET), "k1", "7:x"))
        );
        assert_eq!(decode("root"), None);
        assert_eq!(decode("2000:00:9:k1root"), None);
        assert_eq!(decode("2000:00:2:k1"), None);
        let long = "k".repeat(500);
        assert_eq!(shortened(&long).len(), 67);
        assert_eq!(shortened("k1"), "k1");
    }

    #[pg_test]
    fn keys_are_validated() {
        assert!(parse_key("HS256", "short").is_err());
        assert!(parse_key("none", SECRET).is_err());
        assert!(parse_key("EdDSA", "not pem").is_err());
        let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
        assert!(parse_key("EdDSA", pem).is_ok());
    }
}
