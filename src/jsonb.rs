//! `jsonb` arguments and results passed through as PostgreSQL's own text form.
//!
//! `pgrx::JsonB` parses every value with serde_json on the way in and prints it on the way out:
//! nesting past serde's 128 levels and numbers beyond f64 fail with XX000, and high-precision
//! numbers come out rounded. [`JsonbText`] keeps `jsonb_out`'s text instead, which `jsonb_in`
//! reads back unchanged, so params, handler results and audit entries carry exactly what was
//! sent. Where pg_authz must read a document itself (declarations, specs), [`JsonbText::parse`]
//! refuses what serde cannot represent with 22023 naming the argument.

use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::pg_sys;
use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin,
};
use pgrx::{FromDatum, IntoDatum};
use serde_json::Value;

use crate::error::{AuthzError, Result};

/// A `jsonb` value as the text `jsonb_out` gives (always valid JSON; numbers as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonbText(pub String);

impl JsonbText {
    /// The empty object `{}`.
    pub fn empty_object() -> Self {
        JsonbText("{}".into())
    }

    /// Read the document with serde; what it cannot represent (nesting beyond 128 levels,
    /// numbers beyond f64) is refused with 22023 naming `what`.
    pub fn parse(&self, what: &str) -> Result<Value> {
        serde_json::from_str(&self.0)
            .map_err(|e| AuthzError::InvalidArgument(format!("{what} cannot be read: {e}")))
    }

    /// A document pg_authz built itself. jsonb cannot hold U+0000, so a NUL in any string
    /// (a JWT subject, say) is written as U+FFFD rather than making the value unwritable.
    pub fn from_value(value: &Value) -> Self {
        let mut value = value.clone();
        scrub_nul(&mut value);
        JsonbText(value.to_string())
    }
}

/// Replace U+0000 in every string and key of `value` by U+FFFD.
pub fn scrub_nul(value: &mut Value) {
    let clean = |s: &str| s.replace('\0', "\u{FFFD}");
    match value {
        Value::String(s) if s.contains('\0') => *s = clean(s),
        Value::Array(items) => items.iter_mut().for_each(scrub_nul),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut item) in entries {
                scrub_nul(&mut item);
                map.insert(clean(&key), item);
            }
        }
        _ => {}
    }
}

impl FromDatum for JsonbText {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null {
            return None;
        }
        let text = pg_sys::OidOutputFunctionCall(pg_sys::Oid::from(pg_sys::F_JSONB_OUT), datum);
        let owned = std::ffi::CStr::from_ptr(text)
            .to_string_lossy()
            .into_owned();
        pg_sys::pfree(text.cast());
        Some(JsonbText(owned))
    }
}

impl IntoDatum for JsonbText {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        // jsonb_out's text has no NUL (jsonb refuses \u0000), so this cannot fail.
        let text = std::ffi::CString::new(self.0).ok()?;
        Some(unsafe {
            pg_sys::OidInputFunctionCall(
                pg_sys::Oid::from(pg_sys::F_JSONB_IN),
                text.as_ptr().cast_mut(),
                pg_sys::InvalidOid,
                -1,
            )
        })
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::JSONBOID
    }
}

unsafe impl<'fcx> ArgAbi<'fcx> for JsonbText {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        unsafe {
            arg.unbox_arg_using_from_datum()
                .unwrap_or_else(|| panic!("argument {index} must not be null"))
        }
    }

    unsafe fn unbox_nullable_arg(arg: Arg<'_, 'fcx>) -> pgrx::nullable::Nullable<Self> {
        unsafe { arg.unbox_arg_using_from_datum().into() }
    }
}

unsafe impl BoxRet for JsonbText {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        match self.into_datum() {
            Some(datum) => unsafe { fcinfo.return_raw_datum(datum) },
            None => fcinfo.return_null(),
        }
    }
}

unsafe impl SqlTranslatable for JsonbText {
    const TYPE_IDENT: &'static str = pgrx::pgrx_resolved_type!(JsonbText);
    const TYPE_ORIGIN: TypeOrigin = TypeOrigin::External;
    const ARGUMENT_SQL: std::result::Result<SqlMappingRef, ArgumentError> =
        Ok(SqlMappingRef::literal("jsonb"));
    const RETURN_SQL: std::result::Result<ReturnsRef, ReturnsError> =
        Ok(ReturnsRef::One(SqlMappingRef::literal("jsonb")));
}
