use msal_runtime::msal_protected;

#[msal_protected(acr = "phr", acr = "phrh")]
async fn handler() {}

fn main() {}
