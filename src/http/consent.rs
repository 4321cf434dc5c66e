//! Consent withdrawal from the link in transcript e-mails: GET shows a confirmation page (mail
//! scanners that follow links change nothing), POST records the withdrawal.

use std::collections::HashMap;

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Rejection};

use super::assets::{escape, html};
use super::filters::with_state;
use crate::app::AppState;

fn page(title: &str, body: &str) -> Response {
    html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"/widget/page.css\"></head><body><main><h1>{title}</h1>{body}\
         <p><a href=\"/privacy\">Privacy notice</a></p></main></body></html>\n"
    ))
}

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let confirm = warp::path!("consent" / "withdraw")
        .and(warp::get())
        .and(warp::query::<HashMap<String, String>>())
        .map(|query: HashMap<String, String>| {
            let field = |name: &str| escape(query.get(name).map(String::as_str).unwrap_or_default());
            page(
                "Withdraw your consent",
                &format!(
                    "<p>If you withdraw your consent, we will not keep the details of this chat for any purpose \
                     that relies on it, and we will not track your visits.</p>\
                     <form method=\"post\" action=\"/consent/withdraw\">\
                     <input type=\"hidden\" name=\"conversation\" value=\"{}\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
                     <button type=\"submit\">Withdraw my consent</button></form>",
                    field("conversation"),
                    field("token")
                ),
            )
        });
    let withdraw = warp::path!("consent" / "withdraw")
        .and(warp::post())
        .and(warp::body::content_length_limit(state.config.server.max_body_bytes))
        .and(warp::body::form::<HashMap<String, String>>())
        .and(with_state(state))
        .and_then(|form: HashMap<String, String>, state: AppState| async move {
            let get = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
            let outcome = match state.chat.verify_token(get("conversation"), get("token")).await {
                Ok(conversation) => state.store.withdraw_consent(conversation.id).await.map_err(|e| e.to_string()),
                Err(err) => Err(err.to_string()),
            };
            Ok::<_, Rejection>(match outcome {
                Ok(()) => {
                    tracing::info!("consent withdrawn");
                    page("Consent withdrawn", "<p>Thank you. Your withdrawal has been recorded.</p>")
                }
                Err(_) => {
                    let mut response = page(
                        "Link not recognised",
                        "<p>This link is not valid. Please use the link from your transcript e-mail, or contact us.</p>",
                    );
                    *response.status_mut() = http::StatusCode::NOT_FOUND;
                    response
                }
            })
        });
    confirm.or(withdraw).unify().boxed()
}
