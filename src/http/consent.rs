//! Consent withdrawal from the link in transcript e-mails: GET shows what the link would
//! withdraw and a confirmation button (mail scanners that follow links change nothing), POST
//! records the withdrawal (audited). Withdrawing never deletes the chat, and the page says so.

use std::collections::HashMap;

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::assets::html;
use super::filters::with_state;
use crate::app::AppState;
use crate::service::consent::Purpose;
use crate::service::privacy;
use crate::store::ConversationRow;
use crate::util::escape;

fn page(title: &str, body: &str) -> Response {
    html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"/widget/page.css\"></head><body><main><h1>{title}</h1>{body}\
         <p><a href=\"/privacy\">Privacy notice</a></p></main></body></html>\n"
    ))
}

fn not_recognised() -> Response {
    let mut response = page(
        "Link not recognised",
        "<p>This link is not valid. Please use the link from your transcript e-mail, or contact us.</p>",
    );
    *response.status_mut() = http::StatusCode::NOT_FOUND;
    response
}

/// The purposes as a list in words.
fn purposes_list(purposes: &[String]) -> String {
    let items: String = purposes.iter().filter_map(|p| Purpose::describe(p)).map(|d| format!("<li>{d}</li>")).collect();
    format!("<ul>{items}</ul>")
}

/// What withdrawing does not do, in the same words on both pages.
const KEPT: &str = "<p>Withdrawing does not delete this chat: we keep it to answer your enquiry for as long as \
                    our privacy notice says. To have it deleted, contact our Data Protection Officer.</p>";

async fn verified(state: &AppState, fields: &HashMap<String, String>) -> Option<ConversationRow> {
    let get = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    state.chat.verify_token(get("conversation"), get("token")).await.ok()
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let confirm = warp::path!("consent" / "withdraw")
        .and(warp::get())
        .and(warp::query::<HashMap<String, String>>())
        .and(with_state(state.clone()))
        .and_then(|query: HashMap<String, String>, state: AppState| async move {
            let Some(conversation) = verified(&state, &query).await else { return Ok(not_recognised()) };
            let live = privacy::withdrawable(&state.store, &conversation).await.unwrap_or_default();
            if live.is_empty() {
                return Ok::<_, Rejection>(page(
                    "Nothing to withdraw",
                    &format!("<p>There is no consent for this chat that you have not already withdrawn.</p>{KEPT}"),
                ));
            }
            let field = |name: &str| escape(query.get(name).map(String::as_str).unwrap_or_default());
            Ok(page(
                "Withdraw your consent",
                &format!(
                    "<p>With this chat you agreed to:</p>{}<p>If you withdraw, we stop doing these from now on.</p>{KEPT}\
                     <form method=\"post\" action=\"/consent/withdraw\">\
                     <input type=\"hidden\" name=\"conversation\" value=\"{}\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
                     <button type=\"submit\">Withdraw my consent</button></form>",
                    purposes_list(&live),
                    field("conversation"),
                    field("token")
                ),
            ))
        });
    let withdraw = warp::path!("consent" / "withdraw")
        .and(warp::post())
        .and(warp::body::content_length_limit(state.config.server.max_body_bytes))
        .and(warp::body::form::<HashMap<String, String>>())
        .and(with_state(state))
        .and_then(|form: HashMap<String, String>, state: AppState| async move {
            let Some(conversation) = verified(&state, &form).await else { return Ok(not_recognised()) };
            Ok::<_, Rejection>(match privacy::withdraw(&state.store, &conversation).await {
                Ok(withdrawn) => {
                    tracing::info!(purposes = withdrawn.len(), "consent withdrawn");
                    let done = if withdrawn.is_empty() {
                        "<p>There was no consent left to withdraw for this chat.</p>".to_owned()
                    } else {
                        format!("<p>Thank you. Your withdrawal has been recorded; we no longer rely on your consent for:</p>{}", purposes_list(&withdrawn))
                    };
                    page("Consent withdrawn", &format!("{done}{KEPT}"))
                }
                Err(err) => {
                    tracing::warn!(error = %err, "consent withdrawal failed");
                    let mut response =
                        page("Please try again", "<p>Your withdrawal could not be recorded just now. Please try again.</p>");
                    *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
                    response
                }
            })
        });
    confirm.or(withdraw).unify().boxed()
}
