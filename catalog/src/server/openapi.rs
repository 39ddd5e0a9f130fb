//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use axum::extract::State;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    ApiResult, AppState, commits, maintenance, metrics, namespaces, tables, tiers, tokens,
};
use crate::auth::{Principal, Role};
use crate::{model, tiering};

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Strata catalog", description = "Namespaces, tables and catalog-arbitrated commits of Strata tables."),
    modifiers(&Bearer),
    paths(
        namespaces::list, namespaces::create, namespaces::get, namespaces::drop,
        namespaces::update_properties,
        tables::list, tables::create, tables::register, tables::load, tables::drop,
        tables::rename, tables::history, tables::tags, tables::create_tag, tables::delete_tag,
        tiers::report, tiers::set_tiers, tiers::set_policies, tiers::plan, tiers::apply,
        tiers::move_files, tiers::restore, maintenance::maintain,
        commits::commit, tokens::create_token, tokens::list_tokens, tokens::revoke_token,
        tokens::audit, commits::health, metrics::metrics, openapi,
    ),
    components(schemas(
        model::ErrorEnvelope, model::ErrorBody, model::ConflictBody, model::Namespace,
        model::NamespaceList, model::CreateNamespaceRequest, model::UpdatePropertiesRequest,
        model::CreateTableRequest, model::RegisterTableRequest, model::TableInfo,
        model::TableEntry, model::TableList, model::RenameTableRequest, model::ReadScope,
        model::TableChange, model::CommitRequest, model::CommittedTable, model::CommitResponse,
        model::HistoryItem, model::History, model::TagEntry, model::TagList,
        model::CreateTokenRequest, model::CreatedToken, model::TokenInfo, model::TokenList,
        model::AuditEntry, model::AuditLog, model::Health, crate::auth::Role,
        tiering::TierSpec, tiering::ConditionSpec, tiering::PolicySpec, tiering::SetTiersRequest,
        tiering::SetPoliciesRequest, tiering::TierUsageBody, tiering::TierReport,
        tiering::PlanRequest, tiering::PlannedMoveBody, tiering::TierPlanBody,
        tiering::ApplyRequest, tiering::MoveBody, tiering::ApplyResponse,
        tiering::MoveRequest, tiering::RestoreRequest, tiering::RestoredFileBody,
        tiering::RestoreResponse, crate::maintenance::MaintenanceRequest,
        crate::maintenance::StepBody, crate::maintenance::MaintenanceBody,
    ))
)]
#[derive(Debug)]
pub struct ApiDoc;

/// This document (any valid token).
#[utoipa::path(get, operation_id = "openapi", path = "/openapi.json", tag = "service",
    responses((status = 200, description = "OpenAPI 3.1 document"),
        (status = 401, body = model::ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn openapi(
    p: Principal,
    State(_): State<AppState>,
) -> ApiResult<Json<utoipa::openapi::OpenApi>> {
    p.require(Role::Reader, p.namespace.as_deref())?;
    Ok(Json(ApiDoc::openapi()))
}
