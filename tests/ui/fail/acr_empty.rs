use msal_runtime::msal_protected;

#[msal_protected(acr = "")]
async fn handler() {}

#[msal_protected(acr = [])]
async fn empty_list() {}

fn main() {}
