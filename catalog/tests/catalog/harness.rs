//! Start catalogs in-process for the tests.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use strata_catalog::auth::Role;
use strata_catalog::model::{CreateTableRequest, CreateTokenRequest, TableInfo};
use strata_catalog::server::{self, RunningServer, ServerOptions};
use strata_catalog::store::Store;
use strata_catalog::{Catalog, Client, open_store};

/// Which store backs a test catalog.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// SQLite, always.
    pub fn sqlite() -> Self {
        Backend::Sqlite
    }

    /// PostgreSQL from `STRATA_TEST_POSTGRES_URL`, or `None` (with a notice) when unset.
    pub fn postgres(test: &str) -> Option<Self> {
        match std::env::var("STRATA_TEST_POSTGRES_URL") {
            Ok(url) if !url.trim().is_empty() => Some(Backend::Postgres(url)),
            _ => {
                eprintln!(
                    "notice: {test}: STRATA_TEST_POSTGRES_URL is not set; skipping the PostgreSQL run"
                );
                None
            }
        }
    }
}

/// A running catalog with an admin client.
pub struct TestCatalog {
    pub server: RunningServer,
    pub store: Arc<dyn Store>,
    pub admin: Client,
    pub admin_token: String,
    pub warehouse: tempfile::TempDir,
    /// A folder outside the warehouse where tier locations are allowed.
    pub archive: tempfile::TempDir,
    pub db_dir: tempfile::TempDir,
}

impl TestCatalog {
    /// A fresh namespace named after `prefix` holding a table `t`, created by the admin.
    pub async fn namespace_with_table(&self, prefix: &str) -> (String, TableInfo) {
        let ns = unique(prefix);
        self.admin
            .create_namespace(&ns, std::collections::BTreeMap::new())
            .await
            .unwrap();
        let info = self
            .admin
            .create_table(&ns, &create_request("t"))
            .await
            .unwrap();
        (ns, info)
    }

    pub async fn start(backend: &Backend) -> Self {
        Self::start_with(backend, &ServerOptions::default()).await
    }

    pub async fn start_with(backend: &Backend, options: &ServerOptions) -> Self {
        let db_dir = tempfile::tempdir().unwrap();
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", db_dir.path().join("catalog.db").display()),
            Backend::Postgres(url) => url.clone(),
        };
        let store = open_store(&url).await.unwrap();
        let warehouse = tempfile::tempdir().unwrap();
        let archive = tempfile::tempdir().unwrap();
        let catalog = Catalog::new(store.clone(), warehouse.path().to_str().unwrap())
            .unwrap()
            .allow_locations(&[format!("file://{}", archive.path().display())])
            .unwrap();
        let server = server::spawn(Arc::new(catalog), "127.0.0.1:0", options)
            .await
            .unwrap();
        let admin_token = token(store.as_ref(), Role::Admin, None).await;
        let admin = Client::new(&server.url(), Some(admin_token.clone())).unwrap();
        Self {
            server,
            store,
            admin,
            admin_token,
            warehouse,
            archive,
            db_dir,
        }
    }

    /// A fresh folder inside the allowed archive, as a `file://` URI (a tier location of a
    /// table of namespace `ns` lies under `ns/`).
    pub fn archive_uri(&self, name: &str) -> String {
        let dir = self.archive.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        format!("file://{}", dir.display())
    }

    /// A client with another token (or none).
    pub fn client(&self, token: Option<&str>) -> Client {
        self.admin.with_token(token.map(str::to_string))
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub async fn stop(self) {
        self.server.shutdown().await.unwrap();
    }
}

/// Another server on the same store and warehouse (a second catalog process).
pub async fn start_server(
    store: Arc<dyn Store>,
    warehouse: &str,
    options: &ServerOptions,
) -> RunningServer {
    let catalog = Arc::new(Catalog::new(store, warehouse).unwrap());
    server::spawn(catalog, "127.0.0.1:0", options)
        .await
        .unwrap()
}

/// Issues a token directly in the store.
pub async fn token(store: &dyn Store, role: Role, namespace: Option<&str>) -> String {
    server::issue_token(
        store,
        CreateTokenRequest {
            role,
            namespace: namespace.map(str::to_string),
            description: Some("test".into()),
            expires_in_seconds: None,
        },
    )
    .await
    .unwrap()
    .token
}

/// A unique name (tests share one PostgreSQL database).
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// A create-table request with the sample schema.
pub fn create_request(name: &str) -> CreateTableRequest {
    CreateTableRequest {
        name: name.to_string(),
        schema: serde_json::to_value(strata_format::testing::sample_schema()).unwrap(),
        partition_spec: None,
        properties: Default::default(),
        location: None,
    }
}

