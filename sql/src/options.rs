//! Session settings of Strata statements, set with SQL `SET`.

use datafusion::common::extensions_options;
use datafusion::config::{ConfigExtension, ConfigOptions};

extensions_options! {
    /// Exactly-once writes from SQL: `SET strata.app_id = 'nightly'; SET strata.batch = 42;`
    /// makes the next `INSERT`, `DELETE` or `UPDATE` commit as batch 42 of application
    /// `nightly`. A batch that application already committed (or an earlier one) fails with a
    /// duplicate-batch error and changes nothing; each statement is its own batch, so a script
    /// sets the batch before each write.
    pub struct StrataOptions {
        /// Application id (empty: no exactly-once).
        pub app_id: String, default = String::new()
        /// Batch number of the application.
        pub batch: Option<u64>, default = None
        /// Rows per batch a Strata scan hands to the plan: unset follows
        /// `datafusion.execution.batch_size` (the size DataFusion's operators are tuned for);
        /// `0` lets Strata size each file's batches by the width of the projected columns.
        pub batch_rows: Option<usize>, default = None
        /// Row-group units a scan decodes at once, over all its partitions (unset: 8, enough
        /// to hide an object store's latency).
        pub scan_concurrency: Option<usize>, default = None
        /// Whether scans take parsed Parquet footers from the session's footer cache and
        /// keep there the ones they read (`false`: every scan reads every footer).
        pub footer_cache: bool, default = true
    }
}

impl ConfigExtension for StrataOptions {
    const PREFIX: &'static str = "strata";
}

impl StrataOptions {
    /// The (application, batch) the session's settings ask for, if both are set.
    pub fn app_transaction(options: &ConfigOptions) -> Option<(String, u64)> {
        let o = options.extensions.get::<StrataOptions>()?;
        match (o.app_id.is_empty(), o.batch) {
            (false, Some(b)) => Some((o.app_id.clone(), b)),
            _ => None,
        }
    }

    /// Units a scan decodes at once for the session, if set.
    pub fn scan_concurrency(options: &ConfigOptions) -> Option<usize> {
        options
            .extensions
            .get::<StrataOptions>()
            .and_then(|o| o.scan_concurrency)
            .filter(|&n| n > 0)
    }

    /// Whether scans use the session's footer cache.
    pub fn footer_cache(options: &ConfigOptions) -> bool {
        options
            .extensions
            .get::<StrataOptions>()
            .is_none_or(|o| o.footer_cache)
    }

    /// Rows per scan batch for the session: `None` when Strata sizes them per file.
    pub fn scan_batch_rows(options: &ConfigOptions) -> Option<usize> {
        let set = options
            .extensions
            .get::<StrataOptions>()
            .and_then(|o| o.batch_rows);
        match set {
            Some(0) => None,
            Some(n) => Some(n),
            None => Some(usize::from(options.execution.batch_size)),
        }
    }
}
