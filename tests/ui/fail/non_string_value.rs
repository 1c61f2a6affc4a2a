use msal_runtime::msal_protected;

#[msal_protected(roles = 42)]
async fn handler() {}

fn main() {}
