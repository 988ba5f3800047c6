//! One place that turns a failure into `ereport(ERROR)` with the right SQLSTATE.
//!
//! A plain `Err(E: Display)` from a `#[pg_extern]` would surface as SQLSTATE 22000; every
//! refusal in pg_authz has a meaning a client can act on, so each kind here carries its own code.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};

/// A failure a caller can see, with the SQLSTATE it is reported under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthzError {
    /// 22023: an argument is malformed or out of range.
    InvalidArgument(String),
    /// 42501: the current user may not do this.
    Denied(String),
    /// 28000: presented credentials (a signed token) are not acceptable.
    BadCredentials(String),
    /// P0002: a named thing (model, action, user) does not exist.
    NotFound(String),
    /// 42703: a named column does not exist.
    UndefinedColumn(String),
    /// 42P01: a named table does not exist.
    UndefinedTable(String),
    /// 55000: a table was altered after pg_authz set it up (an audited table lost its primary
    /// key, say); the message says how to repair it.
    SchemaChanged(String),
    /// 53000: a resource pg_authz needs is not available now (no background worker slot to write
    /// an audit entry the call depends on, say); retrying later may work.
    Unavailable(String),
    /// XX000: something that should not happen (an SPI failure, a catalog inconsistency).
    Internal(String),
}

impl AuthzError {
    fn code(&self) -> PgSqlErrorCode {
        match self {
            AuthzError::InvalidArgument(_) => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            AuthzError::Denied(_) => PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            AuthzError::BadCredentials(_) => {
                PgSqlErrorCode::ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION
            }
            AuthzError::NotFound(_) => PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
            AuthzError::UndefinedColumn(_) => PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
            AuthzError::UndefinedTable(_) => PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            AuthzError::SchemaChanged(_) => {
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE
            }
            AuthzError::Unavailable(_) => PgSqlErrorCode::ERRCODE_INSUFFICIENT_RESOURCES,
            AuthzError::Internal(_) => PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
        }
    }

    /// The message shown to the client.
    pub fn message(&self) -> &str {
        match self {
            AuthzError::InvalidArgument(m)
            | AuthzError::Denied(m)
            | AuthzError::BadCredentials(m)
            | AuthzError::NotFound(m)
            | AuthzError::UndefinedColumn(m)
            | AuthzError::UndefinedTable(m)
            | AuthzError::SchemaChanged(m)
            | AuthzError::Unavailable(m)
            | AuthzError::Internal(m) => m,
        }
    }

    /// Raise this error: `ereport(ERROR)`, which never returns.
    pub fn raise(self) -> ! {
        let code = self.code();
        let message = self.message().to_owned();
        ErrorReport::new(code, message, "pg_authz").report(PgLogLevel::ERROR);
        unreachable!("ereport(ERROR) returned")
    }
}

impl From<pgrx::spi::SpiError> for AuthzError {
    fn from(e: pgrx::spi::SpiError) -> Self {
        AuthzError::Internal(format!("pg_authz internal query failed: {e}"))
    }
}

/// A mandatory argument: NULL is refused with 22023 naming the argument.
pub fn required_arg<T>(value: Option<T>, name: &str) -> T {
    value.unwrap_or_else(|| AuthzError::InvalidArgument(format!("{name} must not be NULL")).raise())
}

/// Results of pg_authz internals.
pub type Result<T> = std::result::Result<T, AuthzError>;

/// Unwrap a result inside a `#[pg_extern]`, raising the error with its SQLSTATE.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T> {
    fn or_raise(self) -> T {
        self.unwrap_or_else(|e| e.raise())
    }
}

/// An error caught by [`in_subtransaction`]: its SQLSTATE and message.
pub struct Caught {
    pub code: PgSqlErrorCode,
    pub message: String,
}

/// Run `f` in a subtransaction: an error it raises is rolled back and returned with its SQLSTATE
/// and message.
pub fn in_subtransaction<T>(f: impl FnOnce() -> T) -> std::result::Result<T, Caught> {
    let f = std::panic::AssertUnwindSafe(f);
    // SAFETY: the subtransaction is begun and ended (released or rolled back) around `f`, and
    // the memory context and resource owner restored, as PostgreSQL's PLs do.
    unsafe {
        let context = pgrx::pg_sys::CurrentMemoryContext;
        let owner = pgrx::pg_sys::CurrentResourceOwner;
        pgrx::pg_sys::BeginInternalSubTransaction(std::ptr::null());
        pgrx::pg_sys::MemoryContextSwitchTo(context);
        pgrx::PgTryBuilder::new(|| {
            let result = f();
            pgrx::pg_sys::ReleaseCurrentSubTransaction();
            pgrx::pg_sys::MemoryContextSwitchTo(context);
            pgrx::pg_sys::CurrentResourceOwner = owner;
            Ok(result)
        })
        .catch_others(|caught| {
            pgrx::pg_sys::MemoryContextSwitchTo(context);
            pgrx::pg_sys::RollbackAndReleaseCurrentSubTransaction();
            pgrx::pg_sys::CurrentResourceOwner = owner;
            Err(match caught {
                pgrx::pg_sys::panic::CaughtError::PostgresError(e)
                | pgrx::pg_sys::panic::CaughtError::ErrorReport(e) => Caught {
                    code: e.sql_error_code(),
                    message: e.message().to_owned(),
                },
                pgrx::pg_sys::panic::CaughtError::RustPanic { ereport, .. } => Caught {
                    code: PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                    message: ereport.message().to_owned(),
                },
            })
        })
        .execute()
    }
}
