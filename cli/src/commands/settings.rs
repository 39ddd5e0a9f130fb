//! Applying the settings file, and `strata config show`.

use std::io::Write;

use serde_json::json;

use crate::args::{Cli, OutputFormat};
use crate::config::{CONFIG_VAR, Config, ResolvedCatalog};
use crate::error::CliResult;
use crate::output::{TextTable, write_json};

/// What applies to this run, and where each setting came from.
#[derive(Debug)]
pub struct Resolved {
    /// The settings file.
    pub config: Config,
    /// The output format.
    pub output: OutputFormat,
    output_source: &'static str,
    profile: Option<String>,
    profile_source: &'static str,
    /// The catalog, when one applies.
    pub catalog: Option<ResolvedCatalog>,
    catalog_source: &'static str,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Reads the settings file and combines it with the command line and the environment:
/// flags win, then environment variables, then the settings file, then defaults. The AWS
/// profile is handed to the engine.
pub fn resolve(cli: &Cli) -> CliResult<Resolved> {
    let config = Config::load()?;
    let (output, output_source) = match (cli.output, config.output) {
        (Some(o), _) => (o, "--output"),
        (None, Some(o)) => (o, "settings file"),
        (None, None) => (OutputFormat::Table, "default"),
    };
    let (profile, profile_source) = match (&cli.profile, env("AWS_PROFILE"), &config.aws_profile) {
        (Some(p), _, _) => (Some(p.clone()), "--profile"),
        (None, Some(p), _) => (Some(p), "AWS_PROFILE"),
        (None, None, Some(p)) => (Some(p.clone()), "settings file"),
        (None, None, None) => (None, "default"),
    };
    match profile_source {
        "--profile" => strata_table::set_aws_profile(profile.clone(), true),
        "settings file" => strata_table::set_aws_profile(profile.clone(), false),
        _ => strata_table::set_aws_profile(None, false),
    }
    let named = cli.catalog.clone().filter(|c| !c.trim().is_empty());
    let (catalog, catalog_source) = match (named, &config.default_catalog) {
        (Some(c), _) => {
            let source = if env("STRATA_CATALOG").as_deref() == Some(c.as_str()) {
                "STRATA_CATALOG"
            } else {
                "--catalog"
            };
            (Some(config.catalog(&c)?), source)
        }
        (None, Some(d)) => (Some(config.catalog(d)?), "default_catalog (settings file)"),
        (None, None) => (None, "none"),
    };
    Ok(Resolved {
        config,
        output,
        output_source,
        profile,
        profile_source,
        catalog,
        catalog_source,
    })
}

/// How a catalog's token is given, never the token itself.
fn token_shown(c: &crate::config::CatalogEntry) -> String {
    match (&c.token, &c.token_command) {
        (Some(_), _) => "set (hidden)".to_string(),
        // A command may hold a secret in its arguments: only the program is shown.
        (None, Some(cmd)) => format!(
            "from the command `{} ...`",
            cmd.split_whitespace().next().unwrap_or_default()
        ),
        (None, None) => "none".to_string(),
    }
}

/// `strata config show`.
pub fn show(r: &Resolved, format: OutputFormat, out: &mut impl Write) -> CliResult {
    let file = r
        .config
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(no home folder)".to_string());
    let file_source = if env(CONFIG_VAR).is_some() {
        CONFIG_VAR
    } else {
        "default location"
    };
    let file_state = if r.config.exists {
        file_source.to_string()
    } else {
        format!("{file_source}; not found, nothing set")
    };
    let profile = r.profile.clone().unwrap_or_else(|| "default".to_string());
    let catalog = r.catalog.as_ref().map(|c| match &c.name {
        Some(n) => format!("{n} ({})", c.uri),
        None => c.uri.clone(),
    });
    let token_env = env("STRATA_TOKEN").is_some();
    match format {
        OutputFormat::Table | OutputFormat::Csv => {
            let mut t = TextTable::new(&["SETTING", "VALUE", "SOURCE"]);
            t.row(vec!["settings file".into(), file, file_state]);
            t.row(vec![
                "output".into(),
                format!("{:?}", r.output).to_lowercase(),
                r.output_source.into(),
            ]);
            t.row(vec!["aws profile".into(), profile, r.profile_source.into()]);
            t.row(vec![
                "catalog".into(),
                catalog.unwrap_or_else(|| "none".into()),
                r.catalog_source.into(),
            ]);
            if token_env {
                t.row(vec![
                    "catalog token".into(),
                    "set (hidden)".into(),
                    "STRATA_TOKEN".into(),
                ]);
            }
            t.write(out)?;
            if !r.config.catalogs.is_empty() {
                writeln!(out)?;
                let mut c = TextTable::new(&["CATALOG", "URI", "TOKEN", "WAREHOUSE"]);
                for (name, entry) in &r.config.catalogs {
                    c.row(vec![
                        name.clone(),
                        entry.uri.clone(),
                        token_shown(entry),
                        entry.warehouse.clone().unwrap_or_default(),
                    ]);
                }
                c.write(out)?;
            }
        }
        OutputFormat::Json | OutputFormat::Ndjson => {
            let catalogs: Vec<_> = r
                .config
                .catalogs
                .iter()
                .map(|(name, e)| {
                    json!({
                        "name": name,
                        "uri": e.uri,
                        "token": token_shown(e),
                        "warehouse": e.warehouse,
                    })
                })
                .collect();
            let doc = json!({
                "settings_file": {"path": file, "exists": r.config.exists, "source": file_source},
                "output": {"value": format!("{:?}", r.output).to_lowercase(), "source": r.output_source},
                "aws_profile": {"value": profile, "source": r.profile_source},
                "catalog": {
                    "name": r.catalog.as_ref().and_then(|c| c.name.clone()),
                    "uri": r.catalog.as_ref().map(|c| c.uri.clone()),
                    "source": r.catalog_source,
                },
                "catalog_token_from_env": token_env,
                "catalogs": catalogs,
            });
            write_json(format, &doc, None, out)?;
        }
    }
    Ok(())
}
