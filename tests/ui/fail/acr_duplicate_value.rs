use msal_runtime::msal_protected;

#[msal_protected(acr = ["phr", "phr"])]
async fn handler() {}

fn main() {}
