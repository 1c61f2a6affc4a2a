use msal_runtime::msal_protected;

#[msal_protected(acr_values = "phr")]
async fn handler() {}

#[msal_protected(acrs = "c1")]
async fn still_auth_context() {}

fn main() {}
