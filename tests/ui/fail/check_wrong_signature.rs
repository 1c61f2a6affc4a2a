use msal_runtime::msal_protected;

use axum::http::request::Parts;
use msal_runtime::User;

async fn wrong_arguments(_: User) -> Result<bool, msal_runtime::CheckError> {
    Ok(true)
}

fn not_async(_: &User, _: &mut Parts) -> Result<bool, msal_runtime::CheckError> {
    Ok(true)
}

async fn not_a_result(_: &User, _: &mut Parts) -> bool {
    true
}

struct NoResponse;

async fn error_not_a_response(_: &User, _: &mut Parts) -> Result<bool, NoResponse> {
    Ok(true)
}

#[msal_protected(check = wrong_arguments)]
async fn a() {}

#[msal_protected(check = not_async)]
async fn b() {}

#[msal_protected(check = not_a_result)]
async fn c() {}

#[msal_protected(check = error_not_a_response)]
async fn d() {}

fn main() {}
