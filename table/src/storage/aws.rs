//! One AWS identity for all S3 access: the AWS CLI's own credential and region chain
//! (`aws-config`), shared by the table's object store and by the S3 client of tier moves and
//! restores, so that both always act as the same identity.
//!
//! The chain is the AWS CLI's: environment variables, the shared `config` and `credentials`
//! files with profiles (`AWS_PROFILE`, or [`set_profile`] for a `--profile` flag), SSO, web
//! identity (EKS), container credentials (ECS), `credential_process` and instance metadata.
//! Region and endpoint are resolved the same way (`AWS_REGION`, the profile's `region`,
//! `AWS_ENDPOINT_URL[_S3]` or the profile's `endpoint_url`). Expiring credentials are
//! refreshed before they expire.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use object_store::CredentialProvider;
use object_store::aws::AwsCredential;

/// Credentials are fetched again this long before they expire.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// The profile chosen for this process, and whether it overrides credentials in the
/// environment.
static PROFILE: RwLock<Option<(String, bool)>> = RwLock::new(None);

/// Selects the AWS profile of this process. With `overrides_environment` (a `--profile` flag,
/// as in the AWS CLI) credentials come from that profile alone, even when
/// `AWS_ACCESS_KEY_ID` is set; without it (a configured default) the profile takes the place
/// of `AWS_PROFILE` in the usual chain. `None` leaves the choice to the AWS chain
/// (`AWS_PROFILE`, else `default`).
pub fn set_profile(profile: Option<String>, overrides_environment: bool) {
    let mut p = PROFILE.write().unwrap_or_else(|e| e.into_inner());
    *p = profile
        .filter(|p| !p.trim().is_empty())
        .map(|p| (p, overrides_environment));
}

/// The profile S3 access uses: the one [`set_profile`] chose, else `AWS_PROFILE`, else
/// `default`.
pub fn profile() -> String {
    explicit_profile()
        .or_else(|| env("AWS_PROFILE"))
        .unwrap_or_else(|| "default".to_string())
}

fn explicit_profile() -> Option<String> {
    chosen_profile().map(|(p, _)| p)
}

fn chosen_profile() -> Option<(String, bool)> {
    PROFILE.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The resolved AWS configuration of one profile.
#[derive(Debug)]
pub(crate) struct AwsIdentity {
    sdk: SdkConfig,
    credentials: Arc<SdkCredentials>,
}

impl AwsIdentity {
    /// The region requests are signed for (`us-east-1` when the chain names none, as the S3
    /// clients do).
    pub(crate) fn region(&self) -> String {
        self.sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".to_string())
    }

    /// The S3 endpoint, when one is configured (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL` or
    /// the profile's `endpoint_url`).
    pub(crate) fn endpoint(&self) -> Option<String> {
        env("AWS_ENDPOINT_URL_S3").or_else(|| self.sdk.endpoint_url().map(str::to_string))
    }

    /// The credential provider handed to object_store.
    pub(crate) fn credentials(&self) -> Arc<SdkCredentials> {
        self.credentials.clone()
    }

    /// An S3 client with this identity (path-style addressing when an endpoint is set).
    pub(crate) fn s3_client(&self) -> aws_sdk_s3::Client {
        let mut config = aws_sdk_s3::config::Builder::from(&self.sdk)
            .region(aws_sdk_s3::config::Region::new(self.region()));
        if let Some(endpoint) = self.endpoint() {
            config = config.endpoint_url(endpoint).force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(config.build())
    }
}

/// What an identity is cached under: the chosen profile and the environment that decides it.
type IdentityKey = (Option<(String, bool)>, [Option<String>; 6]);

fn identity_key() -> IdentityKey {
    let settings = [
        env("AWS_PROFILE"),
        env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")),
        env("AWS_ACCESS_KEY_ID"),
        env("AWS_SESSION_TOKEN"),
        env("AWS_ENDPOINT_URL"),
        env("AWS_CONFIG_FILE"),
    ];
    (chosen_profile(), settings)
}

/// The AWS identity of the current profile, loaded once per process (and per configuration).
pub(crate) fn identity() -> Result<Arc<AwsIdentity>, String> {
    static CACHE: OnceLock<Mutex<HashMap<IdentityKey, Arc<AwsIdentity>>>> = OnceLock::new();
    let key = identity_key();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(found) = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .cloned()
    {
        return Ok(found);
    }
    let loaded = Arc::new(load(key.0.clone())?);
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, loaded.clone());
    Ok(loaded)
}

/// Loads the configuration on a thread of its own: callers may be synchronous code running
/// inside an async runtime, which must not block on it. Loading reads files and the
/// environment; credentials themselves are fetched on first use.
fn load(chosen: Option<(String, bool)>) -> Result<AwsIdentity, String> {
    let profile = chosen.as_ref().map(|(p, _)| p.clone());
    let chosen_for_thread = chosen.clone();
    let sdk = std::thread::spawn(move || {
        let chosen = chosen_for_thread;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime to load the AWS configuration: {e}"))?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some((p, overrides_environment)) = &chosen {
            loader = loader.profile_name(p);
            if *overrides_environment {
                loader = loader.credentials_provider(
                    aws_config::profile::ProfileFileCredentialsProvider::builder()
                        .profile_name(p)
                        .build(),
                );
            }
        }
        Ok::<_, String>(runtime.block_on(loader.load()))
    })
    .join()
    .map_err(|_| "loading the AWS configuration failed".to_string())??;
    let provider = sdk.credentials_provider();
    let profile_only = chosen.as_ref().is_some_and(|(_, only)| *only);
    let credentials = Arc::new(SdkCredentials {
        provider,
        profile_only,
        profile: profile.unwrap_or_else(self::profile),
        cached: tokio::sync::Mutex::new(None),
    });
    Ok(AwsIdentity { sdk, credentials })
}

