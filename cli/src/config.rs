//! The user's settings file: named catalogs and defaults.
//!
//! `$STRATA_CONFIG`, else `$XDG_CONFIG_HOME/strata/config.toml`, else
//! `~/.config/strata/config.toml` (`%APPDATA%\strata\config.toml` on Windows):
//!
//! ```toml
//! output = "table"              # default --output
//! aws_profile = "analytics"     # default AWS profile (AWS_PROFILE and --profile win)
//! default_catalog = "prod"      # used when --catalog is not given
//!
//! [catalogs.prod]
//! uri = "https://strata.example.com"
//! token_command = "vault read -field=token secret/strata"   # or: token = "..."
//! warehouse = "s3://lake/warehouse"   # what `strata serve` serves for this catalog
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::ValueEnum;
use serde::Deserialize;

use crate::args::OutputFormat;
use crate::error::{CliError, CliResult};

/// Environment variable naming the settings file.
pub const CONFIG_VAR: &str = "STRATA_CONFIG";

/// The settings file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    output: Option<String>,
    aws_profile: Option<String>,
    default_catalog: Option<String>,
    #[serde(default)]
    catalogs: BTreeMap<String, CatalogEntry>,
}

/// A named catalog.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    /// Catalog URL.
    pub uri: String,
    /// Bearer token.
    pub token: Option<String>,
    /// A command whose standard output is the token (run with `sh -c`).
    pub token_command: Option<String>,
    /// The warehouse `strata serve` serves when this catalog is selected.
    pub warehouse: Option<String>,
}

/// The settings file, read and checked.
#[derive(Debug, Default)]
pub struct Config {
    /// The file's path.
    pub path: Option<PathBuf>,
    /// Whether the file exists.
    pub exists: bool,
    /// Default output format.
    pub output: Option<OutputFormat>,
    /// Default AWS profile.
    pub aws_profile: Option<String>,
    /// Catalog used when `--catalog` is not given.
    pub default_catalog: Option<String>,
    /// Named catalogs.
    pub catalogs: BTreeMap<String, CatalogEntry>,
}

/// Where the settings file is looked for.
pub fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(CONFIG_VAR).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let base = if cfg!(windows) {
        std::env::var_os("APPDATA").map(PathBuf::from)
    } else {
        std::env::var_os("XDG_CONFIG_HOME")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
    };
    base.map(|b| b.join("strata").join("config.toml"))
}

impl Config {
    /// Reads the settings file. A missing default file is an empty configuration; a missing
    /// file named by `STRATA_CONFIG`, or a bad one, is an error naming it.
    pub fn load() -> CliResult<Self> {
        let Some(path) = config_path() else {
            return Ok(Self::default());
        };
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if std::env::var_os(CONFIG_VAR).is_some_and(|p| !p.is_empty()) {
                    return Err(CliError::user(format!(
                        "the settings file `{shown}` ({CONFIG_VAR}) does not exist"
                    )));
                }
                return Ok(Self {
                    path: Some(path),
                    ..Self::default()
                });
            }
            Err(e) => {
                return Err(CliError::user(format!(
                    "cannot read the settings file `{shown}`: {e}"
                )));
            }
        };
        let mut config = Self::parse(&text).map_err(|e| {
            CliError::user(format!("settings file `{shown}`: {e}"))
                .with_hint("see `strata config show` and the README's settings section")
        })?;
        config.path = Some(path);
        config.exists = true;
        Ok(config)
    }

    /// Parses and checks settings text.
    fn parse(text: &str) -> Result<Self, String> {
        let file: FileConfig = toml::from_str(text).map_err(|e| {
            // toml's message spans several lines (a caret under the spot): one line.
            e.to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })?;
        let output = match &file.output {
            Some(o) => Some(OutputFormat::from_str(o, true).map_err(|_| {
                format!("`output = \"{o}\"` is not one of table, json, ndjson, csv")
            })?),
            None => None,
        };
        for (name, c) in &file.catalogs {
            if c.token.is_some() && c.token_command.is_some() {
                return Err(format!(
                    "catalog `{name}` has both `token` and `token_command`: keep one"
                ));
            }
            if !c.uri.contains("://") {
                return Err(format!(
                    "catalog `{name}`: `uri = \"{}\"` is not a URL (http://host:port)",
                    c.uri
                ));
            }
        }
        if let Some(d) = &file.default_catalog
            && !file.catalogs.contains_key(d)
        {
            return Err(format!(
                "`default_catalog = \"{d}\"` names no catalog (define [catalogs.{d}])"
            ));
        }
        Ok(Self {
            path: None,
            exists: false,
            output,
            aws_profile: file.aws_profile.filter(|p| !p.trim().is_empty()),
            default_catalog: file.default_catalog,
            catalogs: file.catalogs,
        })
    }

    /// The catalog `name` names: a URL as is, else a catalog of the settings file.
    pub fn catalog(&self, name: &str) -> CliResult<ResolvedCatalog> {
        if name.contains("://") {
            return Ok(ResolvedCatalog {
                name: None,
                uri: name.to_string(),
                entry: None,
            });
        }
        match self.catalogs.get(name) {
            Some(entry) => Ok(ResolvedCatalog {
                name: Some(name.to_string()),
                uri: entry.uri.clone(),
                entry: Some(entry.clone()),
            }),
            None => {
                let known: Vec<&str> = self.catalogs.keys().map(String::as_str).collect();
                let place = self
                    .path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "the settings file".to_string());
                let err = CliError::user(format!(
                    "`--catalog {name}` is neither a URL nor a catalog named in {place}"
                ));
                Err(if known.is_empty() {
                    err.with_hint(format!(
                        "give a URL (http://host:port) or add [catalogs.{name}] with a `uri` to {place}"
                    ))
                } else {
                    err.with_hint(format!("known catalogs: {}", known.join(", ")))
                })
            }
        }
    }
}

