use msal_runtime::msal_protected;

#[msal_protected(max_age = "10m", max_age = "1h")]
async fn handler() {}

#[msal_protected(all(max_age = "10m", max_age = "1h"))]
async fn in_all() {}

fn main() {}
