//! pg_authz: Django-admin-grade authorization inside PostgreSQL.
//!
//! This file only wires the modules together; each concern lives in its own module.

use pgrx::prelude::*;

mod actions;
mod audit;
mod cache;
mod catalog;
mod checks;
mod django;
mod error;
mod guard;
mod identity;
mod jsonb;
mod policy;
mod privilege;
mod relation;

pgrx::pg_module_magic!();

extension_sql_file!("../sql/bootstrap.sql", name = "bootstrap", bootstrap);
extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);

/// Register the `authz.user_id` setting and the cache invalidation callbacks, once per backend;
/// in the postmaster, when preloaded, the audit queue's shared memory.
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    identity::init();
    cache::init();
    audit::init();
}

#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
