use msal_runtime::msal_protected;

#[msal_protected(auth_context = " ")]
async fn handler() {}

fn main() {}
