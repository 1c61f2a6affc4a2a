use msal_runtime::msal_protected;

#[msal_protected(scopes = "")]
async fn handler() {}

fn main() {}
