use msal_runtime::msal_protected;

#[msal_protected(roles = [])]
async fn handler() {}

fn main() {}