/// The AWS chain's credentials as an object_store credential provider, kept until shortly
/// before they expire.
#[derive(Debug)]
pub(crate) struct SdkCredentials {
    provider: Option<SharedCredentialsProvider>,
    /// The profile alone is consulted (`--profile`), not the rest of the chain.
    profile_only: bool,
    profile: String,
    cached: tokio::sync::Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

#[async_trait]
impl CredentialProvider for SdkCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut slot = self.cached.lock().await;
        if let Some((credential, expiry)) = slot.as_ref() {
            let fresh = expiry.is_none_or(|t| t > SystemTime::now() + REFRESH_BEFORE_EXPIRY);
            if fresh {
                return Ok(credential.clone());
            }
        }
        let unavailable = |source: Option<CredentialsError>| object_store::Error::Generic {
            store: "S3",
            source: Box::new(CredentialsUnavailable::new(
                &self.profile,
                self.profile_only,
                source,
            )),
        };
        let Some(provider) = &self.provider else {
            return Err(unavailable(None));
        };
        let fetched = provider
            .provide_credentials()
            .await
            .map_err(|e| unavailable(Some(e)))?;
        let credential = Arc::new(AwsCredential {
            key_id: fetched.access_key_id().to_string(),
            secret_key: fetched.secret_access_key().to_string(),
            token: fetched.session_token().map(str::to_string),
        });
        *slot = Some((credential.clone(), fetched.expiry()));
        Ok(credential)
    }
}

/// No credentials could be had from the AWS chain: why, and where they were looked for.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CredentialsUnavailable {
    message: String,
    not_found: bool,
    #[source]
    source: Option<CredentialsError>,
}

impl CredentialsUnavailable {
    fn new(profile: &str, profile_only: bool, source: Option<CredentialsError>) -> Self {
        let (config, credentials) = shared_files();
        let defined = profile_defined(profile, &config, &credentials);
        let not_found = !defined
            || matches!(
                source,
                None | Some(CredentialsError::CredentialsNotLoaded(_))
            );
        let message = if !defined {
            format!(
                "no AWS credentials found: profile `{profile}` is defined in neither {} nor {}{}",
                credentials.display(),
                config.display(),
                if profile_only {
                    String::new()
                } else {
                    format!(" (also looked in: {})", other_places())
                }
            )
        } else if not_found {
            format!(
                "no AWS credentials found for profile `{profile}` (looked in: {})",
                places_looked(profile, profile_only)
            )
        } else {
            let detail = source.as_ref().map(causes).unwrap_or_default();
            format!("AWS credentials for profile `{profile}` could not be loaded: {detail}")
        };
        Self {
            message,
            not_found,
            source,
        }
    }

