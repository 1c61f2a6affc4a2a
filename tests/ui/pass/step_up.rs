//! `max_age` and `acr` in every value form, alone, with other keys and under combinators.
use axum::Router;
use axum::routing::get;
use msal_runtime::msal_protected;

#[msal_protected(max_age = "10m")]
async fn minutes() {}

#[msal_protected(max_age = "60s")]
async fn one_minute_in_seconds() {}

#[msal_protected(max_age = "1h30m")]
async fn hours_and_minutes() {}

#[msal_protected(max_age = "365d")]
async fn a_year() {}

#[msal_protected(max_age = "1d2h3m4s")]
async fn every_unit() {}

#[msal_protected(acr = "phr")]
async fn acr_one() {}

#[msal_protected(acr = "phr phrh")]
async fn acr_string_of_two() {}

#[msal_protected(acr = ["1", "urn:mace:incommon:iap:silver",])]
async fn acr_list() {}

#[msal_protected(scopes = "Tasks.Write", auth_context = "c1", acr = "phr", max_age = "5m")]
async fn with_other_keys() {}

#[msal_protected(any(max_age = "5m", max_age = "1h"), not(roles = "Guest"))]
async fn under_combinators() {}

#[msal_protected(any(app_permissions = "Tasks.ReadWrite.All", all(acr = "phr", max_age = "15m")))]
async fn an_app_or_a_fresh_strong_sign_in() {}

fn main() {
    let _: Router = Router::new()
        .route("/1", get(minutes))
        .route("/2", get(one_minute_in_seconds))
        .route("/3", get(hours_and_minutes))
        .route("/4", get(a_year))
        .route("/5", get(every_unit))
        .route("/6", get(acr_one))
        .route("/7", get(acr_string_of_two))
        .route("/8", get(acr_list))
        .route("/9", get(with_other_keys))
        .route("/10", get(under_combinators))
        .route("/11", get(an_app_or_a_fresh_strong_sign_in));
}
