//! Staff accounts and roles for the administration page: the staff roster, creating users,
//! changing a user's role, name or state, password resets, and custom roles with their
//! permissions and login restrictions (docs/security.md, "Roles and permissions").

use http::StatusCode;
use serde::{Deserialize, Serialize};
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::AppState;
use crate::domain::permission::perm;
use crate::domain::{Action, Module, Username};
use crate::http::filters::{Authed, allowed, allowed_mutation, json_body, staff, with_state};
use crate::http::rejection::{ApiError, reject};
use crate::service::roles::{RoleError, RoleInput};
use crate::store::{AuditEntry, UserChange};
use crate::util::rfc3339;

/// A staff member as the roster shows them.
#[derive(Serialize)]
struct StaffUser {
    username: String,
    display_name: String,
    role: String,
    /// `local` or `ldap`.
    source: String,
    disabled: bool,
    online: bool,
    max_chats: i64,
    created_at: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    username: String,
    role: String,
    display_name: Option<String>,
    /// Omit to have a password generated (shown once, to be changed at first sign-in).
    password: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    display_name: Option<String>,
    role: Option<String>,
    disabled: Option<bool>,
}

fn role_error(err: RoleError) -> Rejection {
    reject(match err {
        RoleError::Invalid(message) => ApiError::new(StatusCode::BAD_REQUEST, "invalid", message),
        RoleError::Unknown(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_role", err.to_string()),
        RoleError::Conflict(message) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
        RoleError::Store(store) => ApiError::from(store),
    })
}

fn unknown_user(name: &str) -> Rejection {
    reject(ApiError::new(StatusCode::NOT_FOUND, "unknown_user", format!("no user named `{name}`")))
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let max_body = state.config.server.max_body_bytes;
    // The roster serves transfers and assignments too: chat, offline-request and user views.
    let roster = warp::path("users")
        .and(warp::path::end())
        .and(warp::get())
        .and(staff(state.clone()))
        .and(with_state(state.clone()))
        .and_then(list_users);
    let create = warp::path("users")
        .and(warp::path::end())
        .and(warp::post())
        .and(allowed_mutation(state.clone(), perm::USERS_MANAGE))
        .and(json_body::<NewUserBody>(max_body))
        .and(with_state(state.clone()))
        .and_then(create_user);
    let patch = warp::path!("users" / String)
        .and(warp::patch())
        .and(allowed_mutation(state.clone(), perm::USERS_MANAGE))
        .and(json_body::<UserPatch>(max_body))
        .and(with_state(state.clone()))
        .and_then(change_user);
    let reset = warp::path!("users" / String / "password-reset")
        .and(warp::post())
        .and(allowed_mutation(state.clone(), perm::USERS_MANAGE))
        .and(with_state(state.clone()))
        .and_then(reset_password);
    let roles = warp::path("roles")
        .and(warp::path::end())
        .and(warp::get())
        .and(allowed(state.clone(), perm::ROLES_VIEW))
        .and(with_state(state.clone()))
        .map(|_: Authed, state: AppState| {
            let catalogue = serde_json::json!({
                "roles": state.roles.list(),
                "modules": Module::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
                "actions": Action::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            });
            warp::reply::json(&catalogue).into_response()
        });
    let put_role = warp::path!("roles" / String)
        .and(warp::put())
        .and(allowed_mutation(state.clone(), perm::ROLES_MANAGE))
        .and(json_body::<RoleInput>(max_body))
        .and(with_state(state.clone()))
        .and_then(|name: String, authed: Authed, body: RoleInput, state: AppState| async move {
            let create = !state.roles.exists(&name);
            let role = state.roles.put(&name, body, create, &authed.session.username).await.map_err(role_error)?;
            // Members' open dashboards reconnect with the new permissions.
            revoke_role_members(&state, &name).await?;
            let status = if create { StatusCode::CREATED } else { StatusCode::OK };
            Ok::<_, Rejection>(warp::reply::with_status(warp::reply::json(&role), status).into_response())
        });
    let delete_role = warp::path!("roles" / String)
        .and(warp::delete())
        .and(allowed_mutation(state.clone(), perm::ROLES_MANAGE))
        .and(with_state(state))
        .and_then(|name: String, authed: Authed, state: AppState| async move {
            state.roles.delete(&name, &authed.session.username).await.map_err(role_error)?;
            Ok::<_, Rejection>(warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response())
        });
    roster
        .or(create)
        .unify()
        .or(patch)
        .unify()
        .or(reset)
        .unify()
        .or(roles)
        .unify()
        .or(put_role)
        .unify()
        .or(delete_role)
        .unify()
        .boxed()
}

async fn revoke_role_members(state: &AppState, role: &str) -> Result<(), Rejection> {
    for user in state.store.list_users().await.map_err(reject)?.iter().filter(|u| u.role == role) {
        state.chat.hub().revoke_user(user.id);
    }
    Ok(())
}

async fn list_users(authed: Authed, state: AppState) -> Result<Response, Rejection> {
    if ![perm::CHATS_VIEW, perm::USERS_VIEW, perm::OFFLINE_VIEW].iter().any(|p| authed.can(*p)) {
        return Err(reject(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("your role ({}) needs chats.view, users.view or offline_requests.view", authed.session.role),
        )));
    }
    let available = state.chat.hub().available_users();
    let limit = state.config.chat.max_chats;
    let list: Vec<StaffUser> = state
        .store
        .list_users()
        .await
        .map_err(reject)?
        .into_iter()
        .map(|u| StaffUser {
            online: available.contains(&u.id),
            max_chats: u.max_chats.unwrap_or(i64::from(limit)),
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            source: u.source,
            disabled: u.disabled,
            created_at: rfc3339(u.created_at),
        })
        .collect();
    Ok(warp::reply::json(&list).into_response())
}