/// The catalog a command talks to.
#[derive(Debug, Clone)]
pub struct ResolvedCatalog {
    /// Its name in the settings file, if it came from there.
    pub name: Option<String>,
    /// Its URL.
    pub uri: String,
    /// Its settings-file entry.
    pub entry: Option<CatalogEntry>,
}

impl ResolvedCatalog {
    /// The warehouse `strata serve` serves for this catalog, when the settings say.
    pub fn warehouse(&self) -> Option<&str> {
        self.entry.as_ref()?.warehouse.as_deref()
    }

    /// The token of the settings file: `token`, or the output of `token_command`.
    pub fn token(&self) -> CliResult<Option<String>> {
        let Some(entry) = &self.entry else {
            return Ok(None);
        };
        if let Some(t) = &entry.token {
            return Ok(Some(t.clone()));
        }
        let Some(command) = &entry.token_command else {
            return Ok(None);
        };
        let name = self.name.as_deref().unwrap_or_default();
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|e| {
                CliError::user(format!(
                    "catalog `{name}`: cannot run token_command `{command}`: {e}"
                ))
            })?;
        if !output.status.success() {
            return Err(CliError::user(format!(
                "catalog `{name}`: token_command `{command}` failed ({})",
                output.status
            )));
        }
        let token = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if token.is_empty() {
            return Err(CliError::user(format!(
                "catalog `{name}`: token_command `{command}` printed no token"
            )));
        }
        Ok(Some(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_catalogs_and_defaults_parse() {
        let c = Config::parse(
            "output = \"json\"\naws_profile = \"dev\"\ndefault_catalog = \"prod\"\n\
             [catalogs.prod]\nuri = \"http://h:1\"\ntoken = \"s\"\nwarehouse = \"s3://b/w\"\n",
        )
        .unwrap();
        assert_eq!(c.output, Some(OutputFormat::Json));
        assert_eq!(c.aws_profile.as_deref(), Some("dev"));
        let prod = c.catalog("prod").unwrap();
        assert_eq!(prod.uri, "http://h:1");
        assert_eq!(prod.warehouse(), Some("s3://b/w"));
        assert_eq!(prod.token().unwrap().as_deref(), Some("s"));
        assert_eq!(c.catalog("http://x:2").unwrap().uri, "http://x:2");
        let err = c.catalog("nope").unwrap_err();
        assert!(err.hint().unwrap_or_default().contains("prod"), "{err}");
    }

    #[test]
    fn bad_settings_name_what_is_wrong() {
        for (text, says) in [
            ("outptu = \"json\"", "unknown field `outptu`"),
            ("output = \"yaml\"", "not one of"),
            ("[catalogs.a]\nuri = \"h\"", "not a URL"),
            (
                "[catalogs.a]\nuri = \"http://h\"\ntoken = \"t\"\ntoken_command = \"c\"",
                "both",
            ),
            ("default_catalog = \"x\"", "names no catalog"),
            ("output = ", "line 1"),
        ] {
            let err = Config::parse(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
