use msal_runtime::msal_protected;

#[msal_protected(acr = 1)]
async fn handler() {}

#[msal_protected(acr = [phr])]
async fn ident_item() {}

fn main() {}
