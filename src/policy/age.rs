//! Age rule (time-based edit lock): rows older than `days` by their timestamp column change and
//! delete for nobody but superusers. RESTRICTIVE, on UPDATE and DELETE. The timestamp itself is
//! fixed once written (only superusers change it), or moving it forward would reopen the row,
//! and no write may set it into the future (beyond a few minutes of clock skew) or to infinity,
//! which would keep the row open for ever.
//!
//! Times are compared in UTC (`timestamp` and `date` columns are read as UTC), so the session's
//! TimeZone, which any client sets, cannot move the deadline, and by `statement_timestamp()`,
//! so a transaction opened before the deadline does not keep the row open after it. A
//! `timestamp` or `date` column's own default (`now()`, `current_date`) is local time, up to 14
//! hours ahead of UTC (Pacific/Kiritimati): "not in the future" allows that much, so such rows
//! may stay open up to 14 hours longer than `days`.

use serde::Deserialize;

use super::sql::SUPERUSER;
use super::strict::{Needs, StrictTrigger};
use super::table::Table;
use super::{Bypass, Command, Restriction, Rule};
use crate::error::{self, AuthzError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxAge {
    /// A timestamptz, timestamp or date column (e.g. created_at).
    column: String,
    /// Rows older than this many days are locked (at most [`MAX_DAYS`]).
    days: u32,
    /// Whether the column is fixed once written (default true), so that moving a date forward
    /// cannot reopen a row. False for a column the application moves itself (Django's
    /// `auto_now`), which makes the rule "no edits after `days` without one".
    #[serde(default = "yes")]
    lock_column: bool,
    /// The spec's `strict`: a row trigger raises for old rows instead of policies skipping them.
    #[serde(skip)]
    pub strict: bool,
}

fn yes() -> bool {
    true
}

/// The largest `days`: about 2 700 years, so that the deadline stays a valid timestamp.
const MAX_DAYS: u32 = 1_000_000;

impl Rule for MaxAge {
    fn restrictions(&self, table: &Table) -> error::Result<Vec<Restriction>> {
        check_days(self.days, "max_age.days")?;
        let (column, column_type) = dated_column(table, &self.column, "max_age.column")?;
        let (fresh, not_future) = bounds(&column, column_type, self.days);
        let mut restrictions = Restriction::on_existing_rows("age", fresh);
        for restriction in &mut restrictions {
            if restriction.check.is_some() {
                restriction.check = Some(not_future.clone());
            }
            if self.strict {
                // The old row is the strict trigger's to refuse; the new one stays checked.
                restriction.using = None;
            }
        }
        restrictions.retain(|r| r.using.is_some() || r.check.is_some());
        restrictions.push(Restriction {
            name: "age_insert".into(),
            command: Some(Command::Insert),
            using: None,
            check: Some(not_future),
            bypass: Bypass::Plain,
        });
        Ok(restrictions)
    }
    /// The trigger keeping the column fixed (`Table::generated_triggers` knows its name), and in
    /// strict mode `authz_condition_max_age`, refusing (42501) an UPDATE or DELETE of an old row
    /// to all but superusers.
    fn statements(&self, table: &Table) -> error::Result<Vec<String>> {
        let (column, _) = dated_column(table, &self.column, "max_age.column")?;
        let mut out = Vec::new();
        if self.lock_column {
            let attnum = table.attnum(&self.column, "max_age.column")?;
            out.push(format!(
                "CREATE TRIGGER authz_age_lock BEFORE UPDATE OF {column} ON {} FOR EACH ROW EXECUTE FUNCTION authz.guard_readonly_columns('[]', '{attnum}')",
                table.name
            ));
        }
        for trigger in self.strict_triggers(table)? {
            out.push(trigger.statement(table)?);
        }
        Ok(out)
    }
}

impl MaxAge {
    /// The strict trigger refusing changes of old rows to all but superusers (none unless
    /// strict).
    pub fn strict_triggers(&self, table: &Table) -> error::Result<Vec<StrictTrigger>> {
        if !self.strict {
            return Ok(Vec::new());
        }
        let (column, column_type) = dated_column(table, &self.column, "max_age.column")?;
        let (old_fresh, _) = bounds(&format!("old.{column}"), column_type, self.days);
        let (fresh, _) = bounds(&column, column_type, self.days);
        Ok(vec![StrictTrigger {
            name: StrictTrigger::named("max_age"),
            commands: vec![Command::Update, Command::Delete],
            columns: Vec::new(),
            old_row_matches: format!("({old_fresh}) IS NOT TRUE"),
            rule: "max_age".into(),
            condition: format!("({fresh}) IS NOT TRUE"),
            requires: vec![SUPERUSER.to_owned()],
            needs: Needs::All,
            field: "max_age".into(),
        }])
    }
}

/// 22023 naming `field` when `days` is above [`MAX_DAYS`].
pub(super) fn check_days(days: u32, field: &str) -> error::Result<()> {
    if days > MAX_DAYS {
        return Err(AuthzError::InvalidArgument(format!(
            "{field}: {days} is out of range (0 to {MAX_DAYS})"
        )));
    }
    Ok(())
}

/// The quoted column and its type, for a timestamptz, timestamp or date column; 22023 naming
/// `field` for another type (42703 for a missing column).
pub(super) fn dated_column<'t>(
    table: &'t Table,
    name: &str,
    field: &str,
) -> error::Result<(String, &'t str)> {
    let (column, column_type) = table.column(name, field)?;
    if !matches!(
        column_type,
        "timestamp with time zone" | "timestamp without time zone" | "date"
    ) {
        return Err(AuthzError::InvalidArgument(format!(
            "{field}: column \"{name}\" is {column_type}, not a timestamp or date"
        )));
    }
    Ok((column, column_type))
}

/// How far ahead of the statement's time a written value may be: clock skew between the
/// application's servers and the database's.
const LEEWAY: &str = "interval '5 minutes'";

/// How far ahead of UTC local time can be (UTC+14, Pacific/Kiritimati): a `timestamp` or `date`
/// column's default, `now()` or `current_date`, is the session's local time.
const LARGEST_ZONE_OFFSET: &str = "interval '14 hours'";

/// For `column` of `column_type`: the predicate "younger than `days`" and the predicate "not in
/// the future" (both false for NULL and infinity), in UTC whatever the session's TimeZone.
pub(super) fn bounds(column: &str, column_type: &str, days: u32) -> (String, String) {
    // A day is 86 400 seconds: for timestamptz, interval arithmetic in days would follow the
    // session's TimeZone across daylight saving changes.
    let (now, age, ahead) = match column_type {
        "timestamp with time zone" => (
            "statement_timestamp()".to_owned(),
            format!("make_interval(secs => {})", u64::from(days) * 86_400),
            LEEWAY.to_owned(),
        ),
        // timestamp and date (compared as midnight, UTC): UTC wall-clock time; a value written
        // in local time (the column's default) may be ahead of it by a zone offset.
        _ => (
            "(statement_timestamp() AT TIME ZONE 'UTC')".to_owned(),
            format!("make_interval(days => {days})"),
            format!("{LARGEST_ZONE_OFFSET} + {LEEWAY}"),
        ),
    };
    (
        format!("{column} > {now} - {age}"),
        format!("{column} <= {now} + {ahead}"),
    )
}
