use msal_runtime::msal_protected;

#[msal_protected(not(max_age = "5m"))]
async fn handler() {}

fn main() {}
