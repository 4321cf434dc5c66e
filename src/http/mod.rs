//! warp filters per surface. The public listener gets only what a visitor needs; everything
//! staff-facing is mounted on the staff listener alone.

pub mod api;
pub mod assets;
mod conn;
mod consent;
pub mod filters;
pub mod headers;
mod ops;
mod precheck;
mod public;
pub mod rejection;
pub mod serve;
mod staff;
pub mod tracking;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use crate::app::AppState;

/// Routes of the public (internet-facing) listener.
pub fn public_routes(state: AppState) -> BoxedFilter<(Response,)> {
    public::routes(state.clone())
        .or(consent::routes(state.clone()))
        .unify()
        .or(tracking::routes(state))
        .unify()
        .or(ops::healthz())
        .unify()
        .recover(rejection::handle_rejection)
        .unify()
        .boxed()
}

/// Routes of the staff (intranet) listener.
pub fn staff_routes(state: AppState) -> BoxedFilter<(Response,)> {
    staff::routes(state.clone())
        .or(api::routes(state.clone()))
        .unify()
        .or(ops::routes(state))
        .unify()
        .recover(rejection::handle_rejection)
        .unify()
        .boxed()
}