async fn create_user(authed: Authed, body: NewUserBody, state: AppState) -> Result<Response, Rejection> {
    let (user, password) = state
        .accounts
        .add_user(&body.username, &body.role, body.display_name.as_deref(), body.password)
        .await
        .map_err(reject)?;
    let entry = AuditEntry::new(authed.session.username.clone(), "user.create")
        .target(format!("user {}", user.username))
        .details(format!("role {}", user.role));
    state.store.audit(entry).await.map_err(reject)?;
    let reply = serde_json::json!({
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "generated_password": password,
    });
    Ok(warp::reply::with_status(warp::reply::json(&reply), StatusCode::CREATED).into_response())
}

async fn change_user(name: String, authed: Authed, body: UserPatch, state: AppState) -> Result<Response, Rejection> {
    let username =
        Username::parse(&name).map_err(|m| reject(ApiError::new(StatusCode::BAD_REQUEST, "bad_username", m)))?;
    let role = body.role.map(|r| r.trim().to_ascii_lowercase());
    if let Some(role) = &role
        && !state.roles.exists(role)
    {
        return Err(reject(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_role",
            format!("no role named `{role}`; see the Roles section for the list"),
        )));
    }
    let display_name = body.display_name.map(|d| d.trim().to_owned());
    if display_name.as_ref().is_some_and(|d| d.is_empty() || d.chars().count() > 100) {
        return Err(reject(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "a display name has 1 to 100 characters",
        )));
    }
    if username.as_str() == authed.session.username && (role.is_some() || body.disabled == Some(true)) {
        return Err(reject(ApiError::new(
            StatusCode::CONFLICT,
            "own_account",
            "you cannot change your own role or disable yourself; ask another administrator",
        )));
    }
    let mut details = Vec::new();
    if let Some(role) = &role {
        details.push(format!("role {role}"));
    }
    if let Some(disabled) = body.disabled {
        details.push(if disabled { "disabled" } else { "enabled" }.to_owned());
    }
    if display_name.is_some() {
        details.push("display name".to_owned());
    }
    let change = UserChange { display_name, role: role.clone(), disabled: body.disabled };
    let ends_sessions = change.role.is_some() || change.disabled == Some(true);
    let id = state
        .store
        .change_user(username.as_str().to_owned(), change)
        .await
        .map_err(reject)?
        .ok_or_else(|| unknown_user(username.as_str()))?;
    if ends_sessions {
        // Their open dashboards and live-chat connections end now, not at the next check.
        state.chat.hub().revoke_user(id);
    }
    let entry = AuditEntry::new(authed.session.username.clone(), "user.update")
        .target(format!("user {}", username.as_str()))
        .details(details.join(", "));
    state.store.audit(entry).await.map_err(reject)?;
    let user = state.store.user_by_name(username.as_str()).await.map_err(reject)?.ok_or_else(|| unknown_user(&name))?;
    let reply = serde_json::json!({
        "username": user.username, "display_name": user.display_name, "role": user.role,
        "source": user.source, "disabled": user.disabled,
    });
    Ok(warp::reply::json(&reply).into_response())
}

async fn reset_password(name: String, authed: Authed, state: AppState) -> Result<Response, Rejection> {
    let user = state.store.user_by_name(&name.trim().to_lowercase()).await.map_err(reject)?;
    let user = user.ok_or_else(|| unknown_user(&name))?;
    if user.source != "local" {
        return Err(reject(ApiError::new(
            StatusCode::CONFLICT,
            "directory_account",
            "this account signs in through Active Directory; reset the password there",
        )));
    }
    let password = state.accounts.reset_password(&user.username).await.map_err(reject)?;
    state.chat.hub().revoke_user(user.id);
    let entry = AuditEntry::new(authed.session.username.clone(), "user.password_reset")
        .target(format!("user {}", user.username));
    state.store.audit(entry).await.map_err(reject)?;
    Ok(warp::reply::json(&serde_json::json!({ "username": user.username, "generated_password": password }))
        .into_response())
}
