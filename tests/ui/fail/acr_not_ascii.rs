use msal_runtime::msal_protected;

#[msal_protected(acr = ["urn:niveau-élevé", "say\"what"])]
async fn handler() {}

fn main() {}
