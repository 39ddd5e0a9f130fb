//! Storage errors a person can act on: an object store error reduced to its cause (no
//! credentials, access denied, no such bucket, endpoint unreachable, wrong region, archived
//! object) in one line, with a hint. The raw error stays available as the error's source.

use std::fmt;

use super::aws::{CredentialsUnavailable, one_line};
use super::s3::BucketNotFound;

/// What went wrong with a storage request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageProblem {
    /// The AWS chain found no credentials; the message says where it looked.
    NoCredentials {
        /// Where the chain looked.
        message: String,
    },
    /// A credential source was found but failed (an expired SSO session, a failing
    /// `credential_process`, an unknown profile).
    CredentialsFailed {
        /// The chain's own explanation.
        message: String,
    },
    /// The store refused the identity (`AccessDenied`, an unknown key id, a bad signature,
    /// an expired token).
    AccessDenied {
        /// The S3 error code.
        code: String,
    },
    /// The bucket does not exist.
    NoSuchBucket {
        /// Bucket name.
        bucket: String,
    },
    /// The endpoint could not be reached (connection refused, DNS, timeout).
    Unreachable {
        /// The endpoint, when known.
        endpoint: Option<String>,
    },
    /// The request went to the wrong region for the bucket.
    WrongRegion {
        /// The bucket's region, when S3 said.
        bucket_region: Option<String>,
    },
    /// The object is in an archive storage class and must be restored first.
    Archived,
    /// Anything else, summarized.
    Other {
        /// One line: the S3 error code and message, or the error's first line.
        detail: String,
    },
}

impl fmt::Display for StorageProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoCredentials { message } | Self::CredentialsFailed { message } => {
                f.write_str(message)
            }
            Self::AccessDenied { code } => write!(f, "access denied ({code})"),
            Self::NoSuchBucket { bucket } => write!(f, "bucket `{bucket}` does not exist"),
            Self::Unreachable { endpoint: Some(e) } => write!(f, "endpoint {e} is unreachable"),
            Self::Unreachable { endpoint: None } => f.write_str("the endpoint is unreachable"),
            Self::WrongRegion {
                bucket_region: Some(r),
            } => write!(f, "wrong region: the bucket is in `{r}`"),
            Self::WrongRegion {
                bucket_region: None,
            } => f.write_str("wrong region for this bucket"),
            Self::Archived => f.write_str("the object is archived (restore it first)"),
            Self::Other { detail } => f.write_str(detail),
        }
    }
}

impl StorageProblem {
    /// What the person can do about it.
    pub fn hint(&self, table: &str) -> Option<String> {
        let profile = super::aws::profile();
        Some(match self {
            Self::NoCredentials { .. } => format!(
                "sign in as for the AWS CLI (`aws configure`, `aws sso login --profile {profile}`), \
                 pick a profile with --profile or AWS_PROFILE, or export AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY"
            ),
            Self::CredentialsFailed { .. } => {
                format!("check the profile with `aws sts get-caller-identity --profile {profile}`")
            }
            Self::AccessDenied { .. } => format!(
                "`aws sts get-caller-identity --profile {profile}` shows who you are; that \
                 identity needs s3:ListBucket on the bucket and s3:GetObject/s3:PutObject on \
                 its keys"
            ),
            Self::NoSuchBucket { bucket } => format!(
                "check the bucket name (and AWS_ENDPOINT_URL), or create it: `aws s3 mb s3://{bucket}`"
            ),
            Self::Unreachable { .. } => "check the network and the endpoint (AWS_ENDPOINT_URL or \
                 the profile's endpoint_url)"
                .to_string(),
            Self::WrongRegion {
                bucket_region: Some(r),
            } => format!("set AWS_REGION={r} or `region = {r}` in the profile"),
            Self::WrongRegion {
                bucket_region: None,
            } => "set AWS_REGION (or the profile's `region`) to the bucket's region".to_string(),
            Self::Archived => format!("restore it first: `strata tier restore {table}`"),
            Self::Other { .. } => return None,
        })
    }
}

/// The error and its causes, outermost first.
fn chain(e: &object_store::Error) -> Vec<&(dyn std::error::Error + 'static)> {
    let mut out: Vec<&(dyn std::error::Error + 'static)> = vec![e];
    let mut cur = std::error::Error::source(e);
    while let Some(next) = cur {
        out.push(next);
        cur = next.source();
    }
    out
}

/// The text between `<tag>` and `</tag>` in an S3 XML error body.
fn xml_field(text: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find(&close)?;
    Some(text[start..start + len].trim().to_string())
}

/// `scheme://host[:port]` of the request URL object_store names (`Error performing GET URL`).
fn endpoint_of(text: &str) -> Option<String> {
    let after = text.split("Error performing ").nth(1)?;
    let url = after.split_whitespace().nth(1)?;
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?;
    Some(match parsed.port() {
        Some(p) => format!("{}://{host}:{p}", parsed.scheme()),
        None => format!("{}://{host}", parsed.scheme()),
    })
}

/// What a person would call the request that failed: reading, writing, listing, deleting.
pub fn operation(e: &object_store::Error) -> &'static str {
    let text = chain(e)
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" | ");
    let Some(after) = text.split("Error performing ").nth(1) else {
        return "accessing";
    };
    let mut words = after.split_whitespace();
    let method = words.next().unwrap_or_default();
    let url = words.next().unwrap_or_default();
    match method {
        "GET" if url.contains("list-type=") => "listing",
        "GET" => "reading",
        "HEAD" => "checking",
        "PUT" | "POST" => "writing",
        "DELETE" => "deleting",
        _ => "accessing",
    }
}

