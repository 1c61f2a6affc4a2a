use msal_runtime::msal_protected;

#[msal_protected(auth_context = ["C1", "c100", "mfa", "c01", "c0"])]
async fn handler() {}

fn main() {}
