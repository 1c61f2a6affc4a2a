use msal_runtime::msal_protected;

#[msal_protected(max_ages = "10m")]
async fn handler() {}

#[msal_protected(maxage = "10m")]
async fn maxage() {}

#[msal_protected(auth_time = "10m")]
async fn claim_name() {}

fn main() {}