/// The cause of a storage error, as one line a person can act on.
pub fn diagnose(e: &object_store::Error) -> StorageProblem {
    let causes = chain(e);
    for cause in &causes {
        if let Some(c) = cause.downcast_ref::<CredentialsUnavailable>() {
            return if c.not_found() {
                StorageProblem::NoCredentials {
                    message: c.to_string(),
                }
            } else {
                StorageProblem::CredentialsFailed {
                    message: c.to_string(),
                }
            };
        }
        if let Some(b) = cause.downcast_ref::<BucketNotFound>() {
            return StorageProblem::NoSuchBucket {
                bucket: b.bucket.clone(),
            };
        }
    }
    let text = causes
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" | ");
    let code = xml_field(&text, "Code");
    match code.as_deref() {
        Some("NoSuchBucket") => {
            return StorageProblem::NoSuchBucket {
                bucket: xml_field(&text, "BucketName").unwrap_or_default(),
            };
        }
        Some(
            c @ ("AccessDenied"
            | "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "InvalidToken"
            | "TokenRefreshRequired"
            | "AllAccessDisabled"
            | "AccountProblem"),
        ) => {
            return StorageProblem::AccessDenied {
                code: c.to_string(),
            };
        }
        Some("PermanentRedirect" | "IllegalLocationConstraintException") => {
            return StorageProblem::WrongRegion {
                bucket_region: xml_field(&text, "Region"),
            };
        }
        Some("AuthorizationHeaderMalformed") if text.contains("region") => {
            let expected = xml_field(&text, "Region").or_else(|| {
                text.split("expecting '")
                    .nth(1)
                    .and_then(|r| r.split('\'').next())
                    .map(str::to_string)
            });
            return StorageProblem::WrongRegion {
                bucket_region: expected,
            };
        }
        Some("InvalidObjectState") => return StorageProblem::Archived,
        _ => {}
    }
    if text.contains("301 Moved Permanently") || text.contains("x-amz-bucket-region") {
        return StorageProblem::WrongRegion {
            bucket_region: None,
        };
    }
    if matches!(
        e,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
    ) {
        return StorageProblem::AccessDenied {
            code: code.unwrap_or_else(|| "403 Forbidden".to_string()),
        };
    }
    let lower = text.to_ascii_lowercase();
    let unreachable = [
        "error sending request",
        "connection refused",
        "tcp connect error",
        "dns error",
        "failed to lookup address",
        "connection reset",
        "timed out",
    ]
    .iter()
    .any(|m| lower.contains(m));
    if unreachable && code.is_none() {
        return StorageProblem::Unreachable {
            endpoint: endpoint_of(&text),
        };
    }
    let detail = match (code, xml_field(&text, "Message")) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c,
        _ => {
            let first = one_line(&e.to_string());
            match first.find(" - ") {
                // object_store's `Error performing GET URL in 10ms - cause`: the cause.
                Some(i) if first.starts_with("Generic") || first.contains("Error performing") => {
                    first[i + 3..].to_string()
                }
                _ => first,
            }
        }
    };
    StorageProblem::Other { detail }
}

/// `{operation} `{path}` failed: {cause}` for an engine storage error.
pub(crate) fn describe(path: &str, e: &object_store::Error) -> String {
    format!("{} `{path}` failed: {}", operation(e), diagnose(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic(text: &str) -> object_store::Error {
        object_store::Error::Generic {
            store: "S3",
            source: text.to_string().into(),
        }
    }

    #[test]
    fn s3_error_bodies_become_causes() {
        let body = |code: &str, extra: &str| {
            generic(&format!(
                "Error performing GET http://127.0.0.1:9/b/t/x in 3ms - Server returned non-2xx \
                 status code: 400 Bad Request: <?xml version=\"1.0\"?><Error><Code>{code}</Code>\
                 <Message>m</Message>{extra}</Error>"
            ))
        };
        assert_eq!(
            diagnose(&body("NoSuchBucket", "<BucketName>nope</BucketName>")),
            StorageProblem::NoSuchBucket {
                bucket: "nope".into()
            }
        );
        assert_eq!(
            diagnose(&body("InvalidAccessKeyId", "")),
            StorageProblem::AccessDenied {
                code: "InvalidAccessKeyId".into()
            }
        );
        // What S3 answers a request signed for the wrong region.
        assert_eq!(
            diagnose(&generic(
                "Error performing GET https://b.s3.amazonaws.com/t in 40ms - Server returned \
                 non-2xx status code: 400 Bad Request: <Error><Code>AuthorizationHeaderMalformed\
                 </Code><Message>The authorization header is malformed; the region 'us-east-1' \
                 is wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region></Error>"
            )),
            StorageProblem::WrongRegion {
                bucket_region: Some("eu-west-1".into())
            }
        );
        assert_eq!(
            diagnose(&body("InvalidObjectState", "")),
            StorageProblem::Archived
        );
        assert_eq!(
            diagnose(&body("SlowDown", "")),
            StorageProblem::Other {
                detail: "SlowDown: m".into()
            }
        );
    }

    #[test]
    fn connection_failures_name_the_endpoint_and_the_operation() {
        let e = generic(
            "Error performing PUT http://127.0.0.1:9/b/t/_strata_log/x.json in 2s, after 5 \
             retries - HTTP error: error sending request",
        );
        assert_eq!(
            diagnose(&e),
            StorageProblem::Unreachable {
                endpoint: Some("http://127.0.0.1:9".into())
            }
        );
        assert_eq!(operation(&e), "writing");
        let list = generic("Error performing GET http://h/b?list-type=2&prefix=t in 1ms - x");
        assert_eq!(operation(&list), "listing");
        let problem = diagnose(&e).to_string();
        assert!(!problem.contains('\n'), "{problem}");
    }
}