    /// True when the chain found no credentials at all (as opposed to failing to load some).
    pub fn not_found(&self) -> bool {
        self.not_found
    }
}

/// The shared `config` and `credentials` files, as the AWS chain finds them.
fn shared_files() -> (PathBuf, PathBuf) {
    let home = env("HOME").unwrap_or_else(|| "~".to_string());
    let config = env("AWS_CONFIG_FILE").unwrap_or_else(|| format!("{home}/.aws/config"));
    let credentials =
        env("AWS_SHARED_CREDENTIALS_FILE").unwrap_or_else(|| format!("{home}/.aws/credentials"));
    (PathBuf::from(config), PathBuf::from(credentials))
}

/// Whether `profile` has a section in either shared file (`[name]` in `credentials`;
/// `[profile name]`, or `[default]`, in `config`). The `default` profile counts as defined:
/// the chain looks for it whether or not it has a section.
fn profile_defined(profile: &str, config: &Path, credentials: &Path) -> bool {
    if profile == "default" {
        return true;
    }
    let sections = |path: &Path| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                l.strip_prefix('[')
                    .and_then(|r| r.strip_suffix(']'))
                    .map(|name| name.split_whitespace().collect::<Vec<_>>().join(" "))
            })
            .collect()
    };
    sections(credentials).iter().any(|s| s == profile)
        || sections(config)
            .iter()
            .any(|s| *s == format!("profile {profile}") || s == profile)
}

/// Where the chain looks besides the profile.
fn other_places() -> String {
    let imds = if env("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        "instance metadata (disabled by AWS_EC2_METADATA_DISABLED)"
    } else {
        "instance metadata"
    };
    format!(
        "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; web identity \
         (AWS_WEB_IDENTITY_TOKEN_FILE); container credentials (AWS_CONTAINER_CREDENTIALS_*); {imds}"
    )
}

/// The places the AWS chain looks for credentials, as a person would check them.
fn places_looked(profile: &str, profile_only: bool) -> String {
    let (config, credentials) = shared_files();
    let files = format!(
        "profile `{profile}` in {} and {} (keys, SSO, role, credential_process)",
        credentials.display(),
        config.display()
    );
    if profile_only {
        files
    } else {
        format!("{files}; {}", other_places())
    }
}

/// An error's message and its causes' on one line, each said once.
fn causes(e: &CredentialsError) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = one_line(&err.to_string());
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// `text` on one line, its whitespace runs collapsed.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_credential_names_every_place_looked() {
        let e = CredentialsUnavailable::new("default", false, None);
        assert!(e.not_found());
        let text = e.to_string();
        for place in [
            "profile `default`",
            "AWS_ACCESS_KEY_ID",
            ".aws/credentials",
            ".aws/config",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_",
            "instance metadata",
        ] {
            assert!(text.contains(place), "{place} missing from: {text}");
        }
    }

    #[test]
    fn an_undefined_profile_is_named_with_the_files() {
        let dir = std::env::temp_dir().join(format!("strata-aws-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("config");
        let credentials = dir.join("credentials");
        std::fs::write(&config, "[profile lake]\nregion = eu-west-1\n").unwrap();
        std::fs::write(&credentials, "[batch]\naws_access_key_id = x\n").unwrap();
        assert!(profile_defined("lake", &config, &credentials));
        assert!(profile_defined("batch", &config, &credentials));
        assert!(profile_defined("default", &config, &credentials));
        assert!(!profile_defined("prod", &config, &credentials));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_provider_is_not_reported_as_missing_credentials() {
        let e = CredentialsUnavailable::new(
            "default",
            false,
            Some(CredentialsError::provider_error("the SSO session expired")),
        );
        assert!(!e.not_found());
        assert!(e.to_string().contains("could not be loaded"), "{e}");
    }
}
