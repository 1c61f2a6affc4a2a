use msal_runtime::msal_protected;

#[msal_protected(scopes = ["User.Read", ""])]
async fn handler() {}

fn main() {}
