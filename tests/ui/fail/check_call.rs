use msal_runtime::msal_protected;

#[msal_protected(check = owns(1))]
async fn handler() {}

fn main() {}
