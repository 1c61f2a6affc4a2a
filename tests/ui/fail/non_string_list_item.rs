use msal_runtime::msal_protected;

#[msal_protected(scopes = ["User.Read", 7])]
async fn handler() {}

fn main() {}
