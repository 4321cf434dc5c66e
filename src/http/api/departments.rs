//! Departments, the bank-holiday list and the staff list (for pickers): reading for all staff,
//! changes for administrators.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::domain::permission::perm;
use crate::http::filters::{Authed, allowed, allowed_mutation, json_body, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::service::departments::{DepartmentError, DepartmentInput};
use crate::service::hours::Region;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayBody {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenerateBody {
    region: Region,
    year: i32,
}

#[derive(Serialize)]
struct Holiday {
    date: String,
    name: String,
}

fn department_error(err: DepartmentError) -> Rejection {
    reject(match err {
        DepartmentError::Invalid(message) => ApiError::new(StatusCode::BAD_REQUEST, "invalid", message),
        DepartmentError::Unknown(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_department", err.to_string()),
        DepartmentError::UnknownHoliday(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_bank_holiday", err.to_string())
        }
        DepartmentError::Store(store) => ApiError::from(store),
    })
}

fn no_content() -> Response {
    warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response()
}

async fn holiday_list(state: &AppState) -> Result<Response, Rejection> {
    let list: Vec<Holiday> = state
        .departments
        .holidays()
        .await
        .map_err(department_error)?
        .into_iter()
        .map(|(date, name)| Holiday { date, name })
        .collect();
    Ok(warp::reply::json(&list).into_response())
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let max_body = state.config.server.max_body_bytes;
    let list = warp::path("departments")
        .and(warp::path::end())
        .and(warp::get())
        .and(allowed(state.clone(), perm::CHATS_VIEW))
        .and(with_state(state.clone()))
        .map(|_: Authed, state: AppState| {
            let available = state.chat.hub().available_users();
            let now = time::OffsetDateTime::now_utc();
            let list: Vec<_> =
                state.departments.list().iter().map(|d| state.departments.view(d, &available, now)).collect();
            warp::reply::json(&list).into_response()
        });
    let put = warp::path!("departments" / String)
        .and(warp::put())
        .and(allowed_mutation(state.clone(), perm::SETTINGS_MANAGE))
        .and(json_body::<DepartmentInput>(max_body))
        .and(with_state(state.clone()))
        .and_then(|key: String, authed: Authed, body: DepartmentInput, state: AppState| async move {
            let department = state.departments.save(&key, body).await.map_err(department_error)?;
            tracing::info!(user_id = authed.session.user_id, department = %department.key, "department saved");
            super::audit_change(&state, &authed, "settings.department_saved", format!("department {}", department.key))
                .await?;
            // Members or hours may have changed: waiting chats may now have somewhere to go.
            state.chat.reroute().await.map_err(reject)?;
            let view = state.departments.view(
                &department,
                &state.chat.hub().available_users(),
                time::OffsetDateTime::now_utc(),
            );
            Ok::<_, Rejection>(warp::reply::json(&view).into_response())
        });
    let delete = warp::path!("departments" / String)
        .and(warp::delete())
        .and(allowed_mutation(state.clone(), perm::SETTINGS_MANAGE))
        .and(with_state(state.clone()))
        .and_then(|key: String, authed: Authed, state: AppState| async move {
            state.departments.delete(&key).await.map_err(department_error)?;
            state.sites.reload().await.map_err(|e| {
                tracing::error!(error = %e, "reloading the sites failed");
                reject(ApiError::internal())
            })?;
            tracing::info!(user_id = authed.session.user_id, department = %key, "department deleted");
            super::audit_change(&state, &authed, "settings.department_deleted", format!("department {key}")).await?;
            Ok::<_, Rejection>(no_content())
        });
    let holidays = warp::path("bank-holidays")
        .and(warp::path::end())
        .and(warp::get())
        .and(allowed(state.clone(), perm::SETTINGS_VIEW))
        .and(with_state(state.clone()))
        .and_then(|_: Authed, state: AppState| async move { holiday_list(&state).await });
    let generate = warp::path!("bank-holidays" / "generate")
        .and(warp::post())
        .and(allowed_mutation(state.clone(), perm::SETTINGS_MANAGE))
        .and(json_body::<GenerateBody>(max_body))
        .and(with_state(state.clone()))
        .and_then(|authed: Authed, body: GenerateBody, state: AppState| async move {
            state.departments.generate_holidays(body.region, body.year).await.map_err(department_error)?;
            tracing::info!(user_id = authed.session.user_id, year = body.year, "bank holidays generated");
            super::audit_change(&state, &authed, "settings.bank_holidays_generated", format!("year {}", body.year))
                .await?;
            holiday_list(&state).await
        });
    let put_holiday = warp::path!("bank-holidays" / String)
        .and(warp::put())
        .and(allowed_mutation(state.clone(), perm::SETTINGS_MANAGE))
        .and(json_body::<HolidayBody>(max_body))
        .and(with_state(state.clone()))
        .and_then(|date: String, authed: Authed, body: HolidayBody, state: AppState| async move {
            let (date, name) = state.departments.put_holiday(&date, &body.name).await.map_err(department_error)?;
            tracing::info!(user_id = authed.session.user_id, %date, "bank holiday saved");
            super::audit_change(&state, &authed, "settings.bank_holiday_saved", format!("date {date}")).await?;
            Ok::<_, Rejection>(warp::reply::json(&Holiday { date, name }).into_response())
        });
    let delete_holiday = warp::path!("bank-holidays" / String)
        .and(warp::delete())
        .and(allowed_mutation(state.clone(), perm::SETTINGS_MANAGE))
        .and(with_state(state))
        .and_then(|date: String, authed: Authed, state: AppState| async move {
            state.departments.delete_holiday(&date).await.map_err(department_error)?;
            tracing::info!(user_id = authed.session.user_id, %date, "bank holiday removed");
            super::audit_change(&state, &authed, "settings.bank_holiday_removed", format!("date {date}")).await?;
            Ok::<_, Rejection>(no_content())
        });
    list.or(put)
        .unify()
        .or(delete)
        .unify()
        .or(holidays)
        .unify()
        .or(generate)
        .unify()
        .or(put_holiday)
        .unify()
        .or(delete_holiday)
        .unify()
        .boxed()
}
