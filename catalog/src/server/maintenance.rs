//! The maintenance endpoint: runs a table's scheduled maintenance on the server.

use axum::Json;
use axum::extract::{Path, State};

use super::{ApiResult, AppState};
use crate::auth::{Principal, Role};
use crate::maintenance::{MaintenanceBody, MaintenanceRequest};
use crate::model::ErrorEnvelope;
use crate::names::{validate_namespace, validate_table};
use crate::store::TableIdent;

/// Run a table's maintenance as its `strata.maintenance.*` properties describe: tier policies
/// (packing small files, moves), compaction, log expiry (only with `logRetention`) and vacuum.
/// A step that fails is reported with the others; `status` is then `failed`.
#[utoipa::path(post, operation_id = "maintainTable", path = "/v1/namespaces/{namespace}/tables/{table}/maintenance", tag = "tables",
    params(("namespace" = String, Path), ("table" = String, Path)),
    request_body = MaintenanceRequest,
    responses((status = 200, body = MaintenanceBody), (status = 400, body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 503, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn maintain(
    p: Principal,
    State(s): State<AppState>,
    Path((ns, table)): Path<(String, String)>,
    Json(req): Json<MaintenanceRequest>,
) -> ApiResult<Json<MaintenanceBody>> {
    validate_namespace(&ns)?;
    validate_table(&table)?;
    p.require(Role::Writer, Some(&ns))?;
    let id = TableIdent::new(&ns, &table);
    Ok(Json(s.catalog.maintain(&id, &req).await?))
}
