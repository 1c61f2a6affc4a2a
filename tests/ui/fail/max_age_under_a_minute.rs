use msal_runtime::msal_protected;

#[msal_protected(max_age = "30s")]
async fn handler() {}

fn main() {}
