use msal_runtime::msal_protected;

#[msal_protected(acr = ["phr phrh"])]
async fn handler() {}

fn main() {}
