//! A catalog served in-process (SQLite file, warehouse folder, an allowed archive folder) with
//! an admin token, for tests that drive it with the `strata` binary.

use std::sync::Arc;

use strata_catalog::auth::Role;
use strata_catalog::model::CreateTokenRequest;
use strata_catalog::server::{self, RunningServer, ServerOptions};
use strata_catalog::{Catalog, open_store};

use crate::common::*;

/// A catalog server on a SQLite file and a warehouse folder, with an admin token.
pub struct Served {
    runtime: tokio::runtime::Runtime,
    server: Option<RunningServer>,
    token: String,
    warehouse: String,
    dir: tempfile::TempDir,
}

impl Served {
    pub fn start() -> Self {
        Self::start_in(None)
    }

    /// A server whose warehouse is `warehouse` (a URI such as `s3://bucket/prefix`), or a
    /// local folder of its own.
    pub fn start_in(warehouse: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let db = format!("sqlite://{}", dir.path().join("catalog.db").display());
        let warehouse = match warehouse {
            Some(w) => w.to_string(),
            None => {
                let w = dir.path().join("warehouse");
                std::fs::create_dir_all(&w).unwrap();
                w.to_string_lossy().into_owned()
            }
        };
        // Tier locations are allowed in this folder only (`strata serve --allow-location`).
        let archive_uri = format!("file://{}", dir.path().join("archive").display());
        let (server, token) = runtime.block_on(async {
            let store = open_store(&db).await.unwrap();
            let token = server::issue_token(
                store.as_ref(),
                CreateTokenRequest {
                    role: Role::Admin,
                    namespace: None,
                    description: None,
                    expires_in_seconds: None,
                },
            )
            .await
            .unwrap()
            .token;
            let catalog = Catalog::new(store, warehouse.as_str())
                .and_then(|c| c.allow_locations(&[archive_uri]))
                .unwrap();
            let catalog = Arc::new(catalog);
            let server = server::spawn(catalog, "127.0.0.1:0", &ServerOptions::default())
                .await
                .unwrap();
            (server, token)
        });
        Self {
            runtime,
            server: Some(server),
            token,
            warehouse,
            dir,
        }
    }

    /// The warehouse root.
    pub fn warehouse(&self) -> &str {
        &self.warehouse
    }

    /// A folder in the allowed archive.
    pub fn archive(&self, name: &str) -> String {
        self.dir
            .path()
            .join("archive")
            .join(name)
            .display()
            .to_string()
    }

    /// The admin token.
    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn url(&self) -> String {
        self.server.as_ref().map(|s| s.url()).unwrap_or_default()
    }

    /// `strata --catalog URL ARGS` with the admin token.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_as(&self.token, args)
    }

    /// `strata --catalog URL ARGS` with another token.
    pub fn run_as(&self, token: &str, args: &[&str]) -> Run {
        let url = self.url();
        let mut all = vec!["--catalog", url.as_str()];
        all.extend(args);
        run_env(&all, &[("STRATA_TOKEN", token)])
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "strata {args:?} failed\nstdout:\n{}\nstderr:\n{}",
            r.stdout, r.stderr
        );
        r.stdout
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            let _ = self.runtime.block_on(s.shutdown());
        }
    }
}
