//! The staff listener's pages: the dashboard at `/`, administration at `/admin`, their static
//! files, and the staff websocket.

use http::HeaderMap;
use http::header::{CONTENT_TYPE, HeaderValue};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::path::Tail;
use warp::reply::Response;

use super::filters::with_state;
use super::public::asset;
use crate::app::AppState;

/// The websocket protocol description, served to staff at `/docs/protocol`.
const PROTOCOL_DOC: &str = include_str!("../../docs/protocol.md");

pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let dashboard =
        warp::path::end().and(warp::get()).and(warp::header::headers_cloned()).and(with_state(state.clone())).and_then(
            |headers: HeaderMap, state: AppState| async move { asset(&state, "dashboard/index.html", &headers) },
        );
    let files = |prefix: &'static str, index: &'static str| {
        warp::path(prefix)
            .and(warp::path::tail())
            .and(warp::get())
            .and(warp::header::headers_cloned())
            .and(with_state(state.clone()))
            .and_then(move |tail: Tail, headers: HeaderMap, state: AppState| async move {
                let file = match tail.as_str() {
                    "" => index,
                    other => other,
                };
                asset(&state, &format!("{prefix}/{file}"), &headers)
            })
    };
    let protocol = warp::path!("docs" / "protocol").and(warp::get()).map(|| {
        let mut response = warp::reply::Response::new(PROTOCOL_DOC.into());
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        response
    });
    let staff_ws =
        warp::path("ws").and(warp::path("staff")).and(warp::path::end()).and(crate::ws::staff(state.clone()));
    dashboard
        .or(files("dashboard", "index.html"))
        .unify()
        .or(files("admin", "index.html"))
        .unify()
        .or(files("common", "none"))
        .unify()
        .or(protocol)
        .unify()
        .or(staff_ws)
        .unify()
        .boxed()
}