/// An `add` action as JSON.
pub fn add_json(path: &str, rows: u64) -> serde_json::Value {
    serde_json::from_str(
        &strata_format::testing::add(path, rows)
            .to_json_line()
            .unwrap(),
    )
    .unwrap()
}

/// An `add` of `path` (with `rows` rows, `10 × rows` bytes) to the table `ns.table` of the
/// warehouse, after writing the object it names: the catalog refuses adds of objects that do
/// not exist with the stated size.
pub fn add_in(
    warehouse: &std::path::Path,
    ns: &str,
    table: &str,
    path: &str,
    rows: u64,
) -> serde_json::Value {
    put_object(&warehouse.join(ns).join(table), path, rows);
    add_json(path, rows)
}

/// Writes the `10 × rows` bytes that `strata_format::testing::add(path, rows)` describes
/// under the table folder `root`.
pub fn put_object(root: &std::path::Path, path: &str, rows: u64) {
    let file = root.join(path);
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&file, vec![b'x'; usize::try_from(rows * 10).unwrap()]).unwrap();
}

/// A `remove` action as JSON.
pub fn remove_json(path: &str) -> serde_json::Value {
    serde_json::from_str(&strata_format::testing::remove(path).to_json_line().unwrap()).unwrap()
}

/// Where the test's objects live: a local folder or a prefix of the S3 test bucket. All
/// objects the test may touch are under `root`.
pub struct Universe {
    pub store: Arc<dyn ObjectStore>,
    /// Key prefix of everything (empty for a local folder: the store is rooted there).
    pub prefix: String,
    /// URI of `prefix` (`file:///tmp/...` or `s3://bucket/...`).
    pub uri: String,
    /// The local folder, if local.
    pub dir: Option<tempfile::TempDir>,
}

impl Universe {
    pub fn local() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
        Self {
            store: Arc::new(store),
            prefix: String::new(),
            uri: format!("file://{}", dir.path().display()),
            dir: Some(dir),
        }
    }

    pub fn s3() -> Option<Self> {
        let (Ok(_), Ok(bucket)) = (
            std::env::var("STRATA_TEST_S3_ENDPOINT"),
            std::env::var("STRATA_TEST_S3_BUCKET"),
        ) else {
            eprintln!(
                "notice: confinement on S3: STRATA_TEST_S3_ENDPOINT/STRATA_TEST_S3_BUCKET not set; skipping"
            );
            return None;
        };
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&bucket)
            .build()
            .unwrap();
        let prefix = unique("confine");
        Some(Self {
            store: Arc::new(store),
            uri: format!("s3://{bucket}/{prefix}"),
            prefix,
            dir: None,
        })
    }

    pub fn key(&self, rel: &str) -> ObjPath {
        if self.prefix.is_empty() {
            ObjPath::from(rel)
        } else {
            ObjPath::from(format!("{}/{rel}", self.prefix))
        }
    }

    pub async fn put(&self, rel: &str, bytes: &[u8]) {
        self.store
            .put(&self.key(rel), PutPayload::from(bytes.to_vec()))
            .await
            .unwrap();
    }

    /// Every object and its bytes.
    pub async fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let prefix = (!self.prefix.is_empty()).then(|| ObjPath::from(self.prefix.as_str()));
        let metas: Vec<_> = self
            .store
            .list(prefix.as_ref())
            .try_collect()
            .await
            .unwrap();
        let mut out = BTreeMap::new();
        for m in metas {
            let bytes = self.store.get(&m.location).await.unwrap().bytes().await;
            out.insert(m.location.to_string(), bytes.unwrap().to_vec());
        }
        out
    }
}

/// A catalog server whose warehouse is `warehouse`, with tier locations allowed under
/// `archive`; its admin client and store.
pub async fn serve_universe(
    backend: &Backend,
    warehouse: &str,
    archive: &str,
) -> (RunningServer, Client, Arc<dyn Store>) {
    let url = match backend {
        Backend::Sqlite => {
            let db = tempfile::tempdir().unwrap().keep();
            format!("sqlite://{}", db.join("c.db").display())
        }
        Backend::Postgres(url) => url.clone(),
    };
    let store = open_store(&url).await.unwrap();
    let catalog = Catalog::new(store.clone(), warehouse)
        .unwrap()
        .allow_locations(&[archive.to_string()])
        .unwrap();
    let srv = server::spawn(Arc::new(catalog), "127.0.0.1:0", &ServerOptions::default())
        .await
        .unwrap();
    let admin = Client::new(
        &srv.url(),
        Some(token(store.as_ref(), Role::Admin, None).await),
    )
    .unwrap();
    (srv, admin, store)
}
