use msal_runtime::msal_protected;

#[msal_protected(scope = "User.Read")]
async fn handler() {}

fn main() {}
